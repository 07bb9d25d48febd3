"""CPU per resident message on the hot path, in process (no sockets).

``python -m bench.hot_path [--messages N] [--body TEXT]``: five held
conversations on a fresh SQLite file, residents writing through
Flask-SocketIO's test clients and a counsellor answering every fifth
message. Prints the median CPU milliseconds per resident message of three
rounds. Far less noisy than the socket benchmark, so it separates small
changes to the handlers and services; it says nothing about latency.

``python -m bench.hot_path --waiting N[,N…]``: the surge's two costs at each
queue length (issue 20): CPU per join (a resident's page connecting to
``/chat``, its place in the queue included) and CPU per message of a
waiting resident, with one console open on the queue and position pushes
coalesced as in production. Flat across N means O(1) in the queue.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.chat_load import COUNSELOR_PASSWORD, FILLER

CHATS = 5
REPLY_EVERY = 5


def _signed_in_console(app: Any) -> Any:
    """The bench counsellor's /console test client, signed in."""
    from hotline.extensions import socketio

    http = app.test_client()
    http.post(
        "/api/auth/login", json={"username": "bench", "password": COUNSELOR_PASSWORD}
    )
    return socketio.test_client(app, namespace="/console", flask_test_client=http)


def measure(messages: int, body: str) -> list[float]:
    """CPU ms per resident message for three rounds of ``messages``."""
    from hotline import create_app
    from hotline.extensions import db, socketio
    from hotline.migrate import upgrade
    from hotline.models import Role
    from hotline.services.accounts import create_user
    from hotline.services.risk import warm_up

    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'hot-path.sqlite3'}"
    upgrade(url)
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "hot-path",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "MESSAGE_RATE": 100_000,
            "MESSAGE_BURST": 100_000,
            "MAX_CONVERSATIONS_PER_COUNSELOR": 1000,
            "MAX_HIGH_RISK_PER_COUNSELOR": 1000,
        }
    )
    warm_up()
    with app.app_context(), db.transaction() as session:
        create_user(session, "bench", COUNSELOR_PASSWORD, Role.COUNSELOR)
    console = _signed_in_console(app)
    chats: list[tuple[int, Any]] = []
    for _ in range(CHATS):
        started = app.test_client().post("/api/chat", json={"lang": "zh"}).json
        assert started is not None
        resident = socketio.test_client(
            app, namespace="/chat", auth={"token": started["token"]}
        )
        conversation_id = started["conversation_id"]
        ack = console.emit(
            "claim",
            {"conversation_id": conversation_id},
            namespace="/console",
            callback=True,
        )
        assert ack["ok"], ack
        chats.append((conversation_id, resident))

    def run(count: int, tag: str) -> float:
        started = time.process_time()
        for k in range(count):
            conversation_id, resident = chats[k % CHATS]
            ack = resident.emit(
                "message",
                {"client_id": f"{tag}-{k:08d}", "body": body},
                namespace="/chat",
                callback=True,
            )
            assert ack["ok"], ack
            if k % REPLY_EVERY == 0:
                ack = console.emit(
                    "message",
                    {
                        "conversation_id": conversation_id,
                        "client_id": f"{tag}-reply-{k:08d}",
                        "body": "嗯，我在听。",
                    },
                    namespace="/console",
                    callback=True,
                )
                assert ack["ok"], ack
            resident.get_received("/chat")
            console.get_received("/console")
        return (time.process_time() - started) / count * 1000

    run(100, "warm")
    return [run(messages, f"round{i}") for i in range(3)]


def _surge_app(url: str) -> Any:
    from hotline import create_app

    return create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "hot-path",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "MESSAGE_RATE": 100_000,
            "MESSAGE_BURST": 100_000,
        }
    )


def measure_surge(
    waiting: int, joins: int, messages: int, body: str
) -> tuple[float, float]:
    """CPU ms per join and per waiting resident's message, ``waiting`` in
    the queue: the last ``joins`` in line connect (the most expensive place
    to count), then they write ``messages`` in turn."""
    from hotline.extensions import db, socketio
    from hotline.migrate import upgrade
    from hotline.models import Role
    from hotline.services.accounts import create_user
    from hotline.services.conversations import start_conversation
    from hotline.services.risk import warm_up

    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'hot-path-surge.sqlite3'}"
    upgrade(url)
    app = _surge_app(url)
    warm_up()
    with app.app_context(), db.transaction() as session:
        create_user(session, "bench", COUNSELOR_PASSWORD, Role.COUNSELOR)
        tokens = [start_conversation(session, "zh")[1] for _ in range(waiting)]
    console = _signed_in_console(app)
    # A few joins and messages first, so that caches and statements are warm.
    warm = [
        socketio.test_client(app, namespace="/chat", auth={"token": token})
        for token in tokens[:10]
    ]
    for k, resident in enumerate(warm * 5):
        resident.emit(
            "message",
            {"client_id": f"warm-{k:08d}", "body": body},
            namespace="/chat",
            callback=True,
        )
    started = time.process_time()
    residents = [
        socketio.test_client(app, namespace="/chat", auth={"token": token})
        for token in tokens[-joins:]
    ]
    join_ms = (time.process_time() - started) / joins * 1000
    assert all(r.is_connected("/chat") for r in residents)
    started = time.process_time()
    for k in range(messages):
        ack = residents[k % joins].emit(
            "message",
            {"client_id": f"surge-{k:08d}", "body": body},
            namespace="/chat",
            callback=True,
        )
        assert ack["ok"], ack
        if k % 50 == 0:
            console.get_received("/console")
    message_ms = (time.process_time() - started) / messages * 1000
    for resident in [*warm, *residents]:
        resident.disconnect(namespace="/chat")
    console.disconnect(namespace="/console")
    return join_ms, message_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    # The socket benchmark's 60-character body.
    parser.add_argument("--body", default=(FILLER * 2)[:60])
    parser.add_argument(
        "--waiting",
        help="comma-separated queue lengths: measure join and waiting-message "
        "cost at each instead",
    )
    parser.add_argument("--joins", type=int, default=200)
    args = parser.parse_args()
    if args.waiting:
        for waiting in (int(n) for n in args.waiting.split(",")):
            join_ms, message_ms = measure_surge(
                waiting, min(args.joins, waiting), args.messages, args.body
            )
            print(
                f"{waiting} waiting: CPU per join {join_ms:.3f} ms, "
                f"per waiting resident's message {message_ms:.3f} ms"
            )
        return
    rounds = measure(args.messages, args.body)
    print(
        f"CPU per resident message: {statistics.median(rounds):.3f} ms "
        f"(rounds: {', '.join(f'{r:.3f}' for r in rounds)})"
    )


if __name__ == "__main__":
    main()
