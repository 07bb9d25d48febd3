"""The ``hotline`` console script: migrations, staff accounts, triage feedback."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from hotline.cli import export_feedback, main
from hotline.extensions import db
from hotline.models import RiskLevel, Role, Sender, User
from hotline.services import conversations, risk


def invoke(database_url, args, stdin=None):
    env = {"HOTLINE_DATABASE_URL": database_url, "HOTLINE_SECRET_KEY": "cli-test"}
    return CliRunner().invoke(main, args, input=stdin, env=env)


def test_db_upgrade_is_idempotent(database_url):
    for _ in range(2):
        result = invoke(database_url, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "newest schema" in result.output


def test_users_create_reads_the_password_from_stdin(app, database_url, scalar):
    result = invoke(
        database_url,
        ["users", "create", "wei", "--role", "social_worker"],
        stdin="a long password\n",
    )
    assert result.exit_code == 0, result.output
    assert scalar(select(User.role).where(User.username == "wei")) is (
        Role.SOCIAL_WORKER
    )
    again = invoke(
        database_url,
        ["users", "create", "wei", "--role", "counselor"],
        stdin="a long password\n",
    )
    assert again.exit_code == 1
    assert "taken" in again.output


def test_users_create_refuses_bad_input(database_url):
    short = invoke(
        database_url, ["users", "create", "ana", "--role", "counselor"], stdin="short\n"
    )
    assert short.exit_code == 1
    assert "at least" in short.output
    role = invoke(
        database_url, ["users", "create", "ana", "--role", "boss"], stdin="x" * 12
    )
    assert role.exit_code == 2


def test_feedback_export_has_the_corrected_messages(
    app, database_url, make_user, tmp_path, monkeypatch
):
    counselor = make_user("ana")
    with app.app_context(), db.transaction() as session:
        cid, _ = conversations.start_conversation(session, "zh")
        conversations.post_message(
            session,
            cid,
            sender=Sender.RESIDENT,
            body="我在天台上，风很大",
            client_id="feedback-01",
            assessment=risk.TriageResult(RiskLevel.LOW, 0.1, [], [], "test"),
        )
        risk.correct_level_and_escalate(
            session,
            cid,
            actor_id=counselor,
            to_level=RiskLevel.CRISIS,
            reason="on a rooftop at night, alone",
        )
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "cli-test")
    path = tmp_path / "feedback.jsonl"
    assert export_feedback(path) == 1
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows == [{"text": "我在天台上，风很大", "level": "crisis"}]


def test_triage_commands_are_mounted():
    result = CliRunner().invoke(main, ["triage", "train", "--help"])
    assert result.exit_code == 0
    assert "--with-feedback" in result.output
    for command in ("score", "evaluate", "explain"):
        assert command in CliRunner().invoke(main, ["triage", "--help"]).output


def test_importing_the_app_cli_leaves_triage_commands_as_they_are():
    import hotline.cli
    from triage.cli import triage_cli

    options = [p.name for p in triage_cli.commands["train"].params]
    assert "with_feedback" not in options
    train = hotline.cli.main.commands["triage"].commands["train"]
    assert "with_feedback" in [p.name for p in train.params]
