"""Reports for supervisors: figures over a range of local dates, by SQL aggregation.

Every function takes ``(session, start, end, tz)``: ``start`` and ``end`` are
local calendar dates (both included) in the service's zone ``tz``, so a range
is the half-open UTC interval from local midnight of ``start`` to local
midnight after ``end``. Each report counts the rows whose own timestamp falls
in that interval (named in each function's docstring). Nothing here commits:
the caller's unit of work does (``db.read()`` for the page, ``db.transaction()``
for the export, whose audit entry is the only write).

Portability (SQLite and PostgreSQL):

- Local hours and days: SQLite has no time zones, so SQL counts contacts per
  15-minute UTC slot (every zone's offset is a multiple of 15 minutes) and
  Python turns each slot into a local hour and date with ``zoneinfo``. That is
  exact for any zone, daylight saving included, and moves at most
  ``days * 96 * 2`` rows.
- Durations are whole milliseconds computed in SQL (``julianday`` on SQLite,
  ``extract(epoch ...)`` on PostgreSQL), so both give the same numbers.
- Percentiles are ``percentile_cont`` (linear interpolation between the two
  nearest ranks) in SQL on PostgreSQL. SQLite has no percentile aggregate, so
  there SQL selects the durations in order and ``_percentile`` applies the
  same definition in Python; the tests run on both and expect equal answers.
- Needs are JSON lists; ``CAST(needs AS TEXT) LIKE '%"tag"%'`` counts a tag
  the same way on both backends.

A share or mean whose denominator is zero is ``None`` ("no data"), never 0.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    select,
)
from sqlalchemy.orm import Session

from hotline.models import (
    AuditEvent,
    CallAttempt,
    Callback,
    CallOutcome,
    Channel,
    Conversation,
    ConversationState,
    Escalation,
    FollowUpStatus,
    Referral,
    Resource,
    ResourceCategory,
    RiskLevel,
    Survey,
    WrapUp,
)
from hotline.services import audit
from hotline.services.closing import NEEDS

# Every zone's UTC offset is a multiple of this, so a UTC slot of this length
# lies within one local hour.
SLOT_SECONDS = 15 * 60
MAX_RANGE_DAYS = 366
CHANNELS = (Channel.CHAT.value, Channel.CALLBACK.value)
FEELS_SAFER = ("yes", "no", "unsure")
# Audit actions that hand a waiting chat to a person: the first of them is
# when the resident was first answered (``claimed_at`` is cleared when a chat
# is returned to the queue, so on its own it tells only the latest claim).
CLAIM_ACTIONS = ("claim", "escalation_taken_over")
CSV_HEADER = ("report", "series", "key", "value")


def local_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC interval [local midnight of start, local midnight after end)."""
    return (
        datetime.combine(start, time.min, tz).astimezone(UTC),
        datetime.combine(end + timedelta(days=1), time.min, tz).astimezone(UTC),
    )


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _seconds(milliseconds: float | None) -> float | None:
    return None if milliseconds is None else round(milliseconds / 1000, 3)


@dataclass(frozen=True)
class DurationSummary:
    """How long something took, over ``count`` cases (None without cases)."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None

    def to_payload(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "median_seconds": self.median_seconds,
            "p90_seconds": self.p90_seconds,
        }


@dataclass(frozen=True)
class ContactsReport:
    """Conversations started, per local hour of day and per local date."""

    by_hour: dict[str, list[int]]  # channel -> 24 counts, local hours 0..23
    days: list[date]
    by_day: dict[str, list[int]]  # channel -> a count per entry of ``days``
    totals: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    def to_payload(self) -> dict[str, Any]:
        return {
            "by_hour": self.by_hour,
            "days": [day.isoformat() for day in self.days],
            "by_day": self.by_day,
            "totals": self.totals,
            "total": self.total,
        }


@dataclass(frozen=True)
class WaitReport:
    """Chats' wait from starting to their first counsellor."""

    answered: DurationSummary

    def to_payload(self) -> dict[str, Any]:
        return self.answered.to_payload()


@dataclass(frozen=True)
class AbandonmentReport:
    """Chats that ended without anybody ever having claimed them."""

    chats: int
    abandoned: int

    @property
    def share(self) -> float | None:
        return _share(self.abandoned, self.chats)

    def to_payload(self) -> dict[str, Any]:
        return {"chats": self.chats, "abandoned": self.abandoned, "share": self.share}


