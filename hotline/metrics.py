"""Operational metrics for Prometheus: ``GET /metrics`` (docs/operations in
``deploy/README.md``; dashboard ``deploy/grafana-hotline.json``).

Two kinds of numbers, one scrape:

- **this worker's** counts, kept in memory by ``prometheus_client`` and
  labelled ``worker`` (host:pid): the ack latency of residents' messages
  (measured in ``/chat``'s ``on_message`` around the unit of work) and the
  pushes the dispatcher sends, by event, with their JSON size. With several
  workers, Prometheus scrapes each worker's port; ``sum by`` adds them up.
- **the service's** state, read from the database at scrape time, so every
  worker answers the same: waiting chats by risk level and the longest
  wait, escalations not closed and the time they took to be acknowledged,
  and the open resident and console connections of every worker (the
  presence tables, ``hotline.services.presence``).

prometheus_client's multiprocess mode is not used: it needs a shared
directory and cleanup on worker exit, and the only per-worker numbers here
are fine labelled by worker.

Who may read it: a signed-in supervisor or admin (``metrics`` in
``counselors.permissions``), a scraper presenting ``Authorization: Bearer``
with ``HOTLINE_METRICS_TOKEN``, or a client from ``HOTLINE_METRICS_ADDRESSES``
(comma-separated addresses or networks, e.g. ``10.0.0.0/8,127.0.0.1``).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.extensions import db
from hotline.http import bearer_token
from hotline.jobs.presence_watch import WORKER
from hotline.models import (
    Channel,
    ConsolePresence,
    Conversation,
    ConversationState,
    Escalation,
    EscalationState,
    ResidentPresence,
    RiskLevel,
    utcnow,
)

bp = Blueprint("metrics", __name__)

# This worker's own metrics (one registry per process, whatever the apps).
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

MESSAGE_ACK_SECONDS = Histogram(
    "hotline_message_ack_seconds",
    "A resident's message from receipt to its ack: validation, the unit of "
    "work (store, triage verdict, commit) and the pushes it dispatches",
    ["worker"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
PUSH_BYTES = Histogram(
    "hotline_push_bytes",
    "Socket.IO pushes the dispatcher emitted (one per emit, whatever the room "
    "size), by event, and their JSON payload size in bytes",
    ["worker", "namespace", "event"],
    buckets=(128, 512, 2048, 8192, 16384, 32768, 65536, 262144, 1048576),
    registry=REGISTRY,
)

# The buckets of the scrape-time escalation histogram, in seconds.
ACK_BUCKETS = (15, 30, 60, 120, 300, 600, 1800, 3600)


def observe_ack(seconds: float) -> None:
    """Count one resident message acked after ``seconds``."""
    MESSAGE_ACK_SECONDS.labels(WORKER).observe(seconds)


def observe_push(event: str, payload: Any, namespace: str) -> None:
    """Count one push and its size; never lets a metric break a push."""
    try:
        size = len(json.dumps(payload, separators=(",", ":"), default=str))
    except (TypeError, ValueError):
        size = 0
    PUSH_BYTES.labels(WORKER, namespace, event).observe(size)


# --- access ------------------------------------------------------------------


def _setting(name: str) -> str:
    """``METRICS_TOKEN`` or ``METRICS_ADDRESSES`` from the app's config (tests),
    else from ``HOTLINE_<name>`` in the environment."""
    value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(f"HOTLINE_{name}", "")
    return str(value)


def _from_allowed_address() -> bool:
    allowed = [part.strip() for part in _setting("METRICS_ADDRESSES").split(",")]
    if not any(allowed) or not request.remote_addr:
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr)
    except ValueError:
        return False
    for entry in filter(None, allowed):
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _has_token() -> bool:
    expected = _setting("METRICS_TOKEN")
    given = bearer_token()
    return bool(expected and given) and hmac.compare_digest(
        given.encode(), expected.encode()
    )


def _check_access() -> None:
    """A scraper with the token or from an allowed address, or a signed-in
    supervisor or admin; Unauthorized or Forbidden otherwise."""
    if _has_token() or _from_allowed_address():
        return
    # Imported here: counselors imports hotline at load time.
    from counselors.permissions import require

    require("metrics")


@bp.get("/metrics")
def metrics() -> Response:
    _check_access()
    with db.read() as session:
        registry = CollectorRegistry()
        registry.register(ServiceCollector(session, utcnow()))
        state = generate_latest(registry)
    return Response(
        generate_latest(REGISTRY) + state,
        mimetype=CONTENT_TYPE_LATEST.split(";")[0],
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )


# --- the service's state, from the database ---------------------------------


class ServiceCollector(Collector):
    """Gauges read from the database when scraped (the same on every worker)."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def collect(self) -> Iterator[Metric]:
        yield from self._queue()
        yield from self._escalations()
        yield from self._connections()

    def _queue(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "hotline_queue_waiting",
            "Conversations waiting, by risk level and kind (chat or callback)",
            labels=["level", "kind"],
        )
        longest = GaugeMetricFamily(
            "hotline_queue_longest_wait_seconds",
            "How long the longest-waiting chat at each risk level has waited",
            labels=["level"],
        )
        rows = self.session.execute(
            select(
                Conversation.risk_level,
                Conversation.channel,
                func.count(),
                func.min(Conversation.waiting_since),
            )
            .where(Conversation.state == ConversationState.WAITING)
            .group_by(Conversation.risk_level, Conversation.channel)
        ).all()
        counts: dict[tuple[str, str], int] = {}
        oldest: dict[str, datetime] = {}
        for level, channel, count, since in rows:
            kind = "callback" if channel == Channel.CALLBACK else "chat"
            counts[(str(level), kind)] = count
            # A callback's waiting_since is when it may next be called.
            if kind == "chat" and since is not None:
                oldest[str(level)] = since
        for level in RiskLevel:
            for kind in ("chat", "callback"):
                count = counts.get((str(level), kind), 0)
                waiting.add_metric([str(level), kind], count)
            since = oldest.get(str(level))
            age = (self.now - since).total_seconds() if since else 0.0
            longest.add_metric([str(level)], max(0.0, age))
        yield waiting
        yield longest

    def _escalations(self) -> Iterator[Metric]:
        by_state = GaugeMetricFamily(
            "hotline_escalations",
            "Escalations not closed yet, by state",
            labels=["state"],
        )
        counts = dict(
            self.session.execute(
                select(Escalation.state, func.count())
                .where(Escalation.state != EscalationState.CLOSED)
                .group_by(Escalation.state)
            ).all()
        )
        for state in EscalationState:
            if state is not EscalationState.CLOSED:
                by_state.add_metric([str(state)], counts.get(state, 0))
        yield by_state

        oldest_open = self.session.scalar(
            select(func.min(Escalation.opened_at)).where(
                Escalation.state == EscalationState.OPEN
            )
        )
        yield GaugeMetricFamily(
            "hotline_escalation_oldest_unacknowledged_seconds",
            "Age of the oldest escalation nobody has acknowledged (0 if none)",
            value=(
                max(0.0, (self.now - oldest_open).total_seconds())
                if oldest_open
                else 0.0
            ),
        )

        # Every acknowledged escalation so far, bucketed: cumulative, so
        # Grafana can take rates and quantiles over any window. Escalations
        # are few (crises), so reading two columns of each is cheap.
        acknowledged = self.session.execute(
            select(Escalation.opened_at, Escalation.acknowledged_at).where(
                Escalation.acknowledged_at.is_not(None)
            )
        ).all()
        waits = [
            max(0.0, (acked - opened).total_seconds()) for opened, acked in acknowledged
        ]
        buckets = [
            (f"{bound:g}", sum(wait <= bound for wait in waits))
            for bound in ACK_BUCKETS
        ]
        buckets.append(("+Inf", len(waits)))
        yield HistogramMetricFamily(
            "hotline_escalation_ack_seconds",
            "Time from an escalation opening to its acknowledgement",
            buckets=buckets,
            sum_value=sum(waits),
        )

    def _connections(self) -> Iterator[Metric]:
        connections = GaugeMetricFamily(
            "hotline_connections",
            "Open Socket.IO connections, by side (resident, console) and worker",
            labels=["side", "worker"],
        )
        for side, table in (
            ("resident", ResidentPresence),
            ("console", ConsolePresence),
        ):
            rows = self.session.execute(
                select(table.worker, func.count()).group_by(table.worker)
            ).all()
            for worker, count in rows:
                connections.add_metric([side, worker], count)
        yield connections
