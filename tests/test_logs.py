"""Nothing a resident or a counsellor writes reaches a log (issue #19, point 7)."""

from __future__ import annotations

import logging

from sqlalchemy import text

from hotline.services import conversations

MARKER = "私人的话-ZQ7-private words"


def test_a_failed_statement_logs_no_values(app, start_chat, resident_socket, caplog):
    def failing_post(session, conversation_id, **values):
        # A statement that fails with the message in its parameters (a note
        # for a conversation that does not exist breaks a foreign key).
        session.execute(
            text(
                "INSERT INTO notes (conversation_id, author_id, body, created_at,"
                " kind) VALUES (999999, 999999, :body, CURRENT_TIMESTAMP, 'note')"
            ),
            {"body": values["body"]},
        )

    resident = resident_socket(start_chat()["token"])
    caplog.set_level(logging.DEBUG)
    original = conversations.post_message
    import hotline.resident.chat_namespace as chat

    chat.post_message = failing_post
    try:
        ack = resident.emit(
            "message",
            {"client_id": "log-test-0001", "body": MARKER},
            namespace="/chat",
            callback=True,
        )
    finally:
        chat.post_message = original
    assert ack["error"]["code"] == "internal_error"
    assert "IntegrityError" in caplog.text  # the failure itself is logged
    assert MARKER not in caplog.text
    assert "hide_parameters" in caplog.text


def test_the_engine_hides_parameters(app):
    from hotline.extensions import db

    assert db.engine.hide_parameters
    if db.read_engine is not None:
        assert db.read_engine.hide_parameters
