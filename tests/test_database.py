"""The database handle's units of work, on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, text


def test_a_statement_on_an_autocommit_connection_is_committed(runtime):  # type: ignore[no-untyped-def]
    # On SQLite the BEGIN IMMEDIATE that every unit of work takes used to open a
    # transaction here that nobody committed: the pool rolled the write back.
    database = runtime.database
    try:
        with database.autocommit() as connection:
            connection.execute(text("CREATE TABLE autocommit_probe (x INTEGER)"))
            connection.execute(text("INSERT INTO autocommit_probe VALUES (1)"))
        with database.reading() as connection:
            assert inspect(connection).has_table("autocommit_probe")
            assert connection.execute(text("SELECT count(*) FROM autocommit_probe")).scalar() == 1
    finally:
        with database.session() as session:
            session.execute(text("DROP TABLE IF EXISTS autocommit_probe"))
