"""The migrations build exactly the models' schema, and step down and up again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from hotline.migrate import alembic_config, upgrade
from hotline.models import Base


def test_migrations_match_the_models_and_downgrade_cleanly(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(connection), Base.metadata
            )
        assert diff == []
        command.downgrade(alembic_config(database_url), "base")
        upgrade(database_url)
        with engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(connection), Base.metadata
            )
        assert diff == []
    finally:
        engine.dispose()
