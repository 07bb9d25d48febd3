"""Rate limits kept in the shared limit store, not in a connection's memory.

A limit per socket would give a resident a fresh budget with every
reconnection and every parallel socket on one token (issue #19). Limits are
kept per conversation, staff member or account, in the store Flask-Limiter
uses for the HTTP limits (``RATELIMIT_STORAGE_URI``: memory in one process,
Redis with several workers), through the ``limits`` library's storage and
moving-window strategy, so every worker and socket spends the same budget.

When the shared store is down, each worker counts in its own memory for a
while instead of refusing residents (as ``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``
does for the HTTP limits).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from flask import Flask, current_app
from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger(__name__)
_EXTENSION = "hotline.throttle"
# After the shared store failed, how long to count locally before trying it.
RETRY_SHARED_SECONDS = 5.0


@dataclass(frozen=True)
class Verdict:
    """Whether an action may go ahead, and when to try again if not."""

    allowed: bool
    retry_after: int = 0


class Throttle:
    """Moving-window limits in the shared store, with a local fallback."""

    def __init__(self, storage_uri: str) -> None:
        self.shared = MovingWindowRateLimiter(_storage(storage_uri))
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self._shared_down_until = 0.0

    def hit(self, limit: RateLimitItem, *key: str) -> Verdict:
        """Spend one unit of ``limit`` for ``key``; refused when it is spent."""
        return self._run(limit, key, spend=True)

    def test(self, limit: RateLimitItem, *key: str) -> Verdict:
        """Whether ``limit`` has room for ``key``, spending nothing."""
        return self._run(limit, key, spend=False)

    def clear(self, limit: RateLimitItem, *key: str) -> None:
        """Forget what ``key`` spent of ``limit`` (e.g. after a good sign-in)."""
        for strategy in (self.shared, self.local):
            try:
                strategy.clear(limit, *key)
            except Exception:
                logger.warning("rate-limit store unreachable while clearing")

    def _run(
        self, limit: RateLimitItem, key: tuple[str, ...], *, spend: bool
    ) -> Verdict:
        strategy = self.shared
        if time.monotonic() < self._shared_down_until:
            strategy = self.local
        try:
            allowed = (strategy.hit if spend else strategy.test)(limit, *key)
            if allowed:
                return Verdict(True)
            reset = strategy.get_window_stats(limit, *key).reset_time
        except Exception:
            if strategy is self.local:
                raise
            logger.warning("rate-limit store unreachable: counting in this worker")
            self._shared_down_until = time.monotonic() + RETRY_SHARED_SECONDS
            return self._run(limit, key, spend=spend)
        return Verdict(False, max(1, math.ceil(reset - time.time())))


def _storage(uri: str) -> Storage:
    storage = storage_from_string(uri)
    assert isinstance(storage, Storage), "a synchronous limit store is needed"
    return storage


def init_app(app: Flask) -> None:
    """Give ``app`` its throttle on the configured limit store."""
    app.extensions[_EXTENSION] = Throttle(app.config["RATELIMIT_STORAGE_URI"])


def throttle() -> Throttle:
    """The current app's throttle."""
    return current_app.extensions[_EXTENSION]


def message_limit() -> RateLimitItem:
    """Bursts of ``MESSAGE_BURST``, ``MESSAGE_RATE`` a second on average."""
    config = current_app.config
    burst = int(config["MESSAGE_BURST"])
    seconds = max(1, round(burst / float(config["MESSAGE_RATE"])))
    return RateLimitItemPerSecond(burst, seconds)


def may_send_message(*key: str) -> Verdict:
    """Spend one message of the budget shared by every socket of ``key``."""
    return throttle().hit(message_limit(), "messages", *key)


def parse_limit(text: str) -> RateLimitItem:
    """A limit in Flask-Limiter's notation, e.g. ``"5 per 15 minutes"``."""
    return parse(text)
