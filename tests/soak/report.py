"""The one-screen report."""

from __future__ import annotations

from typing import Any

from tests.soak.scenario import Run


def render(run: Run, results: dict[str, Any]) -> str:
    s = run.settings
    lines = [
        f"rallyline soak: {s.seconds:.0f} s, {s.subscribers} subscribers, {s.rate:g} texts/s in, "
        f"send rate {s.send_rate}/s, seed {s.seed}",
        "",
        "what happened:",
        *(f"  {at:6.1f}s  {what[:100]}" for at, what in run.events),
        "",
        f"inbound requests {results['requests']} (retried after refusals: {results['retries']}); "
        f"texts handed to Twilio {results['messages']}",
        "",
    ]
    width = max(len(name) for name in results["checks"])
    for name, (ok, detail) in results["checks"].items():
        lines.append(f"  {'PASS' if ok else 'FAIL'}  {name:<{width}}  {detail}")
    failed = sum(not ok for ok, _ in results["checks"].values())
    lines += ["", "all invariants held" if not failed else f"{failed} check(s) FAILED"]
    return "\n".join(lines)
