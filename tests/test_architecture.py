"""The conventions that keep the code easy to change, checked rather than
kept by discipline (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from hotline.database import NestedUnitOfWork, TransactionEndedOutsideUnit
from hotline.events import QueueChanged, record
from hotline.extensions import db

ROOT = Path(__file__).resolve().parents[1]
# Only the unit of work (hotline/database.py) ends transactions.
ENDS_A_TRANSACTION = {"commit", "rollback"}


def _modules() -> list[Path]:
    paths = [*ROOT.glob("hotline/**/*.py"), *ROOT.glob("counselors/**/*.py")]
    return sorted(
        path
        for path in paths
        if "migrations" not in path.parts and path.name != "database.py"
    )


def _ends_transactions(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ENDS_A_TRANSACTION
        and not node.args
    ]


@pytest.mark.parametrize(
    "path", _modules(), ids=lambda path: str(path.relative_to(ROOT))
)
def test_only_the_unit_of_work_commits_or_rolls_back(path: Path) -> None:
    lines = _ends_transactions(path)
    assert not lines, f"{path.name} ends a transaction itself at lines {lines}"


def test_a_service_that_commits_inside_a_unit_fails(app: Flask) -> None:
    with (
        app.app_context(),
        pytest.raises(TransactionEndedOutsideUnit),
        db.transaction() as session,
    ):
        session.commit()


def test_a_unit_cannot_open_inside_another(app: Flask) -> None:
    with (
        app.app_context(),
        pytest.raises(NestedUnitOfWork),
        db.transaction(),
        db.transaction(),
    ):
        pass


def test_events_are_dispatched_after_commit_and_dropped_on_rollback(
    app: Flask,
) -> None:
    dispatched: list[list[object]] = []
    with app.app_context():
        original, db.dispatcher = db.dispatcher, dispatched.append
        try:
            with db.transaction() as session:
                record(session, QueueChanged())
                assert dispatched == []  # not before the commit
            with pytest.raises(RuntimeError), db.transaction() as session:
                record(session, QueueChanged())
                raise RuntimeError("the unit fails")
        finally:
            db.dispatcher = original
    assert dispatched == [[QueueChanged()]]


def test_a_read_inside_a_unit_sees_its_writes(app: Flask) -> None:
    with app.app_context(), db.transaction() as session:
        session.execute(text("UPDATE job_leases SET runs = runs WHERE name = 'none'"))
        with db.read() as reader:
            assert reader is session
