"""Hook requests for the real bone-health services: a chart that fires cards, carrying PHI to look for."""

from __future__ import annotations

import uuid
from typing import Any

from service.cds_services import PREFETCH
from tests.fhir_server import searchset

PV = "/cds-services/bone-health-patient-view"
OSEL = "/cds-services/bone-health-order-select"
OSIGN = "/cds-services/bone-health-order-sign"
PATIENT_ID = "hard-1"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# Values that must never reach a log line.
NAME_FAMILY = "Zzyzxqualm"
NAME_GIVEN = "Philomenatrix"
BIRTH_DATE = "1951-07-23"
PHONE = "+1-555-0142-77"
NOTE_TEXT = "Patient confided her sister Agathonike Quill broke a hip in March"
DOSAGE_TEXT = "take with Ozymandias juice every second Tuesday"


def patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "gender": "female",
        "birthDate": BIRTH_DATE,
        "name": [{"family": NAME_FAMILY, "given": [NAME_GIVEN], "text": f"{NAME_GIVEN} {NAME_FAMILY}"}],
        "telecom": [{"system": "phone", "value": PHONE}],
    }


def condition(cid: str = "c-t2dm", code: str = "44054006", **extra: Any) -> dict[str, Any]:
    """Type 2 diabetes by default (SNOMED 44054006), active."""
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "code": {"coding": [{"system": SNOMED, "code": code}]},
        "note": [{"text": NOTE_TEXT}],
        **extra,
    }


def pioglitazone_order(oid: str = "mr-tzd") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": oid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "312440", "display": "pioglitazone 30 MG Oral Tablet"}],
            "text": "pioglitazone 30 mg",
        },
        "dosageInstruction": [{"text": DOSAGE_TEXT}],
        "note": [{"text": NOTE_TEXT}],
    }


def full_prefetch(**values: Any) -> dict[str, Any]:
    """Every prefetch key of the services: null (no data) unless given."""
    prefetch: dict[str, Any] = dict.fromkeys(PREFETCH)
    prefetch["patient"] = patient()
    prefetch["conditions"] = searchset(condition(), condition("c-op", "64859006"))  # T2DM, osteoporosis
    prefetch.update(values)
    return prefetch


def hook_body(hook: str = "patient-view", **overrides: Any) -> dict[str, Any]:
    """A valid call of ``hook`` about PATIENT_ID with a full prefetch; ``overrides`` replace fields."""
    context: dict[str, Any] = {"userId": "Practitioner/doc-1", "patientId": PATIENT_ID}
    if hook in ("order-select", "order-sign"):
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": pioglitazone_order()}],
        }
    if hook == "order-select":
        context["selections"] = ["MedicationRequest/mr-tzd"]
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": full_prefetch(),
    }
    body.update(overrides)
    return body


def fetching(fhir_base: str, token: str | None = None, missing: str = "conditions") -> dict[str, Any]:
    """A patient-view whose ``missing`` key must be fetched from ``fhir_base`` + "/fhir"."""
    body = hook_body()
    del body["prefetch"][missing]
    body["fhirServer"] = fhir_base + "/fhir"
    if token is not None:
        body["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "bone-health-cds",
        }
    return body


def topics(response: Any) -> set[str]:
    return {card["source"]["topic"]["code"] for card in response.json()["cards"]}
