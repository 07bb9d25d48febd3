"""Service calls as units of work, for tests that drive services directly.

Services never commit (docs/architecture.md): in the app a handler's
``db.transaction()`` does. A test that calls services on its own sessions
wraps them so that each call commits, or rolls back when it raises, as a
handler's unit would.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from sqlalchemy.orm import Session

from hotline.database import EVENTS


@contextmanager
def unit(session: Session) -> Iterator[Session]:
    """Commit ``session`` when the block ends; roll back if it raises."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        # Nobody dispatches here: the tests look at the database.
        session.info.pop(EVENTS, None)


class Committing:
    """A service module whose functions each run as their own unit of work."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._module, name)
        if not callable(attribute) or isinstance(attribute, type):
            return attribute
        return committing(attribute)


def committing(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function(session, ...)`` run as one unit of work."""

    @functools.wraps(function)
    def run(session: Session, *args: Any, **kwargs: Any) -> Any:
        with unit(session):
            return function(session, *args, **kwargs)

    return run
