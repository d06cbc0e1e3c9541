"""`rallyline alerts list | show N | close N`."""

from __future__ import annotations

from tests.domain.alerts.conftest import ANA, ORGANIZER, SUPPORTER

T = 300


def test_show_prints_the_timeline_without_numbers(phone, crew, runner):
    phone(ORGANIZER).text("ALERT ICE van at 5th and Main")
    crew.sweep(T + 1)
    phone(ANA).text("1A")
    result = runner.invoke(args=["alerts", "show", "1"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "#1 ALERT" in out and "message: ICE van at 5th and Main" in out
    assert "status:  acknowledged, tier 2" in out
    for line in (
        "opened         alert opened by Olga (organizer)",
        "paged          tier 1 paged: Ana, Ben",
        "escalated      escalated to tier 2: Carla",
        "acked          acknowledged by Ana",
    ):
        assert line in out, out
    assert "555" not in out


def test_list_and_close(phone, crew, runner):
    phone(SUPPORTER).text("REPORT vans on Elm")
    assert "report" in runner.invoke(args=["alerts", "list"]).output
    result = runner.invoke(args=["alerts", "close", "1"])
    assert result.exit_code == 0 and "alert #1 closed" in result.output
    assert crew.to_number(SUPPORTER) == [
        "Camp Hope: responders are on it. Thank you for your report."
    ]
    again = runner.invoke(args=["alerts", "close", "1"])
    assert again.exit_code != 0 and "already closed" in again.output


def test_unknown_alert_is_a_clear_message(runner, crew):
    result = runner.invoke(args=["alerts", "show", "42"])
    assert result.exit_code != 0 and "no alert #42" in result.output
    assert "Traceback" not in result.output
