"""Every scenario of the library, through the real application at its fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.scenarios._scenario import PATIENT_ID, load

HERE = Path(__file__).parent
FILES = sorted(HERE.rglob("*.yaml"))


def test_the_library_is_not_empty() -> None:
    assert len(FILES) >= 3


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(HERE)) for p in FILES])
def test_scenario(path: Path, app_factory: Callable[..., TestClient]) -> None:
    scenario = load(path)
    client = app_factory(now=scenario.now, **scenario.settings)
    response = client.post(
        f"/cds-services/bone-health-{scenario.hook}",
        json=scenario.request,
        headers={"Accept-Language": scenario.language},
    )
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    shown = [c["source"]["topic"]["code"] for c in cards]
    assert len(shown) == len(set(shown)), f"one card per topic: {shown}"
    by_topic = {c["source"]["topic"]["code"]: c for c in cards}
    for topic, indicator in scenario.expect.items():
        assert topic in by_topic, f"{scenario.title}: expected {topic}, got {shown}"
        assert by_topic[topic]["indicator"] == indicator, f"{topic}: {by_topic[topic]['indicator']}"
        assert len(by_topic[topic]["summary"]) < 140
    for topic in scenario.absent:
        assert topic not in by_topic, f"{scenario.title}: {topic} should not fire"
    if scenario.only:
        assert set(shown) == set(scenario.expect), f"{scenario.title}: unexpected cards {shown}"
    for topic, words in scenario.detail_contains.items():
        detail = by_topic[topic]["detail"]
        for word in words:
            assert word in detail, f"{topic}: '{word}' missing from detail"
    for topic, count in scenario.suggestions.items():
        assert len(by_topic[topic].get("suggestions", [])) == count
    if scenario.reminders or scenario.no_reminders:
        listed = client.get("/reminders", params={"patient": PATIENT_ID}).json()
        rows = listed if isinstance(listed, list) else listed.get("reminders", [])
        due = {(r["topic"], r["due_date"][:10]) for r in rows if r["status"] == "pending"}
        if scenario.no_reminders:
            assert not due, f"{scenario.title}: no reminder expected, found {due}"
        for topic, day in scenario.reminders.items():
            assert (topic, day.isoformat()) in due, f"{scenario.title}: reminder {topic} {day} not in {due}"
