"""Reports: every figure against fixtures with known answers, the page, its
date filter, the CSV export and who may see them."""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import (
    AuditEvent,
    CallAttempt,
    Callback,
    CallOutcome,
    Channel,
    Conversation,
    ConversationState,
    Escalation,
    EscalationState,
    FollowUpStatus,
    Outcome,
    Referral,
    Resource,
    ResourceCategory,
    RiskLevel,
    Role,
    Survey,
    WrapUp,
)
from hotline.services import reports
from tests.conftest import PASSWORD

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Local dates 2 to 4 March 2026: UTC 1 March 16:00 up to 4 March 16:00.
START, END = date(2026, 3, 2), date(2026, 3, 4)
RANGE = f"start={START}&end={END}"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Seeder:
    """Adds rows with fixed timestamps straight into the database."""

    def __init__(self, session, counselor_id: int) -> None:
        self.session = session
        self.counselor_id = counselor_id

    def conversation(
        self,
        created: str,
        *,
        channel: Channel = Channel.CHAT,
        state: ConversationState = ConversationState.CLOSED,
        claimed_after: int | None = None,
        risk: RiskLevel = RiskLevel.LOW,
        needs: tuple[str, ...] = (),
    ) -> Conversation:
        created_at = utc(created)
        conversation = Conversation(
            token_hash=secrets.token_hex(32),
            lang="zh",
            channel=channel,
            state=state,
            created_at=created_at,
            waiting_since=created_at,
            claimed_at=None
            if claimed_after is None
            else created_at + timedelta(seconds=claimed_after),
            counselor_id=None if claimed_after is None else self.counselor_id,
            closed_at=created_at + timedelta(hours=1)
            if state is ConversationState.CLOSED
            else None,
            risk_level=risk,
            risk_rank=risk.rank,
            needs=list(needs),
        )
        self.session.add(conversation)
        self.session.flush()
        return conversation

    def claim_audit(self, conversation: Conversation, after: int) -> None:
        self.session.add(
            AuditEvent(
                at=conversation.created_at + timedelta(seconds=after),
                actor_id=self.counselor_id,
                action="claim",
                conversation_id=conversation.id,
                details={},
            )
        )

    def wrap_up(self, conversation: Conversation, needs: tuple[str, ...]) -> None:
        self.session.add(
            WrapUp(
                conversation_id=conversation.id,
                counselor_id=self.counselor_id,
                outcome=Outcome.SUPPORTED,
                needs=list(needs),
            )
        )

    def escalation(
        self, conversation: Conversation, opened: str, acknowledged_after: int | None
    ) -> None:
        opened_at = utc(opened)
        self.session.add(
            Escalation(
                conversation_id=conversation.id,
                level=RiskLevel.CRISIS,
                state=EscalationState.OPEN
                if acknowledged_after is None
                else EscalationState.ACKNOWLEDGED,
                source="triage",
                opened_at=opened_at,
                last_alerted_at=opened_at,
                acknowledged_at=None
                if acknowledged_after is None
                else opened_at + timedelta(seconds=acknowledged_after),
            )
        )

    def resource(self, category: ResourceCategory) -> Resource:
        resource = Resource(name=f"{category} help", category=category, contact="110")
        self.session.add(resource)
        self.session.flush()
        return resource

    def referral(
        self,
        conversation: Conversation,
        resource: Resource,
        created: str,
        status: FollowUpStatus,
    ) -> None:
        self.session.add(
            Referral(
                conversation_id=conversation.id,
                resource_id=resource.id,
                counselor_id=self.counselor_id,
                created_at=utc(created),
                follow_up_status=status,
            )
        )

    def callback(
        self,
        conversation: Conversation,
        outcomes: tuple[CallOutcome, ...] = (),
        *,
        cancelled: bool = False,
    ) -> None:
        created_at = conversation.created_at
        callback = Callback(
            conversation_id=conversation.id,
            window_start=created_at + timedelta(hours=1),
            window_end=created_at + timedelta(hours=3),
            consent_at=created_at,
            attempts=len(outcomes),
            cancelled_at=created_at + timedelta(minutes=5) if cancelled else None,
        )
        self.session.add(callback)
        self.session.flush()
        for number, outcome in enumerate(outcomes):
            self.session.add(
                CallAttempt(
                    callback_id=callback.id,
                    counselor_id=self.counselor_id,
                    outcome=outcome,
                    at=created_at + timedelta(hours=1, minutes=number),
                )
            )

    def survey(
        self, conversation: Conversation, helpfulness: int, feels_safer: str | None
    ) -> None:
        self.session.add(
            Survey(
                conversation_id=conversation.id,
                helpfulness=helpfulness,
                feels_safer=feels_safer,
                created_at=conversation.created_at + timedelta(hours=2),
            )
        )


