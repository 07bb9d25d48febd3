"""The retention purge, run hourly by whichever worker wins the slot.

Hourly rather than daily so that a restart never delays a purge by a day;
the purge is idempotent, so a worker dying part-way costs nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask

from hotline.extensions import db
from hotline.jobs import periodic
from hotline.services.retention import PurgeReport, RetentionPolicy, purge

logger = logging.getLogger(__name__)
JOB_NAME = "retention_purge"
INTERVAL = timedelta(hours=1)


def purge_expired(app: Flask) -> PurgeReport:
    """Apply the configured retention policy now."""
    with app.app_context(), db.transaction() as session:
        report = purge(session, RetentionPolicy.from_config(app.config))
    if report.transcripts or report.phone_numbers:
        logger.info("retention purge: %s", report.to_payload())
    return report


def start(app: Flask) -> None:
    """Start the hourly purge beside the server."""
    periodic.start(app, JOB_NAME, INTERVAL, purge_expired)
