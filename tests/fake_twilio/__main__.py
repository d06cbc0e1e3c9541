"""Run the fake Twilio server: ``python -m tests.fake_twilio --port 0``.

Prints exactly one line to stdout once it is listening, ``LISTENING http://HOST:PORT``,
and nothing else. Stops on SIGTERM / SIGINT, and with ``--exit-on-stdin-eof`` also
when its stdin closes (so it dies with the process that started it).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import signal
import sys
import threading

from aiohttp import web

from tests.fake_twilio.server import create_app

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "test-token"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(
    host: str, port: int, account_sid: str, auth_token: str, exit_on_stdin_eof: bool
) -> None:
    app = create_app(account_sid, auth_token)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    sys.stdout.write(f"LISTENING http://{shown}:{bound_port}\n")
    sys.stdout.flush()

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if exit_on_stdin_eof:

        def watch_stdin() -> None:
            # os.read on the raw fd: a daemon thread blocked in sys.stdin.buffer.read()
            # holds the buffer's lock and stalls interpreter exit by a second.
            try:
                while os.read(0, 4096):
                    pass
            finally:
                loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=watch_stdin, name="stdin-eof", daemon=True).start()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_twilio", description="Fake Twilio Messages API"
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address only")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="stop when stdin closes (used by FakeTwilio.start)",
    )
    args = parser.parse_args(argv)
    if not _loopback(args.host):
        parser.error(f"--host must be a loopback address, not {args.host!r}")
    asyncio.run(
        serve(args.host, args.port, args.account_sid, args.auth_token, args.exit_on_stdin_eof)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
