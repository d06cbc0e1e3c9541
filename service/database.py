"""The SQL database: engine, sessions, and the Alembic upgrade."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"

_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_or_ignore(session: Session, table: Any, *conflict_columns: str) -> Any:
    """An INSERT that does nothing where a row with the same `conflict_columns` exists
    (ON CONFLICT DO NOTHING, which both databases speak): one statement instead of a
    look-up and an insert, and no savepoint to catch a duplicate."""
    return insert_or_ignore_in(session.get_bind().dialect.name, table, *conflict_columns)


def insert_or_ignore_in(dialect: str, table: Any, *conflict_columns: str) -> Any:
    """`insert_or_ignore` for a dialect named in advance, for statements built once."""
    insert = _DIALECT_INSERT[dialect]
    return insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


def take_turns(session: Session, name: str) -> None:
    """Hold a lock called `name` until this transaction ends, so that two transactions
    that check for a row and then insert one, for the same `name`, run one after the
    other instead of both finding nothing (a row that does not exist yet cannot be
    locked). SQLite needs nothing: its write transactions begin IMMEDIATE, one at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)
        else:
            self.engine = create_engine(
                url,
                # No ping on checkout: it is a round trip on every unit of work. A
                # connection found dead fails its one statement (a 503, a job retried)
                # and SQLAlchemy then discards the whole pool.
                pool_size=5,
                max_overflow=10,
                # Fail fast when the database is down, so the webhook can answer 503.
                connect_args={"connect_timeout": 5},
            )
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self, immediate: bool = True) -> Iterator[Session]:
        """A unit of work: committed if the block succeeds, rolled back if it raises.

        On SQLite it takes the write lock when it begins (``immediate``), so concurrent
        writers queue up; a long-lived observer that must neither block them nor read a
        stale snapshot (a test looking on) passes ``immediate=False``: on SQLite each of
        its statements then stands alone.
        """
        bind = self.engine if immediate else self.engine.execution_options(sqlite_deferred=True)
        session = self.sessionmaker(bind=bind)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A connection on which each statement commits on its own: for a single
        statement that needs no transaction around it, one round trip instead of three."""
        with self.engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads that need no transaction around them. On PostgreSQL
        each statement stands alone (autocommit), so nothing is rolled back when the
        connection goes back to the pool: psycopg forgets all of a connection's prepared
        statements at every ROLLBACK on it, and the senders' hot statement, which shares
        the pool with their watch, was parsed and planned afresh most of the time."""
        if self.is_sqlite:
            with self.engine.connect() as connection:
                yield connection
        else:
            with self.autocommit() as connection:
                yield connection

    def ping(self) -> None:
        with self.reading() as connection:
            connection.execute(text("SELECT 1"))

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        command.upgrade(alembic_config(self.url), "heads")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _sqlite_begin_immediate(connection) -> None:  # type: ignore[no-untyped-def]
    # A deferred transaction that reads, then writes after another process committed,
    # fails at once with "database is locked" whatever the busy timeout. Taking the
    # write lock up front makes concurrent writers (web, workers, clock) wait instead.
    options = connection.get_execution_options()
    # In autocommit each statement stands alone: a BEGIN here would open a transaction
    # nobody commits, and the pool would roll its writes back.
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    if not options.get("sqlite_deferred"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the web process read while a worker writes; foreign keys are off by default.
    # Let SQLAlchemy's "begin" event issue BEGIN, instead of pysqlite's implicit one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
