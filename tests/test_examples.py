"""Every request in examples/ still gives the cards documented beside it (at the examples' date)."""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import NOW

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = sorted(p.name.removesuffix(".cards.json") for p in EXAMPLES.glob("*.cards.json"))


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?")


def _normalised(answer: dict[str, Any]) -> dict[str, Any]:
    """The whole answer, with what differs per call or per day replaced by placeholders.

    Card and suggestion ``uuid``s are new on every call; dates and datetimes inside the suggested
    resources (``authoredOn``, ``occurrenceDateTime``, ``effectivePeriod``...) follow the clock.
    Everything else (codes, wording, indicators, links, selection behaviour) must match exactly.
    """
    answer = copy.deepcopy(answer)
    for card in answer.get("cards", []):
        if "uuid" in card:
            card["uuid"] = "<uuid>"
        for suggestion in card.get("suggestions", []):
            if "uuid" in suggestion:
                suggestion["uuid"] = "<uuid>"
            for action in suggestion.get("actions", []):
                if "resource" in action:
                    action["resource"] = _undated(action["resource"])
    return answer


def _undated(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _undated(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_undated(item) for item in value]
    if isinstance(value, str):
        if ISO_DATETIME.fullmatch(value) and "T" in value:
            return "<datetime>"
        if ISO_DATE.fullmatch(value):
            return "<date>"
        if UUID.fullmatch(value):
            return "<uuid>"  # e.g. a resource id the service mints
    return value


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path or '.'} (service: {a!r:.80}, documented: {b!r:.80})"


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
    client = app_factory(now=NOW)
    response = client.post(
        f"/cds-services/{documented['service']}",
        json=request,
        headers={"Accept-Language": documented["language"]},
    )
    assert response.status_code == 200, response.text
    expected = {k: v for k, v in documented.items() if k not in {"service", "language"}}
    actual, documented_answer = _normalised(response.json()), _normalised(expected)
    assert actual == documented_answer, (
        f"examples/{name}.cards.json is stale at {_first_difference(actual, documented_answer)}: "
        "run `python examples/_generate.py`"
    )


def test_the_comparison_sees_a_changed_coding_but_not_uuids_or_dates() -> None:
    documented = json.loads((EXAMPLES / "monitoring-overdue.cards.json").read_text())
    recoded = copy.deepcopy(documented)
    resource = recoded["cards"][0]["suggestions"][0]["actions"][0]["resource"]
    resource["code"]["coding"][0]["code"] = "17861-6"  # another calcium LOINC
    assert _normalised(recoded) != _normalised(documented)

    redated = copy.deepcopy(documented)
    redated["cards"][0]["uuid"] = str(uuid.uuid4())
    redated["cards"][0]["suggestions"][0]["uuid"] = str(uuid.uuid4())
    redated["cards"][0]["suggestions"][0]["actions"][0]["resource"]["authoredOn"] = "2027-01-02T03:04:05Z"
    assert _normalised(redated) == _normalised(documented)

    reworded = copy.deepcopy(documented)
    reworded["cards"][0]["detail"] += " "
    assert _normalised(reworded) != _normalised(documented)
