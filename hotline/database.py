"""Engine and per-context sessions.

A session lives for one HTTP request or one Socket.IO event: Flask-SocketIO
runs every event inside its own request context, so the teardown hook below
closes the session after each event as well as after each request.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """Create an engine tuned for the backend named by ``url``."""
    options: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        options.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, **options)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy own transactions (pysqlite's implicit BEGIN is disabled),
    # WAL lets readers work while one writer commits, and foreign keys are off
    # by default in SQLite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # Take the write lock at BEGIN so two writers queue on busy_timeout
    # instead of failing with "database is locked" on lock upgrade.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Holds the engine and hands out one session per request or socket event."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session_factory: sessionmaker[Session] | None = None

    def init_app(self, app: Flask) -> None:
        """Bind to ``app``'s ``DATABASE_URL`` and close sessions at teardown."""
        # A process that builds a second app (the CLI inside tests, a test
        # that restarts the app) must not leave the first pool's connections
        # to be closed by the garbage collector.
        self.dispose()
        self.engine = make_engine(app.config["DATABASE_URL"])
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        app.extensions["hotline_db"] = self
        app.teardown_appcontext(self._close_session)

    @property
    def session(self) -> Session:
        """The session of the current request or socket event."""
        if "db_session" not in g:
            assert self.session_factory is not None, "Database.init_app not called"
            g.db_session = self.session_factory()
        return g.db_session

    def new_session(self) -> Session:
        """A session outside any request (CLI, background work); caller closes it."""
        assert self.session_factory is not None, "Database.init_app not called"
        return self.session_factory()

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    def dispose(self) -> None:
        """Close pooled connections (tests and shutdown)."""
        if self.engine is not None:
            self.engine.dispose()