@dataclass(frozen=True)
class RiskMixReport:
    """Conversations by their risk level."""

    counts: dict[str, int]  # level -> conversations, low to crisis

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_payload(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "total": self.total,
            "shares": {k: _share(v, self.total) for k, v in self.counts.items()},
        }


@dataclass(frozen=True)
class EscalationReport:
    """Escalations and how soon a responder acknowledged them."""

    opened: int
    acknowledged: DurationSummary
    within_target: int
    target_seconds: int

    @property
    def unacknowledged(self) -> int:
        return self.opened - self.acknowledged.count

    @property
    def share_within_target(self) -> float | None:
        return _share(self.within_target, self.opened)

    def to_payload(self) -> dict[str, Any]:
        return {
            "opened": self.opened,
            "acknowledged": self.acknowledged.count,
            "unacknowledged": self.unacknowledged,
            "median_seconds": self.acknowledged.median_seconds,
            "p90_seconds": self.acknowledged.p90_seconds,
            "within_target": self.within_target,
            "target_seconds": self.target_seconds,
            "share_within_target": self.share_within_target,
        }


@dataclass(frozen=True)
class NeedsReport:
    """Needs per conversation: as triage detected them and as wrap-ups recorded."""

    conversations: int
    wrapped_up: int
    detected: dict[str, int]  # need -> conversations whose triage found it
    recorded: dict[str, int]  # need -> conversations whose wrap-up names it

    def to_payload(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "wrapped_up": self.wrapped_up,
            "detected": self.detected,
            "recorded": self.recorded,
        }


@dataclass(frozen=True)
class ReferralReport:
    """Referral cards sent, by resource category and by follow-up status."""

    by_category: dict[str, int]
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def to_payload(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_category": self.by_category,
            "by_status": self.by_status,
        }


@dataclass(frozen=True)
class CallbackReport:
    """Callback requests and whether a counsellor got through."""

    requested: int
    attempted: int  # requests with at least one logged call
    reached: int  # requests with a call logged as ``reached``
    cancelled: int  # requests the resident cancelled

    @property
    def not_reached(self) -> int:
        return self.attempted - self.reached

    @property
    def reach_rate(self) -> float | None:
        return _share(self.reached, self.attempted)

    def to_payload(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "attempted": self.attempted,
            "reached": self.reached,
            "not_reached": self.not_reached,
            "cancelled": self.cancelled,
            "reach_rate": self.reach_rate,
        }


@dataclass(frozen=True)
class SurveyReport:
    """Residents' anonymous survey answers."""

    count: int
    mean_helpfulness: float | None
    helpfulness: dict[str, int]  # "1".."5" -> answers
    feels_safer: dict[str, int]  # yes, no, unsure, unanswered -> answers

    def to_payload(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean_helpfulness": self.mean_helpfulness,
            "helpfulness": self.helpfulness,
            "feels_safer": self.feels_safer,
        }


@dataclass(frozen=True)
class Reports:
    """Every report for one range."""

    start: date
    end: date
    timezone: str
    contacts: ContactsReport
    wait: WaitReport
    abandonment: AbandonmentReport
    risk_mix: RiskMixReport
    escalations: EscalationReport
    needs: NeedsReport
    referrals: ReferralReport
    callbacks: CallbackReport
    surveys: SurveyReport
    sections: ClassVar[tuple[str, ...]] = (
        "contacts",
        "wait",
        "abandonment",
        "risk_mix",
        "escalations",
        "needs",
        "referrals",
        "callbacks",
        "surveys",
    )

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
        }
        for name in self.sections:
            payload[name] = getattr(self, name).to_payload()
        return payload

    def csv_rows(self) -> Iterator[tuple[str, str, str, str]]:
        """Every figure as ``(report, series, key, value)``; no data is ''."""
        yield ("range", "", "start", self.start.isoformat())
        yield ("range", "", "end", self.end.isoformat())
        yield ("range", "", "timezone", self.timezone)
        contacts = self.contacts
        for channel in CHANNELS:
            yield ("contacts", channel, "total", str(contacts.totals[channel]))
        for channel in CHANNELS:
            for hour, count in enumerate(contacts.by_hour[channel]):
                yield ("contacts_by_hour", channel, f"{hour:02d}", str(count))
        for channel in CHANNELS:
            for day, count in zip(contacts.days, contacts.by_day[channel], strict=True):
                yield ("contacts_by_day", channel, day.isoformat(), str(count))
        for name in self.sections[1:]:
            yield from _flatten(name, "", getattr(self, name).to_payload())


