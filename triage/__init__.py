"""Text-risk triage for the Hotline: level, score, signals, needs (zh/en).

`from triage import assess` is the entry point. Names are imported lazily
(PEP 562) so that `import triage.cli`, which the `hotline` console script
does at start-up, does not pay for NumPy and scikit-learn until a command
actually needs the model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from triage.assessment import (
        Assessment,
        ConversationAssessment,
        assess,
        assess_conversation,
        assess_many,
        assess_rules,
        explain,
    )
    from triage.context import ContextMessage
    from triage.levels import Level
    from triage.signals import Signal
    from triage.store import (
        ArtefactError,
        ModelNotFoundError,
        TriageModel,
        get_default_model,
        load_model,
        reset_default_model,
    )

_EXPORTS = {
    "Assessment": "triage.assessment",
    "ConversationAssessment": "triage.assessment",
    "assess": "triage.assessment",
    "assess_conversation": "triage.assessment",
    "assess_many": "triage.assessment",
    "assess_rules": "triage.assessment",
    "explain": "triage.assessment",
    "ArtefactError": "triage.store",
    "ModelNotFoundError": "triage.store",
    "TriageModel": "triage.store",
    "get_default_model": "triage.store",
    "load_model": "triage.store",
    "reset_default_model": "triage.store",
    "ContextMessage": "triage.context",
    "Level": "triage.levels",
    "Signal": "triage.signals",
    "signal_kind": "triage.signals",
}

__all__ = [
    "ArtefactError",
    "Assessment",
    "ContextMessage",
    "ConversationAssessment",
    "Level",
    "ModelNotFoundError",
    "Signal",
    "TriageModel",
    "assess",
    "assess_conversation",
    "assess_many",
    "assess_rules",
    "explain",
    "get_default_model",
    "load_model",
    "reset_default_model",
    "signal_kind",
]


def __getattr__(name: str) -> Any:
    """Import the public names on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'triage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Public names, for completion."""
    return sorted(set(globals()) | set(_EXPORTS))