@pytest.fixture
def seeded(app, make_user):
    """Chats, callbacks and everything around them, inside and just outside
    the range of local dates START..END (Asia/Shanghai, UTC+8)."""
    counselor_id = make_user("ana", Role.COUNSELOR)
    with app.app_context():
        session = db.new_session()
        seed = Seeder(session, counselor_id)
        moderate, high, crisis = (
            RiskLevel.MODERATE,
            RiskLevel.HIGH,
            RiskLevel.CRISIS,
        )
        # Chats in the range (local time in the comment).
        c1 = seed.conversation(  # 2 Mar 09:00, answered after 30 s
            "2026-03-02T01:00:00", claimed_after=30, needs=("supplies",)
        )
        c2 = seed.conversation(  # 2 Mar 09:10, answered after 90 s
            "2026-03-02T01:10:00", claimed_after=90, risk=high, needs=("medicine",)
        )
        c3 = seed.conversation(  # 3 Mar 07:30 (2 Mar in UTC), answered after 150 s
            "2026-03-02T23:30:00",
            claimed_after=150,
            risk=crisis,
            needs=("medical", "supplies"),
        )
        seed.conversation("2026-03-03T02:00:00", risk=moderate)  # 3 Mar 10:00, left
        # 4 Mar 11:00: claimed after 60 s, returned to the queue (claimed_at is
        # cleared), then the resident left: answered, not abandoned.
        c5 = seed.conversation("2026-03-04T03:00:00")
        seed.claim_audit(c5, after=60)
        seed.conversation(  # 4 Mar 12:00, still waiting
            "2026-03-04T04:00:00", state=ConversationState.WAITING
        )
        # Just outside: 1 Mar 23:59:59 and 5 Mar 00:00:00 local.
        x1 = seed.conversation(
            "2026-03-01T15:59:59", claimed_after=10, risk=crisis, needs=("supplies",)
        )
        x2 = seed.conversation("2026-03-04T16:00:00", channel=Channel.CALLBACK)
        # Callback requests in the range.
        b1 = seed.conversation(  # 2 Mar 10:00
            "2026-03-02T02:00:00", channel=Channel.CALLBACK, needs=("care",)
        )
        b2 = seed.conversation(  # 3 Mar 11:00
            "2026-03-03T03:00:00", channel=Channel.CALLBACK, risk=high
        )
        b3 = seed.conversation(  # 3 Mar 13:00
            "2026-03-03T05:00:00", channel=Channel.CALLBACK
        )
        seed.callback(b1, (CallOutcome.NO_ANSWER, CallOutcome.REACHED))
        seed.callback(
            b2, (CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.NO_ANSWER)
        )
        seed.callback(b3, cancelled=True)
        seed.callback(x2, (CallOutcome.REACHED,))
        # Wrap-ups.
        seed.wrap_up(c1, ("supplies", "medicine"))
        seed.wrap_up(c2, ())
        seed.wrap_up(b2, ("care",))
        seed.wrap_up(x1, ("supplies",))
        # Escalations: acknowledged in 45 s and 200 s, one never; one outside.
        seed.escalation(c3, "2026-03-02T23:31:00", acknowledged_after=45)
        seed.escalation(c2, "2026-03-02T01:12:00", acknowledged_after=200)
        seed.escalation(b2, "2026-03-03T03:05:00", acknowledged_after=None)
        seed.escalation(x1, "2026-03-01T15:59:59", acknowledged_after=10)
        # Referrals.
        food = seed.resource(ResourceCategory.FOOD)
        medicine = seed.resource(ResourceCategory.MEDICINE)
        seed.referral(c1, food, "2026-03-02T01:05:00", FollowUpStatus.PENDING)
        seed.referral(c1, medicine, "2026-03-02T01:06:00", FollowUpStatus.CONFIRMED)
        seed.referral(c3, food, "2026-03-03T00:00:00", FollowUpStatus.NOT_REACHABLE)
        seed.referral(x1, food, "2026-03-01T15:00:00", FollowUpStatus.CONFIRMED)
        # Surveys (two hours after each conversation started).
        seed.survey(c1, 5, "yes")
        seed.survey(c2, 4, "unsure")
        seed.survey(c5, 2, None)
        seed.survey(x1, 1, "no")  # 1 Mar 17:59:59 UTC: 2 Mar 01:59:59 local!
        session.commit()
        session.close()
    return counselor_id


