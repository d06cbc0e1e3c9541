"""Start and drive the fake Twilio server from tests and benchmarks.

    from tests.fake_twilio.control import FakeTwilio

    with FakeTwilio.start() as fake:           # subprocess on 127.0.0.1, free port
        client = fake.client(timeout=5.0)      # a real twilio.rest.Client pointed at it
        msg = client.messages.create(to="+15005550001", from_="+15005550006", body="hi",
                                     status_callback="http://127.0.0.1:8000/twilio/status")
        fake.set_faults(every_nth_429=3, errors_for_numbers={"+15005550009": 21610})
        fake.wait_for_messages(1)              # list[dict], polls with a deadline
        fake.wait_for_idle()                   # all status changes / callbacks done
        fake.stats(); fake.reset()

API: ``FakeTwilio.start(account_sid=, auth_token=, startup_timeout=15)``; ``.url``,
``.account_sid``, ``.auth_token``, ``.messages_url``; ``.client(timeout=10.0)`` (a real
twilio Client aimed here; one per thread); ``.messages(to=, status=)``, ``.message(sid)``,
``.stats()``, ``.faults()``, ``.set_faults(**faults)``, ``.reset()``, ``.health()``;
``.wait_for_messages(count, timeout=10, to=)``, ``.wait_for_status(sid, status)``,
``.wait_for_idle()``, ``.wait_until(probe, done, timeout, what)``; ``.stop()`` or ``with``.
The subprocess also exits when the process that started it dies (its stdin closes).

Pointing the real twilio-python (9.13) client at it, checked against its source and by
tests/test_fake_twilio.py:

    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(fake.account_sid, fake.auth_token,
                    http_client=TwilioHttpClient(timeout=5.0))
    client.api.base_url = fake.url             # e.g. "http://127.0.0.1:54321", no path

- ``client.api`` is the ``Api`` Domain; every Messages URL is built as
  ``Domain.base_url.strip("/") + "/2010-04-01/Accounts/{sid}/Messages.json"``, so setting
  ``base_url`` on it redirects create, fetch and list (and list's next pages). It
  only covers the ``api`` domain (lookups, messaging, ... keep their hosts).
- Do not set ``region=`` / ``edge=`` (or TWILIO_REGION / TWILIO_EDGE): the client then
  rewrites the host of every URL (``get_hostname``), which mangles 127.0.0.1.
- ``TwilioHttpClient(timeout=T)`` works: T is passed to ``requests`` as the connect and
  read timeout, and a timeout raises ``requests.exceptions.ReadTimeout`` /
  ``ConnectTimeout`` (``requests.exceptions.Timeout``), NOT a ``TwilioException``:
  catch both. ``messages.create`` has no per-call timeout argument. The server keeps
  going after the client gives up, so a timed-out create is usually recorded here
  (the real "outcome unknown" case).
- ``AsyncTwilioHttpClient(timeout=T)`` does NOT apply T in 9.13: its ``request`` passes
  only the per-call timeout (None from ``messages.create_async``) to aiohttp, and
  aiohttp reads ``timeout=None`` as "no timeout at all" (not even aiohttp's 300 s
  default). Wrap ``create_async`` in ``asyncio.wait_for`` / ``asyncio.timeout``.
- ``TwilioHttpClient`` honours HTTP(S)_PROXY from the environment (it merges
  environment settings). If a proxy is set, put 127.0.0.1 in NO_PROXY. The control
  calls here use ``trust_env=False``.
- Errors come back in Twilio's legacy JSON, so twilio-python raises
  ``TwilioRestException`` with ``.status`` (HTTP) and ``.code`` (Twilio code).

Faults (``set_faults`` replaces all of them; unknown names are refused):
``every_nth_429``, ``error_500_every_nth``, ``accept_then_500_every_nth`` (recorded,
answered 500), ``spared_numbers`` [E.164] (never failed by the every-Nth faults),
``delay_seconds``, ``errors_for_numbers`` {E.164: code} (400, not
recorded), ``undelivered_numbers`` {E.164: code} (sent -> undelivered + ErrorCode),
``failed_numbers`` {E.164: code} (a single failed callback), ``callbacks`` (default
True), ``callback_delay_seconds`` (default 0.05), ``callbacks_out_of_order`` (final
status posted before ``sent``), ``validate_e164`` (default True: a non-E.164 To is
21211). "Every Nth" counts authenticated creates since the faults were last set.

Each recorded message is a dict: sid, account_sid, to, from, messaging_service_sid, body,
status_callback, validity_period, num_segments, received_at (time.time()), date_created,
date_sent, status (queued/accepted -> sent -> delivered/undelivered/failed), error_code,
response_status (201, or 500 for accept-then-500), params (every posted field) and
callbacks (one dict per callback posted: status, error_code, http_status, error,
posted_at).
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import requests

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "test-token"
REPO_ROOT = Path(__file__).resolve().parents[2]

T = TypeVar("T")


class FakeTwilioError(RuntimeError):
    """The fake server could not be started or refused a control call."""


class FakeTwilio:
    """A running fake Twilio server (usually a subprocess started by ``start``)."""

    def __init__(
        self,
        url: str,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        process: subprocess.Popen[bytes] | None = None,
        log_path: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.process = process
        self.log_path = log_path
        self._http = requests.Session()
        self._http.trust_env = False

    # -- lifecycle ------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 15.0,
    ) -> FakeTwilio:
        """Spawn ``python -m tests.fake_twilio`` and wait for its LISTENING line."""
        fd, log_path = tempfile.mkstemp(prefix="fake-twilio-", suffix=".log")
        with os.fdopen(fd, "wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.fake_twilio",
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--account-sid",
                    account_sid,
                    "--auth-token",
                    auth_token,
                    "--exit-on-stdin-eof",
                ],
                cwd=REPO_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        assert process.stdout is not None
        lines: queue.Queue[bytes] = queue.Queue()
        stdout = process.stdout
        threading.Thread(
            target=lambda: lines.put(stdout.readline()), name="fake-twilio-start", daemon=True
        ).start()
        try:
            line = lines.get(timeout=startup_timeout).decode(errors="replace").strip()
        except queue.Empty:
            line = None
        if not line or not line.startswith("LISTENING "):
            _kill(process)
            why = (
                f"no LISTENING line within {startup_timeout:.0f} s"
                if line is None
                else f"exited with {process.returncode}"
                if not line
                else f"unexpected first line {line!r}"
            )
            stderr = _tail(log_path)
            with contextlib.suppress(OSError):
                os.unlink(log_path)
            raise FakeTwilioError(
                f"fake Twilio server did not start ({why}); its stderr:\n{stderr}"
            )
        return cls(line.split(" ", 1)[1], account_sid, auth_token, process, log_path)

    def stop(self) -> None:
        """Stop the subprocess (SIGTERM, then SIGKILL after 5 s) and wait for it."""
        self._http.close()
        if self.process is None:
            return
        _kill(self.process)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None
        if self.log_path:
            with contextlib.suppress(OSError):
                os.unlink(self.log_path)

    def __enter__(self) -> FakeTwilio:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- pointing twilio-python at it --------------------------------------------

    @property
    def messages_url(self) -> str:
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def client(self, timeout: float | None = 10.0) -> Any:
        """A real ``twilio.rest.Client`` aimed at this server (one per thread)."""
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        client = Client(
            self.account_sid, self.auth_token, http_client=TwilioHttpClient(timeout=timeout)
        )
        client.api.base_url = self.url
        return client

    # -- control API ----------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self._http.request(method, self.url + path, timeout=10, **kwargs)
        if resp.status_code != 200:
            raise FakeTwilioError(f"{method} {path} -> {resp.status_code}: {resp.text}")
        return resp.json()

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/_fake/health")

    def messages(self, to: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Recorded (accepted) messages in arrival order, optionally filtered."""
        params = {k: v for k, v in (("to", to), ("status", status)) if v is not None}
        return self._call("GET", "/_fake/messages", params=params)

    def message(self, sid: str) -> dict[str, Any]:
        found = self._call("GET", "/_fake/messages", params={"sid": sid})
        if not found:
            raise KeyError(sid)
        return found[0]

    def stats(self) -> dict[str, int]:
        """Counters: requests, accepted, unauthorized, rejected_429, rejected_500,
        accepted_then_500, errors (4xx), callbacks_posted/ok/failed, messages, pending."""
        return self._call("GET", "/_fake/stats")

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "/_fake/faults")

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace all fault settings (no arguments = none); returns the full settings."""
        return self._call("POST", "/_fake/faults", json=faults)

    def reset(self) -> None:
        """Forget messages, counters and faults; cancel pending callbacks."""
        self._call("POST", "/_fake/reset")

    # -- waiting ------------------------------------------------------------------

    def wait_until(
        self,
        probe: Callable[[], T],
        done: Callable[[T], bool],
        timeout: float = 10.0,
        what: str = "condition",
        interval: float = 0.02,
    ) -> T:
        """Call ``probe`` until ``done(result)``; AssertionError with the last result."""
        deadline = time.monotonic() + timeout
        while True:
            seen = probe()
            if done(seen):
                return seen
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}; last saw: {seen!r}"
                )
            time.sleep(interval)

    def wait_for_messages(
        self, count: int, timeout: float = 10.0, to: str | None = None
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` messages (to ``to``) are recorded."""
        return self.wait_until(
            lambda: self.messages(to=to),
            lambda m: len(m) >= count,
            timeout,
            f"{count} message(s)" + (f" to {to}" if to else ""),
        )

    def wait_for_status(self, sid: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until message ``sid`` has reached ``status``."""
        return self.wait_until(
            lambda: self.message(sid),
            lambda m: m["status"] == status,
            timeout,
            f"{sid} to be {status}",
        )

    def wait_for_idle(self, timeout: float = 30.0) -> dict[str, int]:
        """Wait until no status change or callback is pending; returns the stats."""
        return self.wait_until(
            self.stats,
            lambda s: s["pending"] == 0,
            timeout,
            "pending status changes and callbacks to finish",
            interval=0.05,
        )


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    elif process.stdin is not None:
        process.stdin.close()


def _tail(path: str, limit: int = 4000) -> str:
    try:
        return Path(path).read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"
