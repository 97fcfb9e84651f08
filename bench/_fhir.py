"""Small builders of raw FHIR R4 JSON shaped the way EHRs send it (codes, displays, UCUM units, refs).

The benchmark charts are built from these, so every resource carries the fields a real one does
(category, code text, encounter, issued, reference range): the bytes on the wire are realistic.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

Json = dict[str, Any]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def concept(system: str, code: str, display: str) -> Json:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def patient(pid: str, gender: str, birth: date) -> Json:
    return {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"lastUpdated": "2026-11-01T08:00:00Z"},
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": f"MRN-{pid}"}],
        "active": True,
        "name": [{"use": "official", "family": "Bench", "given": ["Patient"]}],
        "gender": gender,
        "birthDate": birth.isoformat(),
    }


def condition(
    pid: str, rid: str, system: str, code: str, display: str, onset: datetime, *, active: bool = True
) -> Json:
    return {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": concept(
            _CLINICAL, "active" if active else "resolved", "Active" if active else "Resolved"
        ),
        "verificationStatus": concept(_VERIFICATION, "confirmed", "Confirmed"),
        "category": [
            concept(
                "http://terminology.hl7.org/CodeSystem/condition-category",
                "problem-list-item",
                "Problem List Item",
            )
        ],
        "code": concept(system, code, display),
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": onset.isoformat(),
        "recordedDate": onset.isoformat(),
    }


def observation(
    pid: str,
    rid: str,
    code: str,
    display: str,
    at: datetime,
    value: float,
    unit: str,
    *,
    category: str = "laboratory",
    low: float | None = None,
    high: float | None = None,
) -> Json:
    resource: Json = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [{"coding": [{"system": _OBS_CATEGORY, "code": category, "display": category.title()}]}],
        "code": concept(LOINC, code, display),
        "subject": {"reference": f"Patient/{pid}"},
        "encounter": {"reference": f"Encounter/enc-{at.date().isoformat()}"},
        "effectiveDateTime": at.isoformat(),
        "issued": at.isoformat(),
        "valueQuantity": {"value": round(value, 2), "unit": unit, "system": UCUM, "code": unit},
    }
    if low is not None and high is not None:
        resource["referenceRange"] = [
            {
                "low": {"value": low, "unit": unit, "system": UCUM, "code": unit},
                "high": {"value": high, "unit": unit, "system": UCUM, "code": unit},
            }
        ]
    return resource


def blood_pressure(pid: str, rid: str, at: datetime, systolic: float, diastolic: float) -> Json:
    """A vital-signs panel with components and no top-level value, as Synthea and EHRs send it."""
    resource = observation(
        pid, rid, "85354-9", "Blood pressure panel", at, 0, "mm[Hg]", category="vital-signs"
    )
    del resource["valueQuantity"]
    resource["component"] = [
        {
            "code": concept(LOINC, code, name),
            "valueQuantity": {"value": round(value), "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
        }
        for code, name, value in (
            ("8480-6", "Systolic blood pressure", systolic),
            ("8462-4", "Diastolic blood pressure", diastolic),
        )
    ]
    return resource


def medication_request(
    pid: str, rid: str, rxcui: str, display: str, authored: datetime, *, status: str = "active"
) -> Json:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": concept(RXNORM, rxcui, display),
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": authored.isoformat(),
        "requester": {"reference": "Practitioner/pr-1", "display": "Dr Example"},
        "dosageInstruction": [
            {"text": "as directed", "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}
        ],
        "dispenseRequest": {"numberOfRepeatsAllowed": 3, "quantity": {"value": 90, "unit": "TAB"}},
    }


def medication_administration(pid: str, rid: str, rxcui: str, display: str, at: datetime) -> Json:
    return {
        "resourceType": "MedicationAdministration",
        "id": rid,
        "status": "completed",
        "medicationCodeableConcept": concept(RXNORM, rxcui, display),
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": at.isoformat(),
        "dosage": {
            "route": concept(SNOMED, "34206005", "Subcutaneous route"),
            "dose": {"value": 60, "unit": "mg"},
        },
    }


def procedure(pid: str, rid: str, code: str, display: str, at: datetime) -> Json:
    return {
        "resourceType": "Procedure",
        "id": rid,
        "status": "completed",
        "code": concept(SNOMED, code, display),
        "subject": {"reference": f"Patient/{pid}"},
        "performedDateTime": at.isoformat(),
    }


def searchset(resources: list[Json], full_urls: dict[str, str] | None = None) -> Json:
    """A searchset Bundle; ``full_urls`` maps "Type/id" to the entry's fullUrl (urn:uuid charts)."""
    entries = []
    for resource in resources:
        entry: Json = {"resource": resource, "search": {"mode": "match"}}
        key = f"{resource['resourceType']}/{resource['id']}"
        entry["fullUrl"] = (full_urls or {}).get(key, f"https://ehr.example.org/fhir/{key}")
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
