"""Configuration read from the environment in one place, with safe defaults."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from hotline.phones import PhoneVault

DEFAULT_CRISIS_LINES = (
    ("emergency_medical", "120"),
    ("police", "110"),
    ("psychological_assistance", "12356"),
)


def _instance_secret(
    instance_path: Path,
    name: str,
    generate: Callable[[], str] = lambda: secrets.token_urlsafe(48),
) -> str:
    """Return a secret kept in the instance folder, generating it on first use."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = generate()
    # Written with owner-only permissions: the keys sign staff sessions and
    # decrypt residents' phone numbers.
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


def _phone_keys(instance_path: Path) -> list[str]:
    # "new-key,old-key": the first encrypts, every one decrypts (rotation).
    raw = os.environ.get("HOTLINE_PHONE_KEYS", "")
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    return keys or [
        _instance_secret(instance_path, "phone_key", PhoneVault.generate_key)
    ]


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
        # Redis pub/sub channels are shared by every database number of a
        # server: deployments (and test runs) sharing one Redis need their own.
        "MESSAGE_QUEUE_CHANNEL": os.environ.get(
            "HOTLINE_MESSAGE_QUEUE_CHANNEL", "flask-socketio"
        ),
        # How many reverse proxies (nginx) sit in front and set X-Forwarded-For
        # and X-Forwarded-Proto; 0 trusts no such header.
        "PROXY_HOPS": _int_env("HOTLINE_PROXY_HOPS", 0),
        # Engine.IO heartbeat: a client that has not answered a ping within
        # interval + timeout seconds is dropped (a proxy must wait longer).
        "SOCKETIO_PING_INTERVAL": _int_env("HOTLINE_PING_INTERVAL", 20),
        "SOCKETIO_PING_TIMEOUT": _int_env("HOTLINE_PING_TIMEOUT", 20),
        "SOCKETIO_ASYNC_MODE": os.environ.get("HOTLINE_ASYNC_MODE", "threading"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": _int_env("HOTLINE_STAFF_SESSION_HOURS", 12)
        * 3600,
        # Staff are signed out after this long without a request or event.
        "STAFF_IDLE_MINUTES": _int_env("HOTLINE_STAFF_IDLE_MINUTES", 30),
        "SESSION_REFRESH_EACH_REQUEST": True,
        # SQLite only: how long a write waits for the write lock (held by
        # another process, say a backup) before it is refused as "busy".
        "SQLITE_WRITE_WAIT_SECONDS": _float_env(
            "HOTLINE_SQLITE_WRITE_WAIT_SECONDS", 10.0
        ),
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
        # When a shared (Redis) limit store is down, count in this worker's
        # memory instead of refusing residents' chat starts.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
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
        # The safety net (docs/reliability.md): how long duty and held chats
        # outlive a closed console, how long a waiting resident's closed page
        # keeps their place, and how long a resident message may go
        # unanswered before the holder (then supervisors) are alerted; high
        # and crisis chats get at most a third of that.
        # Past this many waiting chats a new one is refused with a clear
        # message offering a callback (a wait of hours helps nobody).
        "MAX_WAITING_CHATS": _int_env("HOTLINE_MAX_WAITING_CHATS", 3000),
        # Waiting residents hear their place at most this often (per worker).
        "POSITION_PUSH_SECONDS": _float_env("HOTLINE_POSITION_PUSH_SECONDS", 2.0),
        "DUTY_GRACE_SECONDS": _int_env("HOTLINE_DUTY_GRACE_SECONDS", 120),
        "HOLDER_GRACE_SECONDS": _int_env("HOTLINE_HOLDER_GRACE_SECONDS", 120),
        "ABANDON_SECONDS": _int_env("HOTLINE_ABANDON_SECONDS", 300),
        "UNANSWERED_ALERT_SECONDS": _int_env("HOTLINE_UNANSWERED_ALERT_SECONDS", 180),
        # Callbacks: the service's local time, the hours counsellors phone
        # ("08:00-22:00") cut into slots, how far ahead a resident may book,
        # and how often an unanswered number is tried again.
        "TIMEZONE": os.environ.get("HOTLINE_TIMEZONE", "Asia/Shanghai"),
        # Live chat hours ("08:00-22:00"); empty means around the clock.
        "CHAT_HOURS": os.environ.get("HOTLINE_CHAT_HOURS", ""),
        "CALLBACK_HOURS": os.environ.get("HOTLINE_CALLBACK_HOURS", "08:00-22:00"),
        "CALLBACK_SLOT_MINUTES": _int_env("HOTLINE_CALLBACK_SLOT_MINUTES", 120),
        "CALLBACK_MAX_AHEAD_HOURS": _int_env("HOTLINE_CALLBACK_MAX_AHEAD_HOURS", 48),
        "CALLBACK_MAX_ATTEMPTS": _int_env("HOTLINE_CALLBACK_MAX_ATTEMPTS", 3),
        "CALLBACK_RETRY_MINUTES": _int_env("HOTLINE_CALLBACK_RETRY_MINUTES", 30),
        "CALLBACK_PER_NUMBER_PER_DAY": _int_env(
            "HOTLINE_CALLBACK_PER_NUMBER_PER_DAY", 3
        ),
        "CALLBACK_IP_LIMIT": os.environ.get(
            "HOTLINE_CALLBACK_IP_LIMIT", "5 per hour;20 per day"
        ),
        "MAX_CALLBACK_NOTE_CHARS": 1000,
        "PHONE_KEYS": _phone_keys(instance_path),
        # Phone numbers are erased this many days after the callback closes.
        "PHONE_RETENTION_DAYS": _int_env("HOTLINE_PHONE_RETENTION_DAYS", 7),
        # Messages, notes and staff free text of closed conversations are
        # deleted this many days after closing (hotline.services.retention).
        "TRANSCRIPT_RETENTION_DAYS": _int_env("HOTLINE_TRANSCRIPT_RETENTION_DAYS", 30),
        # Chats nobody answered in this long are closed (so that retention
        # reaches them), unless an escalation on them is still open.
        "UNANSWERED_CHAT_HOURS": _int_env("HOTLINE_UNANSWERED_CHAT_HOURS", 24),
        # What one counsellor may hold at once; responders taking over a
        # crisis are not limited.
        "MAX_CONVERSATIONS_PER_COUNSELOR": _int_env("HOTLINE_MAX_CONVERSATIONS", 3),
        "MAX_HIGH_RISK_PER_COUNSELOR": _int_env("HOTLINE_MAX_HIGH_RISK", 1),
        # A gentle break reminder after this long on shift (console).
        "SHIFT_BREAK_REMINDER_MINUTES": _int_env("HOTLINE_BREAK_REMINDER_MINUTES", 90),
        "BABEL_DEFAULT_LOCALE": "zh",
        "LANGUAGES": ("zh", "en"),
        "WTF_CSRF_TIME_LIMIT": None,
    }
