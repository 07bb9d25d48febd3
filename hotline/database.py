"""Engine and per-context sessions.

A session lives for one HTTP request or one Socket.IO event: Flask-SocketIO
runs every event inside its own request context, so the teardown hook below
closes the session after each event as well as after each request.

Transactions end in one place, the unit of work (docs/architecture.md):

    with db.transaction() as session:      # begin ... commit, or rollback
        post_message(session, ...)         # services never commit
    with db.read() as session:             # reads never take the write lock
        status = conversation_status(session, ...)

A unit of work also collects the domain events its services record
(``hotline.events.record``) and hands them to the dispatcher after its
commit, never after a rollback: who gets told what cannot be forgotten by a
handler, and nobody is told about work that did not happen.

On a SQLite file, ``read()`` has its own connections, deferred transactions
and ``PRAGMA query_only``, so it never takes the write lock that every
``transaction()`` takes at BEGIN (docs/decisions.md, "SQLite: one writer,
readers apart").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from flask import Flask, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hotline.errors import DatabaseBusy

# How long SQLite itself waits for a lock (in C, blocking the whole worker
# under gevent); longer waits for the write lock happen in _begin_immediate.
SQLITE_BUSY_SECONDS = 0.05

# Session.info keys of the unit of work.
_IN_UNIT = "hotline.unit_of_work"
_ENDING = "hotline.unit_ending"
EVENTS = "hotline.events"

Dispatcher = Callable[[Sequence[object]], None]


class TransactionEndedOutsideUnit(RuntimeError):
    """A service committed or rolled back inside a unit of work.

    Only ``Database.transaction`` ends a unit's transaction: a service that
    commits halfway would make the rest of the unit's work (and its events)
    separate from what was already committed.
    """


class NestedUnitOfWork(RuntimeError):
    """A unit of work was opened inside another in the same context.

    On SQLite the inner one would wait for the outer one's write lock until
    ``busy_timeout``; pass the outer session down instead.
    """


class UnitOfWorkSession(Session):
    """A session whose transaction, inside a unit of work, only the unit ends."""

    def commit(self) -> None:
        self._refuse_inside_unit("commit")
        super().commit()

    def rollback(self) -> None:
        self._refuse_inside_unit("rollback")
        super().rollback()

    def _refuse_inside_unit(self, action: str) -> None:
        if self.info.get(_IN_UNIT) and not self.info.get(_ENDING):
            raise TransactionEndedOutsideUnit(
                f"{action}() inside a unit of work: let db.transaction() end it"
            )


def make_engine(
    url: str, *, read_only: bool = False, write_wait_seconds: float = 10.0
) -> Engine:
    """Create an engine tuned for the backend named by ``url``.

    ``read_only`` (SQLite only) makes an engine whose connections refuse to
    write and whose transactions start deferred, so they never wait for or
    hold the write lock. A writer waits up to ``write_wait_seconds`` for the
    write lock, in Python, so that under gevent the rest of the worker runs
    meanwhile; then the write is refused with ``DatabaseBusy``.
    """
    # hide_parameters: a failed statement's message (and so any log of it)
    # never carries the values, which may be what a resident wrote.
    options: dict[str, Any] = {"future": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        # SQLite's own busy wait sleeps in C, which would freeze every
        # greenlet of a gevent worker: keep it short and wait in Python.
        options["connect_args"] = {
            "check_same_thread": False,
            "timeout": SQLITE_BUSY_SECONDS,
        }
    else:
        options.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, **options)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _configure_sqlite)
        if read_only:
            event.listen(engine, "connect", _refuse_writes)
            event.listen(engine, "begin", _begin_deferred)
        else:
            event.listen(engine, "begin", _begin_immediate(write_wait_seconds))
    return engine


def has_separate_reader(url: str) -> bool:
    """Whether reads get their own engine: only for a SQLite file, where
    every write transaction takes the database's one write lock. An
    in-memory database is private to its connection, and PostgreSQL readers
    never wait for writers."""
    return (
        url.startswith("sqlite")
        and ":memory:" not in url
        and url
        not in (
            "sqlite://",
            "sqlite+pysqlite://",
        )
    )


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy own transactions (pysqlite's implicit BEGIN is disabled),
    # WAL lets readers work while one writer commits, and foreign keys are off
    # by default in SQLite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    cursor.close()


def _begin_immediate(wait_seconds: float) -> Callable[[Any], None]:
    """Take the write lock at BEGIN, so two writers queue instead of failing
    with "database is locked" on lock upgrade; wait for it cooperatively."""

    def begin(connection: Any) -> None:
        deadline = time.monotonic() + wait_seconds
        pause = 0.002
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if "locked" not in str(error.orig) or time.monotonic() > deadline:
                    if "locked" in str(error.orig):
                        raise DatabaseBusy() from error
                    raise
            # time.sleep yields to other greenlets under gevent.
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    return begin


def _refuse_writes(dbapi_connection: Any, _record: Any) -> None:
    # A reader that tried to write would upgrade a deferred transaction and
    # could fail with SQLITE_BUSY_SNAPSHOT; make any such write fail at once
    # ("attempt to write a readonly database") so it is caught in tests.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _begin_deferred(connection: Any) -> None:
    # A deferred transaction on a WAL database reads a snapshot and never
    # takes the write lock, so it neither waits for nor blocks a writer.
    connection.exec_driver_sql("BEGIN")


class Database:
    """Holds the engines and hands out one session per request or socket event
    (and, on SQLite, one read-only session)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session_factory: sessionmaker[Session] | None = None
        self.read_engine: Engine | None = None
        self.read_session_factory: sessionmaker[Session] | None = None
        self.dispatcher: Dispatcher | None = None

    def init_app(self, app: Flask) -> None:
        """Bind to ``app``'s ``DATABASE_URL`` and close sessions at teardown."""
        # A process that builds a second app (the CLI inside tests, a test
        # that restarts the app) must not leave the first pool's connections
        # to be closed by the garbage collector.
        self.dispose()
        url = app.config["DATABASE_URL"]
        self.engine = make_engine(
            url, write_wait_seconds=app.config.get("SQLITE_WRITE_WAIT_SECONDS", 10.0)
        )
        self.session_factory = sessionmaker(
            self.engine, class_=UnitOfWorkSession, expire_on_commit=False
        )
        if has_separate_reader(url):
            self.read_engine = make_engine(url, read_only=True)
            self.read_session_factory = sessionmaker(
                self.read_engine, class_=UnitOfWorkSession, expire_on_commit=False
            )
        else:
            self.read_engine = self.read_session_factory = None
        app.extensions["hotline_db"] = self
        app.teardown_appcontext(self._close_session)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit when the block ends, roll back if it raises,
        then dispatch the events its services recorded (after the commit).

        Uses the session of the current request, socket event or app
        context, so code that still takes ``db.session`` shares it.
        """
        session = self.session
        if session.info.get(_IN_UNIT):
            raise NestedUnitOfWork("a unit of work is already open here")
        session.info[_IN_UNIT] = True
        try:
            yield session
            session.info[_ENDING] = True
            session.commit()
        except BaseException:
            session.info[_ENDING] = True
            session.rollback()
            raise
        finally:
            events = session.info.pop(EVENTS, [])
            session.info.pop(_IN_UNIT, None)
            session.info.pop(_ENDING, None)
        if events and self.dispatcher is not None:
            self.dispatcher(events)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read: sees everything committed before it began, and on a SQLite
        file never waits for or takes the write lock. Inside a unit of work
        it is that unit's session (so it also sees the unit's own writes)."""
        unit = g.get("db_session")
        if unit is not None and unit.info.get(_IN_UNIT):
            yield unit
            return
        session = self.read_session
        try:
            yield session
        finally:
            # Ends the read transaction: on SQLite an open one would pin its
            # snapshot (and, on the writer, hold the write lock).
            session.rollback()

    @property
    def session(self) -> Session:
        """The session of the current request or socket event."""
        if "db_session" not in g:
            assert self.session_factory is not None, "Database.init_app not called"
            g.db_session = self.session_factory()
        return g.db_session

    @property
    def read_session(self) -> Session:
        """A session for work that never writes, in the current request or event.

        On a SQLite file it has its own connection and cannot write; it sees
        everything committed before its transaction began (so a read after
        ``session`` committed sees that commit). Elsewhere it is ``session``.
        """
        if self.read_session_factory is None:
            return self.session
        if "db_read_session" not in g:
            g.db_read_session = self.read_session_factory()
        return g.db_read_session

    def new_session(self) -> Session:
        """A session outside any request (CLI, background work); caller closes it."""
        assert self.session_factory is not None, "Database.init_app not called"
        return self.session_factory()

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        for key in ("db_session", "db_read_session"):
            session = g.pop(key, None)
            if session is not None:
                session.close()

    def dispose(self) -> None:
        """Close pooled connections (tests and shutdown)."""
        for engine in (self.engine, self.read_engine):
            if engine is not None:
                engine.dispose()
