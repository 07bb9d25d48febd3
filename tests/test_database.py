"""Sessions: on a SQLite file, reads go apart from the one writer."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError

from hotline.extensions import db
from hotline.models import Conversation
from hotline.services.conversations import start_conversation


def _is_sqlite(app: Flask) -> bool:
    return app.config["DATABASE_URL"].startswith("sqlite")


def test_read_session_sees_commits_while_a_writer_holds_the_lock(app: Flask) -> None:
    with app.test_request_context():
        conversation_id, _ = start_conversation(db.session, "zh")
        # The writer takes SQLite's write lock and keeps it (uncommitted).
        db.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_seq=41)
        )
        # On SQLite the reader neither waits for that lock nor sees the
        # uncommitted work; elsewhere it is the writer's own session.
        seq = db.read_session.scalar(
            select(Conversation.last_seq).where(Conversation.id == conversation_id)
        )
        db.read_session.rollback()
        assert seq == (0 if _is_sqlite(app) else 41)
        if not _is_sqlite(app):
            return
        db.session.commit()
        seq = db.read_session.scalar(
            select(Conversation.last_seq).where(Conversation.id == conversation_id)
        )
        assert seq == 41


def test_read_session_cannot_write_on_sqlite(app: Flask) -> None:
    with app.test_request_context():
        if not _is_sqlite(app):
            # Elsewhere readers never wait for writers: one session is enough.
            assert db.read_session is db.session
            return
        assert db.read_session is not db.session
        with pytest.raises(OperationalError, match="readonly"):
            db.read_session.execute(text("UPDATE conversations SET last_seq = 1"))
