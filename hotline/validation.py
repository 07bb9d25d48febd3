"""Checks for untrusted input from forms, JSON bodies and socket events."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from hotline.errors import InvalidInput

# Ids and sequence numbers are 32-bit integer columns on PostgreSQL; anything
# larger can only be a forgery and must not reach the database driver.
MAX_INT = 2**31 - 1
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# Control characters other than newline and tab carry no meaning in a chat
# message and can break terminals and logs that later show it.
_CONTROL = {chr(c) for c in range(32) if chr(c) not in "\n\t"} | {"\x7f"}


def require_object(payload: Any) -> dict[str, Any]:
    """The payload as a dict, or InvalidInput."""
    if not isinstance(payload, dict):
        raise InvalidInput("not_object")
    return payload


def text_field(
    payload: dict[str, Any],
    name: str,
    *,
    max_chars: int,
    required: bool = True,
) -> str:
    """A cleaned text field: a string, stripped, non-empty if required, bounded."""
    value = payload.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("not_text", field=name)
    if not is_encodable(value):
        raise InvalidInput("not_unicode", field=name)
    cleaned = "".join(ch for ch in value if ch not in _CONTROL)
    cleaned = unicodedata.normalize("NFC", cleaned).strip()
    if required and not cleaned:
        raise InvalidInput("empty", field=name)
    if len(cleaned) > max_chars:
        raise InvalidInput("too_long", field=name, max_chars=max_chars)
    return cleaned


def client_id_field(payload: dict[str, Any]) -> str:
    """The client-generated message id (a UUID or similar token)."""
    value = payload.get("client_id")
    if not isinstance(value, str) or not _CLIENT_ID.fullmatch(value):
        raise InvalidInput("client_id", field="client_id")
    return value


def is_encodable(value: str) -> bool:
    """Whether ``value`` is valid Unicode (JSON can carry lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def int_field(
    payload: dict[str, Any],
    name: str,
    *,
    minimum: int = 0,
    maximum: int = MAX_INT,
    required: bool = True,
) -> int:
    """A bounded integer field (booleans are refused)."""
    value = payload.get(name)
    if value is None and not required:
        return minimum
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not minimum <= value <= maximum
    ):
        raise InvalidInput(
            "integer_range", field=name, minimum=minimum, maximum=maximum
        )
    return value


def choice_field(
    payload: dict[str, Any], name: str, choices: Iterable[str], *, default: str | None
) -> str:
    """One of ``choices``; ``default`` when absent (None makes it required)."""
    value = payload.get(name, default)
    options = list(choices)
    if value not in options:
        raise InvalidInput("not_a_choice", field=name, choices=", ".join(options))
    return value


def bool_field(payload: dict[str, Any], name: str, *, default: bool = False) -> bool:
    """A strict boolean field."""
    value = payload.get(name, default)
    if not isinstance(value, bool):
        raise InvalidInput("not_boolean", field=name)
    return value