def build(app, start=START, end=END, tz=SHANGHAI, target=120):
    with app.app_context():
        session = db.new_session()
        try:
            return reports.build_reports(session, start, end, tz, target)
        finally:
            session.close()


def test_contacts_are_counted_per_local_hour_and_day(app, seeded):
    contacts = build(app).contacts
    assert contacts.days == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    assert contacts.by_day == {"chat": [2, 2, 2], "callback": [1, 2, 0]}
    assert contacts.totals == {"chat": 6, "callback": 3}
    chat_hours = {h: n for h, n in enumerate(contacts.by_hour["chat"]) if n}
    callback_hours = {h: n for h, n in enumerate(contacts.by_hour["callback"]) if n}
    # 23:30 UTC on 2 March is 07:30 on 3 March in Shanghai.
    assert chat_hours == {7: 1, 9: 2, 10: 1, 11: 1, 12: 1}
    assert callback_hours == {10: 1, 11: 1, 13: 1}


def test_a_contact_late_in_the_utc_day_counts_on_the_next_local_day(app, seeded):
    one_day = build(app, start=date(2026, 3, 3), end=date(2026, 3, 3)).contacts
    assert one_day.by_day["chat"] == [2]  # the 23:30 UTC chat of 2 March, and 10:00
    assert one_day.by_hour["chat"][7] == 1


def test_half_hour_zones_are_bucketed_exactly(app, seeded):
    # India is UTC+5:30: 23:30 UTC on 2 March is 05:00 on 3 March there.
    kolkata = build(
        app, start=date(2026, 3, 3), end=date(2026, 3, 3), tz=ZoneInfo("Asia/Kolkata")
    ).contacts
    assert kolkata.by_hour["chat"][5] == 1
    assert kolkata.totals == {"chat": 2, "callback": 2}


def test_wait_times_run_to_the_first_claim(app, seeded):
    wait = build(app).wait.answered
    # 30, 60 (claimed, then returned to the queue), 90, 150 seconds.
    assert (wait.count, wait.median_seconds, wait.p90_seconds) == (4, 75.0, 132.0)


def test_abandonment_counts_chats_closed_without_any_claim(app, seeded):
    abandonment = build(app).abandonment
    assert (abandonment.chats, abandonment.abandoned) == (6, 1)
    assert abandonment.share == 0.1667


def test_risk_mix_counts_every_conversation_once(app, seeded):
    assert build(app).risk_mix.counts == {
        "low": 5,
        "moderate": 1,
        "high": 2,
        "crisis": 1,
    }


def test_escalation_acknowledgement_against_the_target(app, seeded):
    escalations = build(app).escalations
    assert escalations.to_payload() == {
        "opened": 3,
        "acknowledged": 2,
        "unacknowledged": 1,
        "median_seconds": 122.5,
        "p90_seconds": 184.5,
        "within_target": 1,
        "target_seconds": 120,
        "share_within_target": 0.3333,
    }
    assert build(app, target=200).escalations.within_target == 2


def test_needs_from_triage_and_from_wrap_ups(app, seeded):
    needs = build(app).needs
    assert (needs.conversations, needs.wrapped_up) == (9, 3)
    assert needs.detected == {"supplies": 2, "medicine": 1, "medical": 1, "care": 1}
    assert needs.recorded == {"supplies": 1, "medicine": 1, "medical": 0, "care": 1}


def test_referrals_by_category_and_follow_up(app, seeded):
    referrals = build(app).referrals
    assert referrals.total == 3
    assert referrals.by_category == {
        "food": 2,
        "medicine": 1,
        "medical": 0,
        "psychiatric": 0,
        "elderly_disability": 0,
        "child": 0,
        "donations": 0,
        "legal_financial": 0,
    }
    assert referrals.by_status == {
        "pending": 1,
        "confirmed": 1,
        "not_reachable": 1,
        "not_needed": 0,
    }


