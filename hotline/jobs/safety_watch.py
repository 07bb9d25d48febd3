"""Runs the safety net (``hotline.services.safety_net``) beside every
``hotline serve`` worker, once per slot across all of them."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from hotline.extensions import db
from hotline.jobs import periodic
from hotline.services.safety_net import SafetyLimits, SweepResult, sweep

JOB_NAME = "safety_net"
POLL_SECONDS = 5


def sweep_once(app: Flask) -> SweepResult:
    """Act on every absence and silence past its limit."""
    with app.app_context(), db.transaction() as session:
        return sweep(session, SafetyLimits.from_config(app.config))


def poll_interval(app: Flask) -> timedelta:
    """Every 5 s, or a quarter of the shortest limit if that is shorter, so
    nothing waits much past its limit."""
    shortest = SafetyLimits.from_config(app.config).shortest.total_seconds()
    return timedelta(seconds=max(1, min(POLL_SECONDS, shortest / 4)))


def start(app: Flask) -> None:
    """Start the sweep beside the server."""
    periodic.start(app, JOB_NAME, poll_interval(app), sweep_once)
