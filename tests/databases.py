"""Per-test databases, migrated once per session: SQLite files by default, or
PostgreSQL databases cloned from a template when HOTLINE_TEST_DATABASE_URL is
set (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).

Each PostgreSQL run uses names carrying its process id, so parallel runs on
one server never collide.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from hotline.migrate import upgrade

POSTGRES_URL = os.environ.get("HOTLINE_TEST_DATABASE_URL")
_counter = itertools.count()


def backend() -> str:
    return "postgresql" if POSTGRES_URL else "sqlite"


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@contextmanager
def _postgres_admin() -> Iterator[object]:
    engine = create_engine(
        POSTGRES_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@contextmanager
def migrated_template(workdir: Path) -> Iterator[str]:
    """A database migrated to head; yields what ``fresh_database`` copies."""
    if not POSTGRES_URL:
        path = workdir / "template.sqlite3"
        upgrade(f"sqlite:///{path}")
        yield str(path)
        return
    name = f"hotline_tpl_{os.getpid()}"
    with _postgres_admin() as admin:
        admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(_with_database(POSTGRES_URL, name))
    try:
        yield name
    finally:
        with _postgres_admin() as admin:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def fresh_database(template: str, workdir: Path) -> Iterator[str]:
    """A private copy of the template for one test; yields its URL."""
    if not POSTGRES_URL:
        path = workdir / "hotline.sqlite3"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    name = f"hotline_t_{os.getpid()}_{next(_counter)}"
    with _postgres_admin() as admin:
        admin.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _with_database(POSTGRES_URL, name)
    finally:
        with _postgres_admin() as admin:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
