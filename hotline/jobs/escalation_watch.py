"""Re-alerts escalations nobody has acknowledged, until somebody does.

Runs beside every ``hotline serve`` worker as the periodic job
``escalation_realert`` (``hotline.jobs.periodic``): every ``poll_seconds`` one
worker, whichever wins the slot, looks for due re-alerts. The conditional
UPDATE in ``claim_realerts`` still gives each due re-alert to exactly one
caller, so a look that overlaps another (a slow sweep, a clock off by a
second) never alerts twice.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from hotline.extensions import db
from hotline.jobs import periodic
from hotline.services.escalations import claim_realerts

JOB_NAME = "escalation_realert"
POLL_SECONDS = 5


def realert_due(app: Flask) -> list[int]:
    """Alert again every open escalation whose last alert is too old."""
    with app.app_context():
        interval = timedelta(seconds=app.config["ESCALATION_REALERT_SECONDS"])
        with db.transaction() as session:
            return claim_realerts(session, interval)


def poll_interval(app: Flask) -> timedelta:
    """How often somebody looks: every 5 s, or each re-alert interval if shorter."""
    realert_seconds = app.config["ESCALATION_REALERT_SECONDS"]
    return timedelta(seconds=max(1, min(POLL_SECONDS, realert_seconds)))


def start(app: Flask) -> None:
    """Start the watcher beside the server."""
    periodic.start(app, JOB_NAME, poll_interval(app), realert_due)
