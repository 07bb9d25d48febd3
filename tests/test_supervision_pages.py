"""Supervisor and admin pages: transcripts (audited), audit log, escalation API."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.extensions import db
from hotline.labels import signal_kind_names
from hotline.models import AuditEvent, RiskLevel, Role, Sender
from hotline.services import conversations, escalations
from hotline.services.risk import TriageResult, assess_text
from tests.conftest import PASSWORD


def sign_in(app, make_user, username, role):
    make_user(username, role)
    http = app.test_client()
    assert (
        http.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        ).status_code
        == 200
    )
    return http


def seed_conversation(app, body="<b>我睡不着</b>", *, triaged=False, assessment=None):
    with app.app_context(), db.transaction() as session:
        cid, _ = conversations.start_conversation(session, "zh")
        conversations.post_message(
            session,
            cid,
            sender=Sender.RESIDENT,
            body=body,
            client_id="seed-0001",
            assessment=assess_text(body) if triaged else assessment,
        )
    return cid


def test_supervisor_reads_a_transcript_and_it_is_audited(app, make_user, scalar):
    cid = seed_conversation(app)
    http = sign_in(app, make_user, "sun", Role.SUPERVISOR)
    page = http.get(f"/supervisor/conversations/{cid}").get_data(as_text=True)
    assert "&lt;b&gt;我睡不着&lt;/b&gt;" in page  # escaped, never rendered as HTML
    assert "<b>我睡不着</b>" not in page
    reads = scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.action == "transcript_read", AuditEvent.conversation_id == cid
        )
    )
    assert reads == 1
    audit_page = http.get("/supervisor/audit?action=transcript_read").get_data(
        as_text=True
    )
    assert "transcript_read" in audit_page
    entries = http.get(f"/api/audit?conversation={cid}").json["entries"]
    assert [e["action"] for e in entries] == ["transcript_read"]
    assert entries[0]["actor"] == "sun"


def test_audit_filters_are_validated(app, make_user):
    http = sign_in(app, make_user, "sun", Role.SUPERVISOR)
    assert http.get("/api/audit?action=drop_table").status_code == 400
    assert http.get("/api/audit?conversation=abc").status_code == 400


def test_escalation_api_lists_by_state(app, make_user):
    cid = seed_conversation(app)
    worker_id = make_user("wei", Role.SOCIAL_WORKER)
    with app.app_context(), db.transaction() as session:
        escalation_id = escalations.escalate_manually(
            session, cid, actor_id=worker_id, reason="farewell message"
        )
    http = app.test_client()
    http.post("/api/auth/login", json={"username": "wei", "password": PASSWORD})
    listed = http.get("/api/escalations?state=open").json["escalations"]
    assert [(e["escalation_id"], e["conversation_id"]) for e in listed] == [
        (escalation_id, cid)
    ]
    assert listed[0]["opened_at"] and listed[0]["acknowledged_at"] is None
    assert http.get("/api/escalations?state=closed").json == {"escalations": []}
    assert http.get("/api/escalations?state=weird").status_code == 400


def test_admin_creates_staff_from_the_page(app, make_user, scalar):
    http = sign_in(app, make_user, "root", Role.ADMIN)
    assert http.get("/console").headers["Location"] == "/admin"
    created = http.post(
        "/admin",
        data={"username": "ana", "password": "long enough pw", "role": "counselor"},
    )
    assert created.status_code == 302
    assert "ana" in http.get("/admin").get_data(as_text=True)
    assert (
        scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "user_created")
        )
        == 1
    )
    too_short = http.post(
        "/admin", data={"username": "bo", "password": "short", "role": "counselor"}
    )
    assert too_short.status_code == 200
    assert "ana" in too_short.get_data(as_text=True)


def test_board_page_renders_for_supervisors(app, make_user):
    http = sign_in(app, make_user, "sun", Role.SUPERVISOR)
    page = http.get("/supervisor?lang=en").get_data(as_text=True)
    assert "Escalation board" in page
    assert "Closed escalations" in page


def test_transcript_shows_triage_signals_and_states_in_the_readers_language(
    app, make_user
):
    cid = seed_conversation(app, "我已经写好遗书了，今晚就从楼顶跳下去", triaged=True)
    http = sign_in(app, make_user, "sun", Role.SUPERVISOR)
    zh = http.get(f"/supervisor/conversations/{cid}?lang=zh").get_data(as_text=True)
    assert "告别: “遗书”" in zh and "提到时间: “今晚”" in zh
    # A name with a detail (intent.jump) reads as its kind.
    assert "自杀意图: “跳下去”" in zh and "intent.jump" not in zh
    assert '<span class="who">居民' in zh and "· 等待中 ·" in zh
    for raw in ("farewell:", "time:", ">resident", "· waiting ·"):
        assert raw not in zh
    en = http.get(f"/supervisor/conversations/{cid}?lang=en").get_data(as_text=True)
    assert "Farewell: “遗书”" in en


def test_every_triage_signal_kind_has_a_label_for_staff(app):
    from triage.signals import KINDS

    with app.test_request_context("/?lang=zh"):
        names = signal_kind_names()
        assert set(KINDS) <= set(names)


def test_a_signal_kind_without_a_label_shows_its_name(app, make_user):
    # A model newer than the app's labels must still show what fired.
    signal = {"name": "novel.detail", "kind": "novel", "status": "active"}
    result = TriageResult(
        RiskLevel.HIGH,
        0.6,
        [{**signal, "text": "睡不着", "start": 0, "end": 3}],
        [],
        "test-1",
    )
    cid = seed_conversation(app, "睡不着", assessment=result)
    http = sign_in(app, make_user, "sun", Role.SUPERVISOR)
    page = http.get(f"/supervisor/conversations/{cid}?lang=en").get_data(as_text=True)
    assert "novel.detail: “睡不着”" in page
