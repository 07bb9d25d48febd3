"""The ``hotline`` console script: serve, migrate, manage staff, run triage."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# `hotline serve` runs on gevent unless HOTLINE_ASYNC_MODE says otherwise:
# measured cheaper per message, and it queues instead of failing under
# overload (docs/decisions.md). Other commands never serve, and tests use
# threading through the app factory's default.
SERVE_ASYNC_MODE = os.environ.get("HOTLINE_ASYNC_MODE") or (
    "gevent" if sys.argv[1:2] == ["serve"] else "threading"
)
if SERVE_ASYNC_MODE == "gevent":  # pragma: no cover
    # gevent must patch the standard library before anything imports it.
    from gevent import monkey

    monkey.patch_all()

import click  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from hotline.models import Role  # noqa: E402


@contextmanager
def _transaction(app: Flask) -> Iterator[Session]:
    """One unit of work inside the app's context (hotline.database)."""
    from hotline.extensions import db

    with app.app_context(), db.transaction() as session:
        yield session


def _app(**overrides: Any) -> Flask:
    from hotline import create_app

    return create_app(overrides or None)


@click.group()
def main() -> None:
    """Hotline: psychological-support hotline and crisis triage."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the web app and Socket.IO on HOST:PORT."""
    from hotline.extensions import socketio
    from hotline.jobs import escalation_watch, presence_watch, retention, safety_watch
    from hotline.services.accounts import create_first_admin

    app = _app(SOCKETIO_ASYNC_MODE=SERVE_ASYNC_MODE)
    with _transaction(app) as session:
        password = create_first_admin(session)
    if password is not None:
        click.echo(
            "\nCreated the first account. Sign in at "
            f"http://{host}:{port}/console/login\n"
            f"    username: admin\n    password: {password}\n"
            "This password is shown once. Add counsellors with:\n"
            "    .venv/bin/hotline users create NAME --role counselor\n"
        )
    else:
        click.echo(
            f"Staff sign in at http://{host}:{port}/console/login "
            "(add accounts with: .venv/bin/hotline users create NAME --role ROLE)"
        )
    from hotline.services.risk import warm_up

    click.echo(f"triage model {warm_up()} loaded")
    click.echo(
        f"Hotline is serving on http://{host}:{port}/ "
        f"({SERVE_ASYNC_MODE}; Ctrl+C stops it)"
    )
    escalation_watch.start(app)
    retention.start(app)
    presence_watch.start(app)
    safety_watch.start(app)
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True)


@main.group("db")
def database_group() -> None:
    """Database schema."""


@database_group.command()
def upgrade() -> None:
    """Migrate the database to the newest schema; add missing default quick replies."""
    from hotline.migrate import upgrade as run_upgrade
    from hotline.services.canned import install_default_library

    app = _app()
    run_upgrade(app.config["DATABASE_URL"])
    click.echo("database is at the newest schema")
    with _transaction(app) as session:
        added = install_default_library(session)
    if added:
        click.echo(f"added {added} quick replies to the shared library")


@main.group()
def users() -> None:
    """Staff accounts."""


@users.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--display-name", default="", help="First name shown to residents.")
def create_user_command(username: str, role: str, display_name: str) -> None:
    """Create a staff account; the password is read from stdin or prompted."""
    from hotline.errors import HotlineError
    from hotline.services.accounts import create_user

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        with _transaction(_app()) as session:
            create_user(session, username, password, Role(role), display_name)
    except HotlineError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"created {role} '{username}'")


@main.command()
@click.option(
    "--dry-run", is_flag=True, help="Only count what would be deleted or erased."
)
def purge(dry_run: bool) -> None:
    """Apply the retention policy now (the server also runs it every hour)."""
    from hotline.services.retention import RetentionPolicy
    from hotline.services.retention import purge as run_purge

    app = _app()
    policy = RetentionPolicy.from_config(app.config)
    with _transaction(app) as session:
        report = run_purge(session, policy, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"{verb} the transcripts of {report.transcripts} conversations closed over "
        f"{policy.transcript_days} days ago ({report.messages} messages, "
        f"{report.notes} notes)"
    )
    verb = "would erase" if dry_run else "erased"
    click.echo(
        f"{verb} {report.phone_numbers} callback phone numbers closed over "
        f"{policy.phone_days} days ago"
    )
    verb = "would close" if dry_run else "closed"
    click.echo(
        f"{verb} {report.expired_chats} chats nobody answered in "
        f"{policy.unanswered_chat_hours} hours"
    )


def _triage_group() -> click.Group:
    """``triage``'s commands under ``hotline triage``, its ``train`` with
    ``--with-feedback``: the triage library cannot read the database, so the
    web app exports the staff's level corrections to a JSON-lines file and
    hands it to training as one more ``--extra`` file. Triage's own commands
    are left as they are (a copy is extended, not the original)."""
    from triage.cli import triage_cli

    train = triage_cli.commands["train"]
    train_callback = train.callback
    assert train_callback is not None

    def train_with_feedback(with_feedback: bool, **options: Any) -> Any:
        if not with_feedback:
            return train_callback(**options)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "feedback.jsonl"
            count = export_feedback(path)
            click.echo(f"{count} corrected message(s) from staff feedback")
            if count:
                options["extra"] = (*options["extra"], path)
            return train_callback(**options)

    with_feedback = click.Command(
        train.name,
        callback=train_with_feedback,
        params=[
            *train.params,
            click.Option(
                ["--with-feedback"],
                is_flag=True,
                help="Also train on the triage corrections staff made in the app.",
            ),
        ],
        help=train.help,
        short_help=train.short_help,
    )
    return click.Group(
        triage_cli.name,
        commands={**triage_cli.commands, "train": with_feedback},
        help=triage_cli.help,
    )


def export_feedback(path: Path) -> int:
    """Write staff corrections as ``{"text", "level"}`` lines; returns the count."""
    from hotline.extensions import db
    from hotline.services.risk import training_feedback

    with _app().app_context(), db.read() as session:
        rows = training_feedback(session)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows)


main.add_command(_triage_group())