def test_callback_reach_rate(app, seeded):
    assert build(app).callbacks.to_payload() == {
        "requested": 3,
        "attempted": 2,
        "reached": 1,
        "not_reached": 1,
        "cancelled": 1,
        "reach_rate": 0.5,
    }


def test_survey_scores(app, seeded):
    surveys = build(app).surveys
    assert surveys.count == 4  # x1's survey came on 2 March local time
    assert surveys.mean_helpfulness == 3.0
    assert surveys.helpfulness == {"1": 1, "2": 1, "3": 0, "4": 1, "5": 1}
    assert surveys.feels_safer == {"yes": 1, "no": 1, "unsure": 1, "unanswered": 1}
    later = build(app, start=date(2026, 3, 3), end=date(2026, 3, 3)).surveys
    assert (later.count, later.mean_helpfulness) == (0, None)


def test_an_empty_range_has_no_data_rather_than_zero_percent(app, seeded):
    empty = build(app, start=date(2025, 1, 1), end=date(2025, 1, 1))
    payload = empty.to_payload()
    assert payload["contacts"]["total"] == 0
    assert payload["wait"] == {"count": 0, "median_seconds": None, "p90_seconds": None}
    assert payload["abandonment"]["share"] is None
    assert payload["escalations"]["share_within_target"] is None
    assert payload["callbacks"]["reach_rate"] is None
    assert payload["surveys"]["mean_helpfulness"] is None
    assert all(share is None for share in payload["risk_mix"]["shares"].values())


def test_the_percentile_matches_postgresql_percentile_cont():
    assert reports._percentile([1.0], 0.9) == 1.0
    assert reports._percentile([10.0, 20.0], 0.5) == 15.0
    assert reports._percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.9) == 4.6


# --- the page ----------------------------------------------------------------


def sign_in(app, make_user, username="sun", role=Role.SUPERVISOR):
    make_user(username, role)
    http = app.test_client()
    response = http.post(
        "/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200
    return http


def table(page: str, name: str) -> dict[str, list[str]]:
    """A figures table of the page: row key -> its cells' text."""
    body = re.search(
        rf'<table class="figures" data-table="{name}">(.*?)</table>', page, re.S
    )
    assert body, name
    rows = {}
    for key, cells in re.findall(
        r'<tr data-key="([^"]*)">(.*?)</tr>', body.group(1), re.S
    ):
        rows[key] = [
            re.sub(r"\s+", " ", cell).strip()
            for cell in re.findall(r"<td>(.*?)</td>", cells, re.S)
        ]
    return rows


def test_supervisor_sees_figures_and_chart_tables(app, make_user, seeded):
    http = sign_in(app, make_user)
    response = http.get(f"/supervisor/reports?{RANGE}&lang=en")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count("<canvas data-chart=") == 10
    assert "/static/vendor/chart.umd.min.js" in page
    assert table(page, "waiting") == {
        "answered": ["4"],
        "median": ["1 min 15 s"],
        "p90": ["2 min 12 s"],
        "chats": ["6"],
        "abandoned": ["1"],
        "abandoned-share": ["16.7 %"],
    }
    assert table(page, "escalation-times")["median"] == ["2 min 3 s"]  # 122.5 s
    assert table(page, "escalation-times")["within-target"] == ["33.3 %"]
    assert table(page, "callback-figures")["reach-rate"] == ["50.0 %"]
    assert table(page, "contacts-by-day") == {
        "2026-03-02": ["2", "1"],
        "2026-03-03": ["2", "2"],
        "2026-03-04": ["2", "0"],
    }
    assert table(page, "contacts-by-hour")["07"] == ["1", "0"]
    assert table(page, "risk-mix") == {
        "Low": ["5"],
        "Moderate": ["1"],
        "High": ["2"],
        "Crisis": ["1"],
    }
    assert table(page, "referrals-by-status")["Not followed up yet"] == ["1"]
    assert table(page, "helpfulness")["5"] == ["1"]
    assert "3.0 / 5" in page


def test_the_filter_defaults_to_the_last_seven_local_days(app, make_user):
    http = sign_in(app, make_user)
    page = http.get("/supervisor/reports").get_data(as_text=True)
    today = datetime.now(SHANGHAI).date()
    assert f'name="start" value="{today - timedelta(days=6)}"' in page
    assert f'name="end" value="{today}"' in page


def test_an_empty_range_says_no_data(app, make_user):
    http = sign_in(app, make_user)
    page = http.get("/supervisor/reports?start=2025-01-01&end=2025-01-01&lang=en")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert table(text, "waiting")["abandoned-share"] == ["No data"]
    assert table(text, "callback-figures")["reach-rate"] == ["No data"]
    assert " %" not in re.sub(r"<[^>]+>", "", text.split("<main", 1)[1])
    assert "No data for these dates." in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-03-05&end=2026-03-04", "The start date must not be after"),
        ("start=2025-01-01&end=2026-01-02", "Choose at most 366 days."),
        ("start=yesterday&end=2026-03-04", "Enter the start date as YYYY-MM-DD."),
        ("start=2026-03-01&end=2026-02-30", "Enter the end date as YYYY-MM-DD."),
    ],
)
def test_the_filter_is_validated(app, make_user, query, message):
    http = sign_in(app, make_user)
    for path in ("/supervisor/reports", "/supervisor/reports.csv"):
        response = http.get(f"{path}?{query}&lang=en")
        assert response.status_code == 400, path
        page = response.get_data(as_text=True)
        assert message in page
        assert 'role="alert"' in page
        assert "<canvas" not in page


