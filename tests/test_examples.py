"""Every request in examples/ still gives the cards documented beside it (at the examples' date)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
AS_OF = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
NAMES = sorted(p.name.removesuffix(".cards.json") for p in EXAMPLES.glob("*.cards.json"))


def _essence(cards: list[dict]) -> list[tuple]:
    """What a reader checks: topic, indicator, summary, suggestion labels (uuids differ per call)."""
    return [
        (
            c["source"]["topic"]["code"],
            c["indicator"],
            c["summary"],
            tuple(s["label"] for s in c.get("suggestions", [])),
        )
        for c in cards
    ]


def test_there_is_an_example_per_headline_topic() -> None:
    documented = {
        c["source"]["topic"]["code"]
        for name in NAMES
        for c in json.loads((EXAMPLES / f"{name}.cards.json").read_text())["cards"]
    }
    assert {
        "tzd-fracture-risk",
        "monitoring-overdue",
        "denosumab-sequencing-missing",
        "denosumab-dose-due",
    } <= documented


@pytest.mark.parametrize("name", NAMES)
def test_example_gives_its_documented_cards(name: str, app_factory: Callable[..., TestClient]) -> None:
    documented = json.loads((EXAMPLES / f"{name}.cards.json").read_text())
    request = json.loads((EXAMPLES / f"{name}.json").read_text())
    client = app_factory(now=AS_OF)
    response = client.post(
        f"/cds-services/{documented['service']}",
        json=request,
        headers={"Accept-Language": documented["language"]},
    )
    assert response.status_code == 200, response.text
    assert _essence(response.json()["cards"]) == _essence(documented["cards"])