def _flatten(report: str, series: str, values: dict[str, Any]) -> Iterator[Any]:
    for key, value in values.items():
        if isinstance(value, dict):
            yield from _flatten(report, key, value)
        else:
            yield (report, series, key, "" if value is None else str(value))


# --- SQL helpers -------------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _epoch_seconds(column: Any, dialect: str) -> ColumnElement[int]:
    """Whole seconds since 1970 of a UTC timestamp column."""
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    return cast(func.strftime("%s", column), Integer)


def _milliseconds_between(later: Any, earlier: Any, dialect: str) -> Any:
    """``later - earlier`` in whole milliseconds."""
    if dialect == "postgresql":
        return cast(
            func.round(func.extract("epoch", later - earlier) * 1000), BigInteger
        )
    return cast(
        func.round((func.julianday(later) - func.julianday(earlier)) * 86_400_000),
        Integer,
    )


def _percentile(ordered: list[float], fraction: float) -> float:
    """PostgreSQL's ``percentile_cont``: interpolate between the nearest ranks."""
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _summarise(
    session: Session, durations: Select[Any], *, target_ms: int | None = None
) -> tuple[DurationSummary, int]:
    """Median and 90th percentile of a one-column select of milliseconds,
    and how many are at most ``target_ms``."""
    values = durations.subquery()
    milliseconds = values.c[0]
    if _dialect(session) == "postgresql":
        row = session.execute(
            select(
                func.count(milliseconds),
                func.percentile_cont(0.5).within_group(milliseconds),
                func.percentile_cont(0.9).within_group(milliseconds),
                func.count(milliseconds).filter(milliseconds <= (target_ms or 0)),
            )
        ).one()
        count, median, p90, within = row
        return (
            DurationSummary(count, _seconds(median), _seconds(p90)),
            within if target_ms is not None else 0,
        )
    ordered = [
        float(value)
        for value in session.scalars(
            select(milliseconds).where(milliseconds.is_not(None)).order_by(milliseconds)
        )
    ]
    within = sum(1 for value in ordered if target_ms is not None and value <= target_ms)
    if not ordered:
        return DurationSummary(0, None, None), 0
    return (
        DurationSummary(
            len(ordered),
            _seconds(_percentile(ordered, 0.5)),
            _seconds(_percentile(ordered, 0.9)),
        ),
        within,
    )


def _created_in(column: Any, start: date, end: date, tz: ZoneInfo) -> Any:
    lower, upper = local_bounds(start, end, tz)
    return and_(column >= lower, column < upper)


