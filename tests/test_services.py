"""Services without sockets: ordering, idempotency, atomicity, accounts."""

from __future__ import annotations

import threading
from datetime import UTC

import pytest

from hotline.errors import (
    AlreadyClaimed,
    Conflict,
    ConversationClosed,
    InvalidInput,
    NotHolder,
    Unauthorized,
)
from hotline.extensions import db
from hotline.models import Role, Sender
from hotline.services import accounts as account_service
from hotline.services import closing as closing_service
from hotline.services import conversations as conversation_service
from hotline.services import queue as queue_service
from tests.units import Committing

accounts = Committing(account_service)
closing = Committing(closing_service)
conversations = Committing(conversation_service)
queue = Committing(queue_service)


@pytest.fixture
def new_session(app):
    sessions = []

    def make():
        session = db.new_session()
        sessions.append(session)
        return session

    with app.app_context():
        yield make
    for session in sessions:
        session.close()


def post(session, conversation_id, client_id, body="hi", **kwargs):
    return conversations.post_message(
        session,
        conversation_id,
        sender=kwargs.pop("sender", Sender.RESIDENT),
        body=body,
        client_id=client_id,
        **kwargs,
    )


def test_concurrent_writers_get_distinct_contiguous_seqs(new_session):
    conversation_id, _ = conversations.start_conversation(new_session(), "zh")
    seqs: list[int] = []
    lock = threading.Lock()

    def writer(worker: int) -> None:
        session = new_session()
        for index in range(10):
            posted = post(session, conversation_id, f"w{worker}-msg-{index:03d}")
            with lock:
                seqs.append(posted.message.seq)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(seqs) == list(range(1, 41))


def test_resend_returns_the_original_message(new_session):
    session = new_session()
    conversation_id, _ = conversations.start_conversation(session, "zh")
    first = post(session, conversation_id, "client-0001", "first words")
    again = post(session, conversation_id, "client-0001", "edited words")
    assert first.created and not again.created
    assert again.message == first.message
    assert again.message.body == "first words"


def test_a_resend_that_reaches_the_insert_leaves_no_gap(new_session):
    # With no read first, a resend bumps the seq and then hits the unique
    # client_id: the bump must be undone with the insert, or every later
    # message would leave a gap that clients wait on forever.
    first, second = new_session(), new_session()
    conversation_id, _ = conversations.start_conversation(first, "zh")
    assert post(first, conversation_id, "client-aaaa").message.seq == 1
    again = post(second, conversation_id, "client-aaaa")
    assert (again.created, again.message.seq) == (False, 1)
    assert post(second, conversation_id, "client-bbbb").message.seq == 2


def test_timestamps_are_timezone_aware(new_session):
    session = new_session()
    conversation_id, _ = conversations.start_conversation(session, "zh")
    posted = post(session, conversation_id, "client-0001")
    stored = conversations.messages_after(session, conversation_id, 0)
    assert posted.message.sent_at.tzinfo is not None
    assert stored[0].sent_at.tzinfo == UTC


def test_token_lookup(new_session):
    session = new_session()
    conversation_id, token = conversations.start_conversation(session, "en")
    assert conversations.conversation_for_token(session, token) == conversation_id
    with pytest.raises(Unauthorized):
        conversations.conversation_for_token(session, token[:-1] + "x")


def test_claim_release_and_holder_rules(new_session, make_user):
    session = new_session()
    ana, ben = make_user("ana"), make_user("ben")
    conversation_id, _ = conversations.start_conversation(session, "zh")
    queue.claim_conversation(session, conversation_id, ana)
    with pytest.raises(AlreadyClaimed):
        queue.claim_conversation(session, conversation_id, ben)
    with pytest.raises(NotHolder):
        post(
            session,
            conversation_id,
            "ben-0001",
            sender=Sender.COUNSELOR,
            counselor_id=ben,
        )
    with pytest.raises(NotHolder):
        queue.release_conversation(session, conversation_id, ben)
    queue.release_conversation(session, conversation_id, ana)
    assert queue.conversation_status(session, conversation_id).position == 1
    queue.claim_conversation(session, conversation_id, ben)


def test_queue_order_and_positions(new_session):
    session = new_session()
    ids = [conversations.start_conversation(session, "zh")[0] for _ in range(3)]
    assert [item.conversation_id for item in queue.waiting_queue(session)] == ids
    assert [queue.conversation_status(session, i).position for i in ids] == [1, 2, 3]


def test_wrap_up_once_and_closed_conversations_stay_closed(new_session, make_user):
    session = new_session()
    ana = make_user("ana")
    conversation_id, _ = conversations.start_conversation(session, "zh")
    queue.claim_conversation(session, conversation_id, ana)
    wrap_up = closing.WrapUpInput(
        outcome=closing.Outcome.SUPPORTED, needs=(), follow_up=False, summary=""
    )
    closing.close_with_wrap_up(session, conversation_id, ana, wrap_up)
    with pytest.raises(Conflict):
        closing.close_with_wrap_up(session, conversation_id, ana, wrap_up)
    with pytest.raises(ConversationClosed):
        queue.claim_conversation(session, conversation_id, ana)
    with pytest.raises(ConversationClosed):
        post(session, conversation_id, "late-0001")


def test_accounts(new_session):
    session = new_session()
    user_id = accounts.create_user(
        session, "ana.li", "a long password", Role.SUPERVISOR
    )
    member = accounts.authenticate(session, "ana.li", "a long password")
    assert (member.user_id, member.role) == (user_id, Role.SUPERVISOR)
    assert accounts.authenticate(session, "ana.li", "wrong password!") is None
    with pytest.raises(Conflict):
        accounts.create_user(session, "ana.li", "another password", Role.COUNSELOR)
    with pytest.raises(InvalidInput):
        accounts.create_user(session, "bob", "short", Role.COUNSELOR)
    with pytest.raises(InvalidInput):
        accounts.create_user(session, "has space", "a long password", Role.COUNSELOR)


def test_first_admin_is_created_once(new_session):
    session = new_session()
    password = accounts.create_first_admin(session)
    assert password
    assert accounts.authenticate(session, "admin", password).role is Role.ADMIN
    assert accounts.create_first_admin(session) is None


def test_resend_after_the_conversation_closed_gets_the_original_ack(new_session):
    session = new_session()
    conversation_id, _ = conversations.start_conversation(session, "zh")
    first = post(session, conversation_id, "client-0001", "last words")
    closing.end_by_resident(session, conversation_id)
    again = post(session, conversation_id, "client-0001", "last words")
    assert again.message.seq == first.message.seq
    assert not again.created
    with pytest.raises(ConversationClosed):
        post(session, conversation_id, "client-0002", "new words")
