"""/healthz says the process is up; /readyz checks the database and Redis and names what is down."""

from __future__ import annotations

from dataclasses import replace

from service import create_app


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_when_everything_is_up(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_names_redis_when_it_is_down(config):
    # Nothing listens on port 1: a real refused connection, not a mock.
    app = create_app(replace(config, redis_url="redis://127.0.0.1:1/0"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"].startswith("down")


def test_readyz_names_the_database_when_it_is_down(config):
    app = create_app(replace(config, database_url="postgresql+psycopg://postgres@127.0.0.1:1/x"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"].startswith("down")
    assert response.json["checks"]["redis"] == "ok"


def test_unknown_paths_and_methods_get_4xx_with_a_reason(client):
    assert client.get("/nope").status_code == 404
    response = client.get("/twilio/sms")
    assert response.status_code == 405 and b"Method Not Allowed" in response.data
