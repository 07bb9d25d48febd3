"""Keeps this worker's console and resident connections fresh, and (on one
worker at a time) sweeps out those of dead workers: see
``hotline.services.presence``."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from flask import Flask

from hotline.extensions import db, socketio
from hotline.jobs import periodic
from hotline.services import presence

logger = logging.getLogger(__name__)
WORKER = f"{socket.gethostname()}:{os.getpid()}"[:128]
SWEEP_JOB = "presence_sweep"
SWEEP_INTERVAL = timedelta(seconds=presence.REFRESH_SECONDS)

# The connections this process holds (sid), refreshed by its heartbeat.
LOCAL_SIDS: set[str] = set()


def heartbeat_once(app: Flask) -> None:
    with app.app_context(), db.transaction() as session:
        presence.refresh(session, sorted(LOCAL_SIDS))


def sweep_once(app: Flask) -> None:
    with app.app_context(), db.transaction() as session:
        return presence.sweep(session)


def _heartbeat_forever(app: Flask) -> None:
    while True:
        socketio.sleep(presence.REFRESH_SECONDS)
        try:
            heartbeat_once(app)
        except Exception:
            logger.exception("console presence heartbeat failed; retrying")


def start(app: Flask) -> None:
    """Every worker refreshes its own; one worker per slot sweeps."""
    socketio.start_background_task(_heartbeat_forever, app)
    periodic.start(app, SWEEP_JOB, SWEEP_INTERVAL, sweep_once)
