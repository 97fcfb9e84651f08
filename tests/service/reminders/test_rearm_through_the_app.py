"""rules.md "Reminders" (r3), through the application: a bisphosphonate recorded and then marked
entered-in-error leaves the denosumab sequencing reminder pending again (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.app import create_app
from service.persistence import make_engine, session_factory
from service.persistence.models import Reminder
from service.settings import Settings
from tests.conftest import REPO
from tests.scenarios._scenario import Scenario, load

PV = "/cds-services/bone-health-patient-view"
SCENARIO = REPO / "tests" / "scenarios" / "denosumab" / "sequencing-stopped-before-d-plus-183-warning.yaml"


@pytest.fixture
def scenario() -> Scenario:
    return load(SCENARIO)


@pytest.fixture
def client(db_url: str, scenario: Scenario) -> Iterator[TestClient]:
    settings = Settings(auth_enabled=False, database_url=db_url)
    with TestClient(create_app(settings, clock=lambda: scenario.now)) as test_client:
        yield test_client


def _with_alendronate(scenario: Scenario, status: str) -> dict[str, Any]:
    """The scenario's request with an alendronate order written two days ago, in ``status``."""
    request = copy.deepcopy(scenario.request)
    authored = scenario.now.date().isoformat()
    order = {
        "resourceType": "MedicationRequest",
        "id": "alendronate-1",
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "904431",
                    "display": "alendronic acid 70 MG Oral Tablet",
                }
            ]
        },
        "authoredOn": authored,
    }
    bundles = [
        v for v in request["prefetch"].values() if isinstance(v, dict) and v.get("type") == "searchset"
    ]
    medication_bundle = next(
        b
        for b in bundles
        if any(e["resource"]["resourceType"].startswith("Medication") for e in b.get("entry", []))
    )
    medication_bundle["entry"].append({"resource": order})
    return request


def _sequencing(client: TestClient, db_url: str) -> list[tuple[str, str, int]]:
    """The sequencing reminders in the database, once the writes behind the answers are committed."""
    assert client.app.state.bone_health.writes.settled()  # type: ignore[attr-defined]
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as session:
            rows = session.execute(
                select(Reminder.due_date, Reminder.status, Reminder.id).where(
                    Reminder.topic == "denosumab-sequencing-missing"
                )
            ).all()
            return [(r.due_date.isoformat(), r.status, r.id) for r in rows]
    finally:
        engine.dispose()


def test_an_entered_in_error_bisphosphonate_leaves_the_sequencing_reminder_pending(
    client: TestClient, scenario: Scenario, db_url: str
) -> None:
    assert client.post(PV, json=scenario.request).status_code == 200
    [(due, status, first_id)] = _sequencing(client, db_url)
    assert (due, status) == ("2027-02-18", "pending")  # D + 183 (r3)

    sequenced = client.post(PV, json=_with_alendronate(scenario, "active"))
    assert sequenced.status_code == 200
    assert "denosumab-sequencing-missing" not in {
        c["source"]["topic"]["code"] for c in sequenced.json()["cards"]
    }
    assert _sequencing(client, db_url) == [(due, "cancelled", first_id)]

    in_error = client.post(PV, json=_with_alendronate(scenario, "entered-in-error"))
    assert in_error.status_code == 200
    assert "denosumab-sequencing-missing" in {c["source"]["topic"]["code"] for c in in_error.json()["cards"]}
    assert _sequencing(client, db_url) == [(due, "pending", first_id)]  # the same reminder, pending again


def test_a_patient_under_18_gets_no_card_and_their_pending_reminders_are_cancelled(
    client: TestClient, scenario: Scenario, db_url: str
) -> None:
    assert client.post(PV, json=scenario.request).status_code == 200
    [(due, status, first_id)] = _sequencing(client, db_url)
    assert status == "pending"
    minor = copy.deepcopy(scenario.request)
    minor["prefetch"]["patient"]["birthDate"] = (
        scenario.now.date().replace(year=scenario.now.year - 17).isoformat()
    )
    response = client.post(PV, json=minor)
    assert response.status_code == 200 and response.json()["cards"] == []
    assert _sequencing(client, db_url) == [(due, "cancelled", first_id)]
