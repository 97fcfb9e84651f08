"""The worked cases of rules.md revision 3 (tests/fixtures/worked_cases), through the real application.

Each case is a chart, a hook and what must come back: ``expect`` (topic → indicator), ``absent`` topics,
``offers`` (tests a card must order), ``no_offer`` (tests or drugs a card must not order), ``drugs``
(drugs a card must offer), ``recommended`` (the drug suggestion marked recommended) and ``exact`` (no
other topic). A case asserts nothing it does not name.

``PENDING`` lists the cases that the code does not meet yet, each with the reason; such a case is run
and must still fail (strict xfail), so a case that starts passing is noticed and taken off the list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import REPO

DOC: dict[str, Any] = json.loads((REPO / "tests" / "fixtures" / "worked_cases" / "cases.json").read_text())
NOW = datetime.fromisoformat(DOC["now"])

#: case id → why it does not pass yet. Empty this as revision 3 lands.
PENDING: dict[str, str] = {}


def _request(case: dict[str, Any]) -> dict[str, Any]:
    pid = case["patientId"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in case["record"]:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    from service.cds_services import PREFETCH, PREFETCH_KEY_BY_TYPE

    prefetch: dict[str, Any] = {}
    for key, query in PREFETCH.items():
        kind = query.split("?")[0].split("/")[0]
        if kind == "Patient":
            prefetch[key] = by_type.get("Patient", [None])[0]
            continue
        entries = [{"resource": r} for r in by_type.get(kind, [])]
        prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    assert set(by_type) <= set(PREFETCH_KEY_BY_TYPE) | {"Patient"}, set(by_type)
    context: dict[str, Any] = {"userId": "Practitioner/1", "patientId": pid}
    if case["hook"] != "patient-view":
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in case.get("draftOrders", [])],
        }
    if case["hook"] == "order-select":
        context["selections"] = case.get("selections", [])
    return {
        "hook": case["hook"],
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": context,
        "prefetch": prefetch,
    }


def _codes(card: dict[str, Any], resource_type: str) -> set[str]:
    found: set[str] = set()
    for suggestion in card.get("suggestions", []):
        for action in suggestion.get("actions", []):
            resource = action.get("resource") or {}
            if action.get("type") == "create" and resource.get("resourceType") == resource_type:
                concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
                found |= {c.get("code", "") for c in concept.get("coding", [])}
    return found


def _offers_test(card: dict[str, Any], test: str) -> bool:
    return bool(_codes(card, "ServiceRequest") & set(DOC["tests"][test]["codes"]))


def _offers_drug(card: dict[str, Any], drug: str) -> bool:
    accepted = {c for codes in DOC["drugs"][drug].values() if isinstance(codes, list) for c in codes}
    return bool(_codes(card, "MedicationRequest") & accepted)


def check(case: dict[str, Any], cards: list[dict[str, Any]]) -> None:
    got = {c["source"]["topic"]["code"]: c for c in cards}
    shown = {t: c["indicator"] for t, c in got.items()}
    assert {t: shown.get(t) for t in case["expect"]} == case["expect"], shown
    assert not set(case.get("absent", [])) & set(got), shown
    if case.get("exact"):
        assert set(got) == set(case["expect"]), shown
    for topic, tests in case.get("offers", {}).items():
        assert all(_offers_test(got[topic], t) for t in tests), (topic, tests)
    for topic, names in case.get("no_offer", {}).items():
        if topic in got:
            for name in names:
                offered = (
                    _offers_drug(got[topic], name) if name in DOC["drugs"] else _offers_test(got[topic], name)
                )
                assert not offered, (topic, name)
    for topic, drugs in case.get("drugs", {}).items():
        assert all(_offers_drug(got[topic], d) for d in drugs), (topic, drugs)
    for topic, drug in case.get("recommended", {}).items():
        recommended = [s for s in got[topic].get("suggestions", []) if s.get("isRecommended")]
        assert any(_offers_drug({"suggestions": [s]}, drug) for s in recommended), (topic, drug)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(reason=PENDING[c["id"]], strict=True))
        if c["id"] in PENDING
        else c
        for c in DOC["cases"]
    ],
    ids=lambda c: c["id"],
)
def test_worked_case(case: dict[str, Any], app_factory: Callable[..., TestClient]) -> None:
    client = app_factory(now=NOW)
    response = client.post(f"/cds-services/bone-health-{case['hook']}", json=_request(case))
    assert response.status_code == 200, response.text
    check(case, response.json()["cards"])
