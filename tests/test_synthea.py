"""The Synthea patients of tests/fixtures go through the whole path: request → cards, no error.

Synthea writes transaction Bundles whose references are urn:uuid fullUrls; the EHR would send the
same resources as prefetch. Each patient is sent as a patient-view (and, for
Twyla Moen, as an order-select of pioglitazone, which her osteoporosis makes a warning).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FIXTURES_DIR

FIXTURES = sorted((FIXTURES_DIR / "synthea").glob("*.json"))
AS_OF = datetime(2021, 6, 1, 9, 0, tzinfo=UTC)  # the fixtures' clinical dates end around 2020–2021


_OTHER_KEYS = (
    "observations",
    "medicationRequests",
    "medicationStatements",
    "medicationAdministrations",
    "medicationDispenses",
    "procedures",
)


def _request(path: Path) -> dict[str, Any]:
    """A patient-view with the whole chart under one prefetch key and the other keys null (no data)."""
    bundle = json.loads(path.read_text())
    resources = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    chart = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": patient["id"]},
        "prefetch": {"patient": patient, "conditions": chart, **dict.fromkeys(_OTHER_KEYS)},
    }


def test_all_three_fixtures_are_there() -> None:
    assert len(FIXTURES) == 3


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name.split("_")[0] for p in FIXTURES])
def test_synthea_patient_view_answers_cards(path: Path, app_factory: Callable[..., TestClient]) -> None:
    client = app_factory(now=AS_OF)
    response = client.post("/cds-services/bone-health-patient-view", json=_request(path))
    assert response.status_code == 200, response.text
    for card in response.json()["cards"]:
        assert len(card["summary"]) < 140
        assert card["source"]["topic"]["system"] == "urn:bone-health-cds:rule"


def test_twyla_moen_gets_the_tzd_warning_when_pioglitazone_is_ordered(
    app_factory: Callable[..., TestClient],
) -> None:
    path = next(p for p in FIXTURES if p.name.startswith("Twyla"))
    request = _request(path)
    draft = {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{request['context']['patientId']}"},
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "312440"}],
            "text": "pioglitazone 30 MG Oral Tablet",
        },
    }
    request.update(
        hook="order-select",
        context={
            **request["context"],
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]},
            "selections": ["MedicationRequest/draft-1"],
        },
    )
    client = app_factory(now=AS_OF)
    response = client.post("/cds-services/bone-health-order-select", json=request)
    assert response.status_code == 200, response.text
    cards = {c["source"]["topic"]["code"]: c for c in response.json()["cards"]}
    assert cards["tzd-fracture-risk"]["indicator"] == "warning"
    delete = cards["tzd-fracture-risk"]["suggestions"][0]["actions"][0]
    assert delete == {
        "type": "delete",
        "description": delete["description"],
        "resourceId": "MedicationRequest/draft-1",
    }
