"""Re-alerts escalations nobody has acknowledged, until somebody does.

Runs as a background task of every ``hotline serve`` worker; the conditional
UPDATE in ``claim_realerts`` gives each due re-alert to exactly one worker.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask

from hotline.extensions import db, socketio
from hotline.realtime import alert_escalation
from hotline.services.escalations import claim_realerts

logger = logging.getLogger(__name__)
POLL_SECONDS = 5


def realert_due(app: Flask) -> list[int]:
    """Alert again every open escalation whose last alert is too old."""
    with app.app_context():
        session = db.new_session()
        try:
            interval = timedelta(seconds=app.config["ESCALATION_REALERT_SECONDS"])
            due = claim_realerts(session, interval)
            for escalation_id in due:
                alert_escalation(session, escalation_id, repeat=True)
            return due
        finally:
            session.close()


def watch_forever(app: Flask) -> None:
    """Poll for due re-alerts; a failure is logged and the loop goes on."""
    interval = app.config["ESCALATION_REALERT_SECONDS"]
    poll_seconds = max(1, min(POLL_SECONDS, interval))
    while True:
        socketio.sleep(poll_seconds)
        try:
            realert_due(app)
        except Exception:
            logger.exception("escalation re-alert failed; retrying")


def start(app: Flask) -> None:
    """Start the watcher beside the server."""
    socketio.start_background_task(watch_forever, app)
