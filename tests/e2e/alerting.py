"""Shared set-up for the rapid-response scenarios (tests/e2e/test_alert_*.py)."""

from __future__ import annotations

import re
import time

from service.domain import people

ORGANIZER = "+12155550101"
ANA = "+12155550111"  # responder, tier 1
BEN = "+12155550112"  # responder, tier 1
CARLA = "+12155550121"  # responder, tier 2
CREW = {
    ORGANIZER: ("organizer", "Olga", 1),
    ANA: ("responder", "Ana", 1),
    BEN: ("responder", "Ben", 1),
    CARLA: ("responder", "Carla", 2),
}


def register_crew(stack) -> None:  # type: ignore[no-untyped-def]
    rt = stack.runtime()
    with rt.database.session() as session:
        for number, (role, name, tier) in CREW.items():
            people.register(session, rt.vault, number, role, name=name, tier=tier)
    rt.database.dispose()


def pages(fake, number: str) -> list[dict]:  # type: ignore[type-arg]
    """Pages (texts carrying a reply code) the Twilio server took for ``number``."""
    return [m for m in fake.messages(to=number) if "to acknowledge" in m["body"]]


def code_in(page: dict) -> str:  # type: ignore[type-arg]
    match = re.search(r"Reply (\d+)A to acknowledge", page["body"])
    assert match, page["body"]
    return match.group(1)


def unexpected(fake, allowed: dict[str, int]) -> dict[str, int]:
    """Numbers that got a different count of texts than allowed: {} when all is as planned."""
    counts: dict[str, int] = {}
    for message in fake.messages():
        counts[message["to"]] = counts.get(message["to"], 0) + 1
    return {
        n: counts.get(n, 0)
        for n in set(counts) | set(allowed)
        if counts.get(n, 0) != allowed.get(n, 0)
    }


def hold(seconds: float) -> None:
    """Let time pass on purpose: the scenario asserts nothing more happens meanwhile."""
    time.sleep(seconds)
