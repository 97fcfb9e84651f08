"""The application's own routes: metrics carry the reminder counts; drafts at order-select; what the
application hands the protocol (languages, the fhirServer allowlist) and its mapping errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cds_hooks.handler import HookCall
from service.cds_services import PREFETCH, draft_resources
from tests.conftest import REPO
from tests.fhir_server import FhirServer, running_fhir_server
from tests.scenarios._scenario import load


def test_metrics_report_reminders_by_status_from_the_database(app_factory: Callable[..., TestClient]) -> None:
    scenario = load(REPO / "tests" / "scenarios" / "denosumab" / "dose-due-day-183.yaml")
    client = app_factory(now=scenario.now)
    assert client.post("/cds-services/bone-health-patient-view", json=scenario.request).status_code == 200
    text = client.get("/metrics").text
    pending = [line for line in text.splitlines() if line.startswith('bhcds_reminders{status="pending"}')]
    assert pending and float(pending[0].split()[-1]) >= 1
    assert 'bhcds_cards_total{service="bone-health-patient-view",topic="denosumab-dose-due"}' in text


def _call(hook: str, context: dict) -> HookCall:
    return HookCall(service_id="s", hook=hook, hook_instance="h", patient_id="p1", context=context, data={})


def test_order_select_reads_the_selected_orders_and_the_medications_they_name() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "MedicationRequest", "id": "a"}},
            {"resource": {"resourceType": "MedicationRequest", "id": "b"}},
            {"resource": {"resourceType": "Medication", "id": "m"}},
        ],
    }
    selected = draft_resources(
        _call("order-select", {"draftOrders": bundle, "selections": ["MedicationRequest/a"]})
    )
    assert [(r["resourceType"], r["id"]) for r in selected] == [
        ("MedicationRequest", "a"),
        ("Medication", "m"),
    ]
    signed = draft_resources(_call("order-sign", {"draftOrders": bundle}))
    assert len(signed) == 3
    assert draft_resources(_call("patient-view", {})) == []


# --- what the application wires into the protocol --------------------------------------------------

PV = "/cds-services/bone-health-patient-view"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _patient_view(patient: dict[str, Any], **request: Any) -> dict[str, Any]:
    """A patient-view request for p1 whose prefetch holds ``patient`` and no other data."""
    prefetch: dict[str, Any] = {key: None for key in PREFETCH}
    prefetch["patient"] = patient
    return {
        "hook": "patient-view",
        "hookInstance": "h-1",
        "context": {"userId": "Practitioner/u1", "patientId": "p1"},
        "prefetch": prefetch,
        **request,
    }


@pytest.mark.parametrize(
    ("patient", "diagnostics"),
    [
        (
            {"resourceType": "Patient", "id": "p1", "birthDate": "X1948-03-02"},
            "Patient.birthDate of Patient/p1: Value error, Date value string does not match spec regex.",
        ),
        (
            {"resourceType": "Patient", "id": "p1", "extension": {"url": "x"}},
            "Patient.extension of Patient/p1: expected an array, got an object",
        ),
    ],
)
def test_a_malformed_resource_is_a_400_with_a_plain_message(
    app_factory: Callable[..., TestClient], patient: dict[str, Any], diagnostics: str
) -> None:
    response = app_factory().post(PV, json=_patient_view(patient))

    assert response.status_code == 400
    [issue] = response.json()["issue"]
    assert issue["diagnostics"] == diagnostics  # the resource named once, no Python type names
    assert issue["expression"] == [diagnostics.split(" of ")[0]]


def test_a_malformed_condition_names_the_json_types(app_factory: Callable[..., TestClient]) -> None:
    body = _patient_view({"resourceType": "Patient", "id": "p1"})
    body["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "c1",
                    "subject": "Patient/p1",
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
                }
            }
        ],
    }

    response = app_factory().post(PV, json=body)

    assert response.status_code == 400, response.text
    assert (
        response.json()["issue"][0]["diagnostics"]
        == "Condition.subject of Condition/c1: expected an object, got a string"
    )


def test_cards_are_worded_in_simplified_chinese_for_any_zh_tag(
    app_factory: Callable[..., TestClient],
) -> None:
    scenario = load(REPO / "tests" / "scenarios" / "denosumab" / "dose-due-day-183.yaml")
    client = app_factory(now=scenario.now)
    summaries = {}
    for tag in ["zh-CN", "zh-TW", "zh-Hant", "zh-HK", "en", "de, zh;q=0.1"]:
        response = client.post(PV, json=scenario.request, headers={"Accept-Language": tag})
        assert response.status_code == 200
        summaries[tag] = [card["summary"] for card in response.json()["cards"]]

    assert summaries["zh-CN"] and any(_CJK.search(s) for s in summaries["zh-CN"])
    assert summaries["zh-TW"] == summaries["zh-Hant"] == summaries["zh-HK"] == summaries["zh-CN"]
    assert summaries["de, zh;q=0.1"] == summaries["en"]
    assert not any(_CJK.search(s) for s in summaries["en"])


def test_with_auth_off_bhcds_fhir_servers_keeps_other_fhir_servers_uncalled(
    app_factory: Callable[..., TestClient],
) -> None:
    with running_fhir_server(FhirServer(resources={"Condition": []})) as fhir:
        body = _patient_view({"resourceType": "Patient", "id": "p1"}, fhirServer=fhir.url)
        del body["prefetch"]["conditions"]  # must be fetched
        refused = app_factory(fhir_servers=["https://fhir.hospital.example/r4"]).post(PV, json=body)
        allowed = app_factory(fhir_servers=[fhir.url]).post(PV, json=body)

    assert refused.status_code == 412
    assert "not on this service's allowed list" in refused.json()["issue"][0]["diagnostics"]
    assert allowed.status_code == 200, allowed.text
    assert fhir.paths() == ["/fhir/Condition?patient=p1"]  # only the allowed call reached the server
