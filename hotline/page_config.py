"""What page scripts and forms must agree on with the server, read from the
one definition in Python and rendered in each page as
``<script type="application/json" id="hotline-config">`` (the scripts read it
through ``static/shared/config.js``; ``maxlength`` attributes use it too).

The staff pages add their limits and role rules: ``counselors/page_config.py``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from hotline.phones import MAX_RAW_CHARS
from hotline.resident.api import MAX_SURVEY_COMMENT


def message_limit() -> int:
    """The longest chat message, resident's or counsellor's."""
    return int(current_app.config["MAX_MESSAGE_CHARS"])


def resident_config() -> dict[str, Any]:
    """The resident page's limits."""
    return {
        "limits": {
            "message_chars": message_limit(),
            "callback_note_chars": current_app.config["MAX_CALLBACK_NOTE_CHARS"],
            "phone_chars": MAX_RAW_CHARS,
            "survey_comment_chars": MAX_SURVEY_COMMENT,
        }
    }
