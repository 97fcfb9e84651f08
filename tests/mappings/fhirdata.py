"""Small builders of raw FHIR R4 JSON for the mapping tests (plain dicts, as EHRs send them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PID = "p1"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"

SYNTHEA = Path(__file__).resolve().parents[1] / "fixtures" / "synthea"


def synthea(name: str) -> tuple[str, dict[str, Any]]:
    """(patient id, transaction Bundle) of a Synthea fixture whose file name starts with ``name``."""
    path = next(SYNTHEA.glob(f"{name}_*.json"))
    bundle = json.loads(path.read_text())
    return bundle["entry"][0]["resource"]["id"], bundle


def cc(
    system: str | None = None, code: str | None = None, display: str | None = None, text: str | None = None
) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if code is not None:
        coding = {"code": code}
        if system:
            coding["system"] = system
        if display:
            coding["display"] = display
        concept["coding"] = [coding]
    if text is not None:
        concept["text"] = text
    return concept


def patient(pid: str = PID, **fields: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, **fields}


def condition(
    code: dict[str, Any],
    rid: str = "c1",
    *,
    clinical: str | None = "active",
    verification: str | None = None,
    subject: str | None = f"Patient/{PID}",
    **fields: Any,
) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Condition", "id": rid, "code": code}
    if subject:
        res["subject"] = {"reference": subject}
    if clinical:
        res["clinicalStatus"] = {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}
            ]
        }
    if verification:
        res["verificationStatus"] = {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}
            ]
        }
    res.update(fields)
    return res


def observation(
    code: str,
    value: Any = None,
    unit: str | None = None,
    rid: str = "o1",
    *,
    when: str | None = "2024-03-01T10:00:00Z",
    status: str = "final",
    system: str = LOINC,
    ucum: bool = True,
    subject: str | None = f"Patient/{PID}",
    **fields: Any,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": status,
        "code": cc(system, code),
    }
    if subject:
        res["subject"] = {"reference": subject}
    if when:
        res["effectiveDateTime"] = when
    if value is not None:
        quantity: dict[str, Any] = {"value": value}
        if unit is not None:
            quantity["unit"] = unit
            if ucum:
                quantity["system"] = UCUM
                quantity["code"] = unit
        res["valueQuantity"] = quantity
    res.update(fields)
    return res


def med_request(
    medication: dict[str, Any],
    rid: str = "m1",
    *,
    status: str = "active",
    authored: str | None = "2024-01-15",
    subject: str | None = f"Patient/{PID}",
    **fields: Any,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
    }
    res.update(medication)
    if subject:
        res["subject"] = {"reference": subject}
    if authored:
        res["authoredOn"] = authored
    res.update(fields)
    return res


def coded(
    system: str | None = None, code: str | None = None, display: str | None = None, text: str | None = None
) -> dict[str, Any]:
    """A medicationCodeableConcept element."""
    return {"medicationCodeableConcept": cc(system, code, display, text)}
