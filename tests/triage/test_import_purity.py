"""triage is a pure library: it imports nothing from the web app or databases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from triage.store import TriageModel

FORBIDDEN = (
    "flask",
    "flask_socketio",
    "sqlalchemy",
    "werkzeug",
    "hotline",
    "counselors",
)
ROOT = Path(__file__).resolve().parents[2]


def _modules_after(code: str) -> set[str]:
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(completed.stdout.strip().splitlines()[-1]))


def _forbidden(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)


def test_importing_every_triage_module_pulls_in_no_web_or_database_code() -> None:
    modules = _modules_after(
        "import importlib, pkgutil, triage\n"
        "for module in pkgutil.iter_modules(triage.__path__):\n"
        "    if module.name != '__main__':\n"
        "        importlib.import_module(f'triage.{module.name}')\n"
    )
    assert _forbidden(modules) == []


def test_assessing_pulls_in_no_web_or_database_code(triage_model: TriageModel) -> None:
    modules = _modules_after(
        "import triage\n"
        f"model = triage.load_model({str(triage_model.path)!r})\n"
        "triage.assess('我不想活了', model=model)\n"
    )
    assert _forbidden(modules) == []


def test_cli_module_is_light_to_import() -> None:
    # The hotline console script imports triage.cli for every command.
    modules = _modules_after("import triage.cli")
    assert "sklearn" not in {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("name", ["assess", "assess_many", "assess_conversation"])
def test_public_names(name: str) -> None:
    import triage

    assert callable(getattr(triage, name))
