"""The staff pages' ``hotline-config`` block: the resident page's limits, the
staff forms' limits and the role rules scripts act on, each read from the
constant the server enforces (see ``hotline/page_config.py``)."""

from __future__ import annotations

from typing import Any

from counselors.console.namespace import (
    MAX_NOTE_CHARS,
    MAX_QUERY_CHARS,
    MAX_REASON_CHARS,
)
from counselors.console.wellbeing_events import MAX_DEBRIEF_NOTE
from counselors.permissions import PERMISSIONS, RESPONDERS
from hotline.page_config import resident_config
from hotline.services import canned, monitoring, referrals, transfers


def staff_config() -> dict[str, Any]:
    """Limits and role rules for the console, the board and the admin pages."""
    config = resident_config()
    config["limits"].update(
        {
            "note_chars": MAX_NOTE_CHARS,
            "reason_chars": MAX_REASON_CHARS,
            "resource_search_chars": MAX_QUERY_CHARS,
            "area_chars": referrals.MAX_AREA_CHARS,
            "debrief_note_chars": MAX_DEBRIEF_NOTE,
            "transfer_note_chars": transfers.MAX_NOTE_CHARS,
            "whisper_chars": monitoring.MAX_WHISPER_CHARS,
            "quick_reply_title_chars": canned.MAX_TITLE_CHARS,
            "quick_reply_search_chars": canned.MAX_QUERY_CHARS,
            "resident_name_chars": canned.MAX_NAME_CHARS,
        }
    )
    config["roles"] = {
        # Who sees and answers escalations.
        "respond": sorted(RESPONDERS),
        # Who watches live chats and may ring a callback before its window.
        "supervise": sorted(PERMISSIONS["supervisor"]),
    }
    return config
