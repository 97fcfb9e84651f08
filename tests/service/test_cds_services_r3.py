"""Revision 3 prefetch: ServiceRequest, DiagnosticReport and AllergyIntolerance are optional keys; an EHR
configured for the eight earlier keys, with no fhirServer, still gets an answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from cds_hooks.handler import HookCall
from service.cds_services import OPTIONAL_PREFETCH, PREFETCH, SERVICES, allergies_known

PV = "/cds-services/bone-health-patient-view"
R3_KEYS = {
    "serviceRequests": "ServiceRequest?patient={{context.patientId}}",
    "diagnosticReports": "DiagnosticReport?patient={{context.patientId}}",
    "allergies": "AllergyIntolerance?patient={{context.patientId}}",
}


def test_every_service_asks_for_the_r3_keys_as_optional() -> None:
    assert {k: PREFETCH[k] for k in R3_KEYS} == R3_KEYS
    assert set(R3_KEYS) == OPTIONAL_PREFETCH
    for service in SERVICES:
        assert service.prefetch == PREFETCH and service.optional_prefetch == OPTIONAL_PREFETCH


def _call(data: dict[str, Any]) -> HookCall:
    return HookCall(
        service_id="s", hook="patient-view", hook_instance="h", patient_id="p1", context={}, data=data
    )


def test_allergies_are_known_when_the_key_was_had_even_empty() -> None:
    assert allergies_known(_call({"allergies": []}))
    assert not allergies_known(_call({"conditions": []}))


def test_the_eight_earlier_keys_without_a_fhir_server_get_an_answer(
    app_factory: Callable[..., TestClient],
) -> None:
    prefetch: dict[str, Any] = {key: None for key in PREFETCH if key not in OPTIONAL_PREFETCH}
    prefetch["patient"] = {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "female",
        "birthDate": "1950-01-01",
    }
    body = {
        "hook": "patient-view",
        "hookInstance": "h-r3",
        "context": {"userId": "Practitioner/u1", "patientId": "p1"},
        "prefetch": prefetch,
    }

    response = app_factory().post(PV, json=body)

    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}
