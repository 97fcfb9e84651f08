"""rules.md "What a card must look like", checked on every hold-out scenario in English and Chinese.

The scenario runner checks topics and indicators; this checks the card contract an EHR relies on:
the topic code does not change with the language, every card and suggestion has a uuid, warning and
critical cards carry override reasons, a delete suggestion names only the request's drafts, and every
created resource is a valid draft FHIR R4 ServiceRequest/MedicationRequest about the patient, coded
with LOINC (tests, DXA and the fall-risk assessment 73830-2) or RxNorm (drugs).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from tests.scenarios._scenario import PATIENT_ID, Scenario
from tests.scenarios.holdout.test_holdout_extended import load_extended

HERE = Path(__file__).parent
FILES = sorted([*HERE.glob("*.yaml"), *(HERE / "extended").glob("*.yml")])
_CJK = re.compile(r"[\u4e00-\u9fff]")
_MODELS: dict[str, Any] = {"ServiceRequest": ServiceRequest, "MedicationRequest": MedicationRequest}
_CODE_SYSTEMS = {
    "ServiceRequest": {"http://loinc.org"},
    "MedicationRequest": {"http://www.nlm.nih.gov/research/umls/rxnorm"},
}


def _cards(client: TestClient, scenario: Scenario, language: str) -> list[dict[str, Any]]:
    response = client.post(
        f"/cds-services/bone-health-{scenario.hook}",
        json=scenario.request,
        headers={"Accept-Language": language},
    )
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


def _draft_references(scenario: Scenario) -> set[str]:
    bundle = scenario.request["context"].get("draftOrders") or {}
    resources = [e["resource"] for e in bundle.get("entry", [])]
    return {f"{r['resourceType']}/{r['id']}" for r in resources}


def _check_created(resource: dict[str, Any]) -> None:
    kind = resource["resourceType"]
    _MODELS[kind].model_validate(resource)
    assert resource["status"] == "draft" and resource["intent"] in {"proposal", "order"}
    assert resource["subject"]["reference"] == f"Patient/{PATIENT_ID}"
    concept = resource["code"] if kind == "ServiceRequest" else resource["medicationCodeableConcept"]
    assert any(c["system"] in _CODE_SYSTEMS[kind] for c in concept["coding"]), concept


def _check_card(card: dict[str, Any], language: str, drafts: set[str]) -> None:
    assert card["uuid"] and card["source"]["topic"]["system"] == "urn:bone-health-cds:rule"
    assert len(card["summary"]) < 140 and card.get("detail")
    if language == "zh":
        assert _CJK.search(card["summary"]), card["summary"]
    if card["indicator"] in {"warning", "critical"}:
        assert card.get("overrideReasons"), card["source"]["topic"]["code"]
    for suggestion in card.get("suggestions", []):
        assert suggestion["uuid"] and suggestion["label"]
        for action in suggestion["actions"]:
            if action["type"] == "delete":
                assert isinstance(action["resourceId"], str) and action["resourceId"] in drafts
            else:
                _check_created(action["resource"])


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_cards_keep_the_contract_in_both_languages(
    path: Path, app_factory: Callable[..., TestClient]
) -> None:
    scenario = load_extended(path)
    by_language = {}
    for language in ("en", "zh"):
        client = app_factory(now=scenario.now, **scenario.settings)
        cards = _cards(client, scenario, language)
        for card in cards:
            _check_card(card, language, _draft_references(scenario))
        by_language[language] = {(c["source"]["topic"]["code"], c["indicator"]) for c in cards}
    assert by_language["en"] == by_language["zh"]
