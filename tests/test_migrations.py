"""The Alembic migrations build exactly the schema the models describe, as one head."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text

from service.database import Database, alembic_config
from service.models import Base


def test_one_head():
    assert len(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()) == 1


def test_migrated_schema_matches_the_models(database_url):
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        database.dispose()
    assert diff == []


def test_migrated_indexes_are_the_models_to_the_letter(database_url):
    """compare_metadata compares an index's columns, not a partial index's WHERE: the
    database's own definitions of both are compared here instead."""
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            migrated = index_definitions(connection)
            if connection.dialect.name == "postgresql":
                # The models' schema, built beside the migrated one and rolled back.
                connection.execute(text("CREATE SCHEMA models_built"))
                connection.execute(text("SET LOCAL search_path TO models_built"))
                Base.metadata.create_all(connection)
                modelled = index_definitions(connection)
                connection.rollback()
            else:
                engine = create_engine("sqlite://")
                with engine.connect() as scratch:
                    Base.metadata.create_all(scratch)
                    modelled = index_definitions(scratch)
                engine.dispose()
    finally:
        database.dispose()
    assert "ix_outbound_messages_claimed" in modelled
    assert migrated == modelled


def index_definitions(connection: Connection) -> dict[str, str]:
    """Every index of the current schema (Alembic's own aside) as the database states it,
    schema name left out."""
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text(
                "SELECT indexname, replace(indexdef, schemaname || '.', '') FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
            )
        )
    else:
        rows = connection.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        )
    return {name: " ".join(definition.split()) for name, definition in rows}
