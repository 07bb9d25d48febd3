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


def test_a_read_neither_waits_for_nor_sees_a_writer_holding_the_lock(
    app: Flask,
) -> None:
    def last_seq(conversation_id: int) -> int:
        # Another event (its own app context), as a second socket would be.
        with app.app_context(), db.read() as reader:
            return reader.scalar(
                select(Conversation.last_seq).where(Conversation.id == conversation_id)
            )

    with app.app_context(), db.transaction() as session:
        conversation_id, _ = start_conversation(session, "zh")
    with app.app_context(), db.transaction() as writer:
        # The writer takes the write lock and keeps it (uncommitted).
        writer.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_seq=41)
        )
        assert last_seq(conversation_id) == 0
    assert last_seq(conversation_id) == 41


def test_read_session_cannot_write_on_sqlite(app: Flask) -> None:
    with app.test_request_context():
        if not _is_sqlite(app):
            # Elsewhere readers never wait for writers: one session is enough.
            assert db.read_session is db.session
            return
        assert db.read_session is not db.session
        with pytest.raises(OperationalError, match="readonly"):
            db.read_session.execute(text("UPDATE conversations SET last_seq = 1"))
