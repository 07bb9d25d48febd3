"""Configuration read from the environment in one place, with safe defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_CRISIS_LINES = (
    ("emergency_medical", "120"),
    ("police", "110"),
    ("psychological_assistance", "12356"),
)


def _instance_secret(instance_path: Path, name: str) -> str:
    """Return a secret kept in the instance folder, generating it on first use."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # Written with owner-only permissions: the key signs staff sessions.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _crisis_lines() -> tuple[tuple[str, str], ...]:
    # "Label=number;Label=number"; the default keys get translated labels.
    raw = os.environ.get("HOTLINE_CRISIS_LINES")
    if not raw:
        return DEFAULT_CRISIS_LINES
    pairs = [item.split("=", 1) for item in raw.split(";") if "=" in item]
    return tuple((label.strip(), number.strip()) for label, number in pairs)


def load_config(instance_path: Path) -> dict[str, object]:
    """Build the app configuration from ``HOTLINE_*`` environment variables."""
    database_url = os.environ.get("HOTLINE_DATABASE_URL") or (
        f"sqlite:///{instance_path / 'hotline.sqlite3'}"
    )
    secret_key = os.environ.get("HOTLINE_SECRET_KEY") or _instance_secret(
        instance_path, "secret_key"
    )
    secure_cookies = os.environ.get("HOTLINE_SECURE_COOKIES", "0") == "1"
    return {
        "SECRET_KEY": secret_key,
        "DATABASE_URL": database_url,
        "MESSAGE_QUEUE": os.environ.get("HOTLINE_MESSAGE_QUEUE") or None,
        "SOCKETIO_ASYNC_MODE": os.environ.get("HOTLINE_ASYNC_MODE", "threading"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": _int_env("HOTLINE_STAFF_SESSION_HOURS", 12)
        * 3600,
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "MAX_MESSAGE_CHARS": 4000,
        # Per-connection message rate: bursts of MESSAGE_BURST, then
        # MESSAGE_RATE a second.
        "MESSAGE_BURST": _int_env("HOTLINE_MESSAGE_BURST", 10),
        "MESSAGE_RATE": _float_env("HOTLINE_MESSAGE_RATE", 1.0),
        "RATELIMIT_ENABLED": os.environ.get("HOTLINE_RATELIMIT_ENABLED", "1") != "0",
        "RATELIMIT_STORAGE_URI": os.environ.get(
            "HOTLINE_RATELIMIT_STORAGE", "memory://"
        ),
        "RATELIMIT_HEADERS_ENABLED": True,
        "QUICK_EXIT_URL": os.environ.get(
            "HOTLINE_QUICK_EXIT_URL", "https://www.weather.com.cn/"
        ),
        "CRISIS_LINES": _crisis_lines(),
        "ESCALATION_ACK_TARGET_SECONDS": _int_env(
            "HOTLINE_ESCALATION_TARGET_SECONDS", 120
        ),
        "ESCALATION_REALERT_SECONDS": _int_env(
            "HOTLINE_ESCALATION_REALERT_SECONDS", 30
        ),
        "BABEL_DEFAULT_LOCALE": "zh",
        "LANGUAGES": ("zh", "en"),
        "WTF_CSRF_TIME_LIMIT": None,
    }