def _first_claimed_at() -> Any:
    """When a chat was first handed to a person (or None if never)."""
    audited = (
        select(func.min(AuditEvent.at))
        .where(
            AuditEvent.conversation_id == Conversation.id,
            AuditEvent.action.in_(CLAIM_ACTIONS),
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    return case(
        (audited.is_(None), Conversation.claimed_at),
        (Conversation.claimed_at.is_(None), audited),
        (audited < Conversation.claimed_at, audited),
        else_=Conversation.claimed_at,
    )


# --- the reports -------------------------------------------------------------


def contacts(session: Session, start: date, end: date, tz: ZoneInfo) -> ContactsReport:
    """Conversations started (``created_at``) per local hour and local date,
    chats and callback requests apart."""
    # Grouped by the label: PostgreSQL would not match two copies of an
    # expression that carry separate bound parameters.
    slot = (
        _epoch_seconds(Conversation.created_at, _dialect(session)) // SLOT_SECONDS
    ).label("slot")
    rows = session.execute(
        select(slot, Conversation.channel, func.count())
        .where(_created_in(Conversation.created_at, start, end, tz))
        .group_by(slot, Conversation.channel)
    ).all()
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    by_hour = {channel: [0] * 24 for channel in CHANNELS}
    by_day = {channel: [0] * len(days) for channel in CHANNELS}
    for slot_number, channel, count in rows:
        local = datetime.fromtimestamp(int(slot_number) * SLOT_SECONDS, UTC)
        local = local.astimezone(tz)
        by_hour[str(channel)][local.hour] += count
        by_day[str(channel)][(local.date() - start).days] += count
    return ContactsReport(
        by_hour=by_hour,
        days=days,
        by_day=by_day,
        totals={channel: sum(by_day[channel]) for channel in CHANNELS},
    )


def wait_times(session: Session, start: date, end: date, tz: ZoneInfo) -> WaitReport:
    """Chats started in the range that someone answered: from ``created_at`` to
    the first claim (or take-over), median and 90th percentile."""
    first_claimed = _first_claimed_at()
    durations = select(
        _milliseconds_between(
            first_claimed, Conversation.created_at, _dialect(session)
        ).label("ms")
    ).where(
        Conversation.channel == Channel.CHAT,
        _created_in(Conversation.created_at, start, end, tz),
        first_claimed.is_not(None),
    )
    summary, _ = _summarise(session, durations)
    return WaitReport(summary)


def abandonment(
    session: Session, start: date, end: date, tz: ZoneInfo
) -> AbandonmentReport:
    """Chats started in the range; abandoned = left the queue (quick exit, or
    page gone past the abandon limit), or closed, without ever being claimed."""
    never_claimed = _first_claimed_at().is_(None)
    chats, abandoned = session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(
                    case(
                        (
                            and_(
                                Conversation.state.in_(
                                    (ConversationState.CLOSED, ConversationState.LEFT)
                                ),
                                never_claimed,
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
        ).where(
            Conversation.channel == Channel.CHAT,
            _created_in(Conversation.created_at, start, end, tz),
        )
    ).one()
    return AbandonmentReport(chats=chats, abandoned=int(abandoned))


def risk_mix(session: Session, start: date, end: date, tz: ZoneInfo) -> RiskMixReport:
    """Conversations (chats and callbacks) started in the range by their level:
    the highest level triage gave them, unless a person corrected it."""
    rows = session.execute(
        select(Conversation.risk_level, func.count())
        .where(_created_in(Conversation.created_at, start, end, tz))
        .group_by(Conversation.risk_level)
    ).all()
    found = {str(level): count for level, count in rows}
    return RiskMixReport(
        {level.value: found.get(level.value, 0) for level in RiskLevel}
    )


def escalation_response(
    session: Session, start: date, end: date, tz: ZoneInfo, target_seconds: int
) -> EscalationReport:
    """Escalations opened (``opened_at``) in the range: time to acknowledge
    (median, p90) and the share acknowledged within ``target_seconds`` of all
    opened (one never acknowledged counts as missing the target)."""
    in_range = _created_in(Escalation.opened_at, start, end, tz)
    opened = session.scalar(select(func.count()).where(in_range)) or 0
    durations = select(
        _milliseconds_between(
            Escalation.acknowledged_at, Escalation.opened_at, _dialect(session)
        ).label("ms")
    ).where(in_range, Escalation.acknowledged_at.is_not(None))
    summary, within = _summarise(session, durations, target_ms=target_seconds * 1000)
    return EscalationReport(
        opened=opened,
        acknowledged=summary,
        within_target=within,
        target_seconds=target_seconds,
    )


def _mentions(column: Any, tag: str) -> Any:
    return cast(column, Text).like(f'%"{tag}"%')


def needs(session: Session, start: date, end: date, tz: ZoneInfo) -> NeedsReport:
    """Conversations started in the range with each need: ``detected`` from
    triage (the conversation's needs tags), ``recorded`` by the counsellor's
    wrap-up. A conversation counts once per need in each column."""
    columns = [func.count(Conversation.id), func.count(WrapUp.id)]
    for tag in NEEDS:
        columns.append(func.sum(case((_mentions(Conversation.needs, tag), 1), else_=0)))
    for tag in NEEDS:
        columns.append(
            func.sum(
                case((and_(WrapUp.id.is_not(None), _mentions(WrapUp.needs, tag)), 1))
            )
        )
    row = session.execute(
        select(*columns)
        .select_from(Conversation)
        .outerjoin(WrapUp, WrapUp.conversation_id == Conversation.id)
        .where(_created_in(Conversation.created_at, start, end, tz))
    ).one()
    counts = [int(value or 0) for value in row]
    return NeedsReport(
        conversations=counts[0],
        wrapped_up=counts[1],
        detected=dict(zip(NEEDS, counts[2 : 2 + len(NEEDS)], strict=True)),
        recorded=dict(zip(NEEDS, counts[2 + len(NEEDS) :], strict=True)),
    )


def referrals(session: Session, start: date, end: date, tz: ZoneInfo) -> ReferralReport:
    """Referral cards sent (``created_at``) in the range, by the resource's
    category and by follow-up status."""
    in_range = _created_in(Referral.created_at, start, end, tz)
    categories = dict(
        session.execute(
            select(Resource.category, func.count())
            .join(Referral, Referral.resource_id == Resource.id)
            .where(in_range)
            .group_by(Resource.category)
        ).all()
    )
    statuses = dict(
        session.execute(
            select(Referral.follow_up_status, func.count())
            .where(in_range)
            .group_by(Referral.follow_up_status)
        ).all()
    )
    return ReferralReport(
        by_category={c.value: categories.get(c, 0) for c in ResourceCategory},
        by_status={s.value: statuses.get(s, 0) for s in FollowUpStatus},
    )


def callbacks(session: Session, start: date, end: date, tz: ZoneInfo) -> CallbackReport:
    """Callback requests made (the conversation's ``created_at``) in the range:
    reach rate = requests with a ``reached`` call / requests with any call."""
    any_call = exists().where(CallAttempt.callback_id == Callback.id)
    reached_call = exists().where(
        CallAttempt.callback_id == Callback.id,
        CallAttempt.outcome == CallOutcome.REACHED,
    )
    requested, attempted, reached, cancelled = session.execute(
        select(
            func.count(),
            func.count().filter(any_call),
            func.count().filter(reached_call),
            func.count().filter(Callback.cancelled_at.is_not(None)),
        )
        .select_from(Callback)
        .join(Conversation, Conversation.id == Callback.conversation_id)
        .where(_created_in(Conversation.created_at, start, end, tz))
    ).one()
    return CallbackReport(
        requested=requested, attempted=attempted, reached=reached, cancelled=cancelled
    )


def surveys(session: Session, start: date, end: date, tz: ZoneInfo) -> SurveyReport:
    """Surveys answered (``created_at``) in the range: mean helpfulness and the
    distribution of both questions."""
    in_range = _created_in(Survey.created_at, start, end, tz)
    count, mean = session.execute(
        select(func.count(), func.avg(Survey.helpfulness)).where(in_range)
    ).one()
    helpfulness = dict(
        session.execute(
            select(Survey.helpfulness, func.count())
            .where(in_range)
            .group_by(Survey.helpfulness)
        ).all()
    )
    safer = dict(
        session.execute(
            select(Survey.feels_safer, func.count())
            .where(in_range)
            .group_by(Survey.feels_safer)
        ).all()
    )
    feels_safer = {answer: safer.pop(answer, 0) for answer in FEELS_SAFER}
    # None, or anything the survey form did not offer, is "unanswered".
    feels_safer["unanswered"] = sum(safer.values())
    return SurveyReport(
        count=count,
        mean_helpfulness=None if mean is None else round(float(mean), 2),
        helpfulness={str(score): helpfulness.get(score, 0) for score in range(1, 6)},
        feels_safer=feels_safer,
    )


def build_reports(
    session: Session, start: date, end: date, tz: ZoneInfo, target_seconds: int
) -> Reports:
    """Every report for the range, read in the caller's one transaction."""
    return Reports(
        start=start,
        end=end,
        timezone=tz.key,
        contacts=contacts(session, start, end, tz),
        wait=wait_times(session, start, end, tz),
        abandonment=abandonment(session, start, end, tz),
        risk_mix=risk_mix(session, start, end, tz),
        escalations=escalation_response(session, start, end, tz, target_seconds),
        needs=needs(session, start, end, tz),
        referrals=referrals(session, start, end, tz),
        callbacks=callbacks(session, start, end, tz),
        surveys=surveys(session, start, end, tz),
    )


def export_csv(
    session: Session,
    start: date,
    end: date,
    tz: ZoneInfo,
    target_seconds: int,
    *,
    actor_id: int,
) -> str:
    """Every figure as CSV (``report,series,key,value``); the export is audited."""
    reports = build_reports(session, start, end, tz, target_seconds)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(reports.csv_rows())
    audit.record(
        session,
        "export",
        actor_id=actor_id,
        report="reports",
        start=start.isoformat(),
        end=end.isoformat(),
    )
    return buffer.getvalue()
