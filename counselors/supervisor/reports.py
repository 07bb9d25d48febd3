"""Supervisors' reports page (charts with table fallbacks) and its CSV export."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from counselors.permissions import requires
from hotline.extensions import db
from hotline.labels import need_names, report_strings, risk_level_names, role_names
from hotline.services import reports
from hotline.services.closing import NEEDS

bp = Blueprint("reports", __name__, template_folder="templates")

DEFAULT_DAYS = 7
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ChosenRange:
    """The filter as typed, the dates it gives, and what is wrong with it."""

    start_text: str
    end_text: str
    start: date | None
    end: date | None
    errors: tuple[str, ...]


@bp.get("/supervisor/reports")
@login_required
@requires("reports")
def page() -> tuple[str, int]:
    """Charts and tables for a range of local dates (the last 7 days by default)."""
    chosen = _chosen_range()
    payload: dict[str, Any] | None = None
    if not chosen.errors:
        assert chosen.start is not None and chosen.end is not None
        with db.read() as session:
            payload = reports.build_reports(
                session, chosen.start, chosen.end, _zone(), _target_seconds()
            ).to_payload()
    return (
        render_template(
            "supervisor/reports.html",
            user=current_user,
            role_names=role_names(),
            chosen=chosen,
            max_days=reports.MAX_RANGE_DAYS,
            report=payload,
            charts={chart["id"]: chart for chart in _charts(payload)}
            if payload
            else {},
        ),
        400 if chosen.errors else 200,
    )


@bp.get("/supervisor/reports.csv")
@login_required
@requires("reports")
def csv_export() -> Any:
    """Every figure as ``report,series,key,value`` rows; audited as ``export``."""
    chosen = _chosen_range()
    if chosen.errors:
        return page()
    assert chosen.start is not None and chosen.end is not None
    # One unit: the figures and the audit entry of their export commit
    # together, so no export goes unaudited.
    with db.transaction() as session:
        body = reports.export_csv(
            session,
            chosen.start,
            chosen.end,
            _zone(),
            _target_seconds(),
            actor_id=current_user.member.user_id,
        )
    filename = f"hotline-reports-{chosen.start}-{chosen.end}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _target_seconds() -> int:
    return int(current_app.config["ESCALATION_ACK_TARGET_SECONDS"])


def _chosen_range() -> ChosenRange:
    today = datetime.now(_zone()).date()
    start_text = (request.args.get("start") or "").strip()
    end_text = (request.args.get("end") or "").strip()
    errors: list[str] = []
    end = _parse_date(end_text, today, errors, _("Enter the end date as YYYY-MM-DD."))
    default_start = (end or today) - timedelta(days=DEFAULT_DAYS - 1)
    start = _parse_date(
        start_text, default_start, errors, _("Enter the start date as YYYY-MM-DD.")
    )
    if start is not None and end is not None:
        if start > end:
            errors.append(_("The start date must not be after the end date."))
        elif (end - start).days + 1 > reports.MAX_RANGE_DAYS:
            errors.append(
                _("Choose at most %(days)s days.", days=reports.MAX_RANGE_DAYS)
            )
    return ChosenRange(
        start_text=start_text or (start.isoformat() if start else ""),
        end_text=end_text or (end.isoformat() if end else ""),
        start=start,
        end=end,
        errors=tuple(errors),
    )


def _parse_date(
    text: str, default: date, errors: list[str], message: str
) -> date | None:
    if not text:
        return default
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    errors.append(message)
    return None


def _chart(
    chart_id: str,
    title: str,
    axis: str,
    labels: list[str],
    series: list[tuple[str, list[int]]],
    *,
    stacked: bool = False,
) -> dict[str, Any]:
    return {
        "id": chart_id,
        "title": title,
        "axis": axis,
        "labels": labels,
        "series": [{"name": name, "values": values} for name, values in series],
        "stacked": stacked,
        "empty": not any(any(values) for _name, values in series),
    }


def _charts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """What each chart draws; the page renders the same numbers as tables."""
    names = report_strings()
    channels = names["channels"]
    contacts = report["contacts"]
    levels = risk_level_names()
    risk = report["risk_mix"]["counts"]
    escalations = report["escalations"]
    needs = report["needs"]
    referrals = report["referrals"]
    callbacks = report["callbacks"]
    surveys = report["surveys"]
    late = escalations["acknowledged"] - escalations["within_target"]
    return [
        _chart(
            "contacts-by-hour",
            _("Contacts per hour of day"),
            _("Hour"),
            [f"{hour:02d}" for hour in range(24)],
            [(channels[c], contacts["by_hour"][c]) for c in reports.CHANNELS],
            stacked=True,
        ),
        _chart(
            "contacts-by-day",
            _("Contacts per day"),
            _("Date"),
            contacts["days"],
            [(channels[c], contacts["by_day"][c]) for c in reports.CHANNELS],
            stacked=True,
        ),
        _chart(
            "risk-mix",
            _("Risk mix"),
            _("Level"),
            [levels[level] for level in risk],
            [(_("Conversations"), list(risk.values()))],
        ),
        _chart(
            "escalations",
            _("Escalations: time to acknowledge"),
            _("Acknowledged"),
            [
                _(
                    "Within %(seconds)s seconds",
                    seconds=escalations["target_seconds"],
                ),
                _("Later"),
                _("Not acknowledged"),
            ],
            [
                (
                    _("Escalations"),
                    [escalations["within_target"], late, escalations["unacknowledged"]],
                )
            ],
        ),
        _chart(
            "needs",
            _("Needs"),
            _("Need"),
            [need_names()[need] for need in NEEDS],
            [
                (_("Detected by triage"), list(needs["detected"].values())),
                (_("Recorded at wrap-up"), list(needs["recorded"].values())),
            ],
        ),
        _chart(
            "referrals-by-category",
            _("Referrals by resource category"),
            _("Category"),
            [names["categories"][key] for key in referrals["by_category"]],
            [(_("Referrals"), list(referrals["by_category"].values()))],
        ),
        _chart(
            "referrals-by-status",
            _("Referrals by follow-up status"),
            _("Follow-up"),
            [names["follow_up"][key] for key in referrals["by_status"]],
            [(_("Referrals"), list(referrals["by_status"].values()))],
        ),
        _chart(
            "callbacks",
            _("Callback requests"),
            _("Result"),
            [_("Reached"), _("Called, not reached"), _("Cancelled by the resident")],
            [
                (
                    _("Callback requests"),
                    [
                        callbacks["reached"],
                        callbacks["not_reached"],
                        callbacks["cancelled"],
                    ],
                )
            ],
        ),
        _chart(
            "helpfulness",
            _("Survey: how helpful was the conversation (1–5)"),
            _("Score"),
            list(surveys["helpfulness"]),
            [(_("Answers"), list(surveys["helpfulness"].values()))],
        ),
        _chart(
            "feels-safer",
            _("Survey: do you feel safer now?"),
            _("Answer"),
            [names["feels_safer"][key] for key in surveys["feels_safer"]],
            [(_("Answers"), list(surveys["feels_safer"].values()))],
        ),
    ]
