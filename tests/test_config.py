"""Configuration: read once, typed, and a bad value names the variable."""

from __future__ import annotations

from datetime import time

import pytest

from service.config import Config
from service.errors import ConfigError

KEY = "q0Z7m9mRkq5W3bVx0pE1t2yU8iO4aS6dF7gH9jK0lZc="


def load(tmp_path, **env):  # type: ignore[no-untyped-def]
    return Config.from_env({"RALLYLINE_VAR_DIR": str(tmp_path), **env})


def test_embedded_defaults(tmp_path):
    config = load(tmp_path)
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'rallyline.db'}"
    assert config.redis_url == "" and not config.uses_twilio
    assert (tmp_path / "secret.key").exists()
    assert load(tmp_path).secret_key == config.secret_key, "the development key is kept"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        ("postgresql://u@db/app", "postgresql+psycopg://u@db/app"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_as_platforms_give_it(tmp_path, given, expected):
    assert load(tmp_path, DATABASE_URL=given, RALLYLINE_SECRET_KEY=KEY).database_url == expected


def test_quiet_hours_and_timezone(tmp_path):
    config = load(tmp_path, QUIET_HOURS="21:00-08:00", TIMEZONE="America/Chicago")
    assert config.quiet_hours == (time(21, 0), time(8, 0))
    assert str(config.timezone) == "America/Chicago"
    assert load(tmp_path, QUIET_HOURS="").quiet_hours is None


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"SEND_RATE_PER_SECOND": "-1"}, "SEND_RATE_PER_SECOND"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"RALLYLINE_SECRET_KEY": "too-short"}, "RALLYLINE_SECRET_KEY"),
        ({"QUIET_HOURS": "9pm to 8am"}, "QUIET_HOURS"),
        ({"QUIET_HOURS": "25:00-08:00"}, "QUIET_HOURS"),
        ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE"),
        ({"TWILIO_FROM_NUMBER": "12"}, "TWILIO_FROM_NUMBER"),
        ({"PUBLIC_BASE_URL": "rallyline.org"}, "PUBLIC_BASE_URL"),
        ({"TWILIO_ACCOUNT_SID": "AC1"}, "TWILIO_AUTH_TOKEN"),
        ({"DATABASE_URL": "postgres://db/app"}, "RALLYLINE_SECRET_KEY"),
        ({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_FROM_NUMBER"),
    ],
)
def test_a_bad_value_names_the_variable(tmp_path, env, variable):
    with pytest.raises(ConfigError, match=variable):
        load(tmp_path, **env)


def test_the_cli_stops_with_one_line_naming_the_variable(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", "db", "upgrade"],
        env={"PATH": "/usr/bin:/bin", "PORT": "eighty", "RALLYLINE_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "rallyline: configuration error: PORT must be a whole number, got 'eighty'"
    ]


def test_every_setting_documents_itself():
    described = dict(Config.describe())
    assert {"DATABASE_URL", "REDIS_URL", "RALLYLINE_SECRET_KEY", "QUIET_HOURS"} <= set(described)
    assert all(help_text for help_text in described.values())


def test_twilio_settings(tmp_path):
    config = load(
        tmp_path,
        TWILIO_ACCOUNT_SID="AC1",
        TWILIO_AUTH_TOKEN="tok",
        TWILIO_MESSAGING_SERVICE_SID="MG1",
        RALLYLINE_SECRET_KEY=KEY,
    )
    assert config.uses_twilio and config.webhook_token == "tok"


def test_the_readme_documents_every_setting():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [env for env, _ in Config.describe() if f"`{env}`" not in readme]
    assert missing == []
