"""Our own equivalents of the public FHIR validator's CDS Hooks cases (FHIR/fhir-test-cases,
validator/cdshooks/). The public files are not copied: each request here is written for the bone-health
services and names in a comment the case whose point it mirrors. Good requests get 200 (or 412 when
the data they point at cannot be had); bad ones get a 400, never a 5xx. Every 200 is checked the way the
public *response* cases check a CDS Hooks answer.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fhir_server import Exchange, FhirServer, searchset
from tests.hardening.bodies import OSEL, OSIGN, PV, pioglitazone_order
from tests.hardening.conftest import MakeApp

PID = "bh-case-7"
PATIENT = {"resourceType": "Patient", "id": PID, "gender": "female", "birthDate": "1948-03-02"}


@pytest.fixture
def fhir_ok(fhir: FhirServer) -> FhirServer:
    """A FHIR server that has the patient and nothing else."""

    def answer(exchange: Exchange) -> None:
        if exchange.path == f"/fhir/Patient/{PID}":
            exchange.json(PATIENT)
        else:
            exchange.json(searchset())

    fhir.default = answer
    return fhir


@pytest.fixture
def client(make_app: MakeApp) -> TestClient:
    return make_app()


def _draft(order_id: str = "draft-zol-1", **fields: Any) -> dict[str, Any]:
    order = pioglitazone_order(order_id)
    order["subject"] = {"reference": f"Patient/{PID}"}
    return {**order, **fields}


def _wrapped(resource: dict[str, Any]) -> dict[str, Any]:
    """A prefetch value in the shape of a Bundle entry (response + resource), not a resource."""
    return {"response": {"status": "200 OK"}, "resource": resource}


def _base(hook: str, fhir_server: str, **context: Any) -> dict[str, Any]:
    return {
        "hookInstance": "6f1c2a8e-5d7b-4f0e-9a43-1b2c3d4e5f60",
        "fhirServer": fhir_server,
        "hook": hook,
        "context": {"userId": "Practitioner/dr-lin", "patientId": PID, **context},
    }


def _bundle(*resources: dict[str, Any], full_urls: bool = False) -> dict[str, Any]:
    entries = [
        {"fullUrl": f"http://ehr.example/fhir/{r['resourceType']}/{r['id']}", "resource": r}
        if full_urls
        else {"resource": r}
        for r in resources
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def assert_conformant(answer: dict[str, Any]) -> None:
    """What the public response cases check (-empty, -two-cards, -link, -source-link, -empty-source,
    -suggestion): cards with a labelled source, uuids, selectionBehavior with suggestions, links with
    label/url/type; optional fields omitted rather than null or empty."""
    assert set(answer) == {"cards"}
    for card in answer["cards"]:
        assert len(card["summary"]) <= 140 and card["indicator"] in ("info", "warning", "critical")
        assert card["source"]["label"] and card["source"]["topic"]["code"]  # -empty-source
        assert card["uuid"]
        if "suggestions" in card:  # -suggestion
            assert card["selectionBehavior"] in ("at-most-one", "any")
            for suggestion in card["suggestions"]:
                assert suggestion["uuid"] and suggestion["label"]
                assert all(
                    a["type"] in ("create", "update", "delete") and a["description"]
                    for a in suggestion["actions"]
                )
        for link in card.get("links", []):  # -link, -source-link
            assert link["label"] and link["url"] and link["type"] in ("absolute", "smart")
        _no_empties(card)


def _no_empties(value: Any) -> None:
    if isinstance(value, dict):
        assert all(v not in (None, [], {}) for v in value.values()), value
        for v in value.values():
            _no_empties(v)
    elif isinstance(value, list):
        for v in value:
            _no_empties(v)


def _good(response: Any) -> None:
    assert response.status_code in (200, 412), response.text[:300]
    if response.status_code == 200:
        assert_conformant(response.json())


# --- good requests -------------------------------------------------------------------------------


def test_patient_view_good(client: TestClient, fhir_ok: FhirServer) -> None:
    # mirrors cdshooks-request-patient-view-good: bare patientId and encounterId, prefetch under keys
    # the service never declared (ignored), the declared ones fetched from fhirServer
    body = _base("patient-view", fhir_ok.base + "/fhir", encounterId="enc-clinic-3")
    body["prefetch"] = {"item1": PATIENT, "item2": _draft(status="active"), "item3": None, "item4": None}

    response = client.post(PV, json=body)

    assert response.status_code == 200
    assert_conformant(response.json())
    assert f"/fhir/Patient/{PID}" in fhir_ok.paths()


def test_patient_view_good_with_its_fhir_server_away_is_a_412(client: TestClient) -> None:
    # mirrors cdshooks-request-patient-view-good, whose fhirServer (a localhost port) is not running
    body = _base("patient-view", "http://127.0.0.1:9/fhir", encounterId="enc-clinic-3")
    body["prefetch"] = {"item1": PATIENT, "item2": None}

    response = client.post(PV, json=body)

    assert response.status_code == 412
    assert response.json()["issue"][0]["diagnostics"].endswith("FHIR server unreachable")


def test_order_select_good(client: TestClient, fhir_ok: FhirServer) -> None:
    # mirrors cdshooks-request-order-select-good: selections as "MedicationRequest/<id>", draftOrders
    # entries with a fullUrl, an active order with dosage and dispense details
    body = _base(
        "order-select",
        fhir_ok.base + "/fhir",
        encounterId="enc-clinic-3",
        selections=["MedicationRequest/draft-zol-1"],
        draftOrders=_bundle(_draft(status="active"), full_urls=True),
    )
    body["prefetch"] = {"item1": PATIENT, "item2": None, "item3": None}

    response = client.post(OSEL, json=body)

    assert response.status_code == 200
    assert_conformant(response.json())


def test_order_sign_good(client: TestClient, fhir_ok: FhirServer) -> None:
    # mirrors cdshooks-request-order-sign-good: a resource type the service does not read (CarePlan) in
    # prefetch, a draft order with a recorder
    care_plan = {
        "resourceType": "CarePlan",
        "id": "cp-bone",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": f"Patient/{PID}"},
    }
    body = _base(
        "order-sign",
        fhir_ok.base + "/fhir",
        draftOrders=_bundle(_draft(recorder={"reference": "Practitioner/dr-lin"}), full_urls=True),
    )
    body["prefetch"] = {"item1": PATIENT, "item2": care_plan, "item3": None}

    response = client.post(OSIGN, json=body)

    assert response.status_code == 200
    assert_conformant(response.json())


def test_order_select_with_extensions_in_the_draft_is_good(client: TestClient, fhir_ok: FhirServer) -> None:
    # mirrors the nested extension (a data-date-roller with url/valueDuration sub-extensions) that the
    # public order-select and order-sign cases carry on their resources
    extension = [
        {
            "url": "http://example.org/fhir/StructureDefinition/roller",
            "extension": [
                {"url": "dateLastUpdated", "valueDateTime": "2026-10-01"},
                {"url": "frequency", "valueDuration": {"value": 30.0, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}},
            ],
        }
    ]  # fmt: skip
    body = _base(
        "order-select",
        fhir_ok.base + "/fhir",
        selections=["MedicationRequest/draft-zol-1"],
        draftOrders=_bundle(_draft(extension=extension)),
    )

    _good(client.post(OSEL, json=body))


# --- bad requests --------------------------------------------------------------------------------


def test_patient_view_bad(client: TestClient) -> None:
    # mirrors cdshooks-request-patient-view-bad: prefetch values wrapped like Bundle entries
    # ({"response": ..., "resource": ...}) instead of being resources
    body = _base("patient-view", "http://127.0.0.1:9/fhir", encounterId="Encounter/enc-clinic-3")
    body["context"]["patientId"] = f"Patient/{PID}"
    body["prefetch"] = {"item1": _wrapped(PATIENT), "item2": _wrapped(_draft(status="active")), "item3": None}

    response = client.post(PV, json=body)

    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["prefetch.item1.resourceType"]


def test_order_select_bad(client: TestClient) -> None:
    # mirrors cdshooks-request-order-select-bad: a selection that is a bare id, not "<type>/<id>"
    body = _base(
        "order-select",
        "http://127.0.0.1:9/fhir",
        selections=["draft-zol-1"],
        draftOrders=_bundle(_draft(status="active")),
    )
    body["prefetch"] = {"item1": _wrapped(PATIENT), "item2": None}

    response = client.post(OSEL, json=body)

    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"][0].startswith(("context.selections", "prefetch.item1"))


@pytest.mark.parametrize("where", ["undeclared key", "declared key"])
def test_order_sign_bad_codes_and_dates(client: TestClient, fhir_ok: FhirServer, where: str) -> None:
    # mirrors cdshooks-request-order-sign-bad-1: an invalid status code ("Xactive") on the draft order and
    # an invalid birthDate ("X...") on the patient
    body = _base("order-sign", fhir_ok.base + "/fhir", draftOrders=_bundle(_draft(status="Xactive")))
    bad_patient = {**PATIENT, "birthDate": "X1948-03-02"}
    body["prefetch"] = {"item1": bad_patient} if where == "undeclared key" else {"patient": bad_patient}

    response = client.post(OSIGN, json=body)

    assert response.status_code in (200, 400, 412), response.text[:300]
    if where == "declared key":
        assert response.status_code == 400  # the rules read birthDate: it must be a date


def test_order_sign_bad_wrapped_prefetch(client: TestClient) -> None:
    # mirrors cdshooks-request-order-sign-bad-2: an otherwise valid call whose prefetch patient is wrapped
    body = _base("order-sign", "http://127.0.0.1:9/fhir", draftOrders=_bundle(_draft(status="active")))
    body["prefetch"] = {"item1": _wrapped(PATIENT), "item2": None}

    assert client.post(OSIGN, json=body).status_code == 400


def test_discovery_describes_services_plainly(client: TestClient) -> None:
    # mirrors cdshooks-request-order-select-extensions (a discovery document whose service carries
    # extension fields of the wrong types): ours has none, and each service has the required fields
    for service in client.get("/cds-services").json()["services"]:
        assert {"hook", "id", "title", "description", "prefetch"} <= set(service)
        assert "extension" not in service
        assert all(isinstance(t, str) and "{{context.patientId}}" in t for t in service["prefetch"].values())