def test_366_days_are_allowed(app, make_user):
    http = sign_in(app, make_user)
    response = http.get("/supervisor/reports?start=2025-03-04&end=2026-03-04")
    assert response.status_code == 200


@pytest.mark.parametrize("role", [Role.COUNSELOR, Role.SOCIAL_WORKER, Role.ADMIN])
def test_only_supervisors_see_reports(app, make_user, role):
    http = sign_in(app, make_user, f"user-{role}", role)
    assert http.get("/supervisor/reports").status_code == 403
    assert http.get(f"/supervisor/reports.csv?{RANGE}").status_code == 403


def test_signed_out_is_sent_to_sign_in(client):
    for path in ("/supervisor/reports", "/supervisor/reports.csv"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/console/login")


def test_supervisors_have_a_link_to_reports(app, make_user):
    http = sign_in(app, make_user)
    assert 'href="/supervisor/reports"' in http.get("/supervisor").get_data(True)
    counselor = sign_in(app, make_user, "ana", Role.COUNSELOR)
    assert 'href="/supervisor/reports"' not in counselor.get("/console").get_data(True)


def test_csv_export_has_every_figure_and_is_audited(app, make_user, seeded, scalar):
    http = sign_in(app, make_user)
    response = http.get(f"/supervisor/reports.csv?{RANGE}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        "hotline-reports-2026-03-02-2026-03-04.csv"
        in (response.headers["Content-Disposition"])
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["report", "series", "key", "value"]
    figures = {(r, s, k): v for r, s, k, v in rows[1:]}
    assert len(figures) == len(rows) - 1  # no figure twice
    expected = {
        ("range", "", "timezone"): "Asia/Shanghai",
        ("contacts", "chat", "total"): "6",
        ("contacts", "callback", "total"): "3",
        ("contacts_by_hour", "chat", "07"): "1",
        ("contacts_by_day", "callback", "2026-03-03"): "2",
        ("wait", "", "median_seconds"): "75.0",
        ("wait", "", "p90_seconds"): "132.0",
        ("abandonment", "", "share"): "0.1667",
        ("risk_mix", "counts", "crisis"): "1",
        ("escalations", "", "share_within_target"): "0.3333",
        ("needs", "recorded", "care"): "1",
        ("referrals", "by_category", "food"): "2",
        ("referrals", "by_status", "not_reachable"): "1",
        ("callbacks", "", "reach_rate"): "0.5",
        ("surveys", "helpfulness", "4"): "1",
        ("surveys", "feels_safer", "unanswered"): "1",
        ("surveys", "", "mean_helpfulness"): "3.0",
    }
    assert {key: figures[key] for key in expected} == expected
    hours = [k for (r, s, k) in figures if r == "contacts_by_hour" and s == "chat"]
    assert len(hours) == 24
    export = scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert export.details == {
        "report": "reports",
        "start": "2026-03-02",
        "end": "2026-03-04",
    }
    empty = http.get("/supervisor/reports.csv?start=2025-01-01&end=2025-01-01")
    rows = list(csv.reader(io.StringIO(empty.get_data(as_text=True))))
    assert ["callbacks", "", "reach_rate", ""] in rows  # no data, not 0
