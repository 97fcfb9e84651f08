"""Validation of relevant resources: what the rules read is a 400 when malformed, nothing else is.

The mapping validates only the elements the rules read, each with its R4B type (docs/performance.md).
These tests pin both sides of that trade-off, and that the answer for a read element is the R4B model's
own (same path, same message) whatever the cache has seen before.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from mappings import MappingError, build_record
from mappings._validate import _path
from service.kernel.record import Lab, Sex
from tests.mappings.fhirdata import (
    LOINC,
    PID,
    RXNORM,
    SNOMED,
    cc,
    coded,
    condition,
    med_request,
    observation,
    patient,
)


def calcium(**fields: Any) -> dict[str, Any]:
    """A relevant Observation (serum calcium 2.3 mmol/L), with ``fields`` added or replaced."""
    return {**observation("2000-8", 2.3, "mmol/L", "ca"), **fields}


def denosumab(**fields: Any) -> dict[str, Any]:
    """A relevant MedicationRequest (Prolia), with ``fields`` added or replaced."""
    return {**med_request(coded(RXNORM, "993456", "Prolia"), "dmab"), **fields}


def error_of(*resources: dict[str, Any], drafts: tuple[dict[str, Any], ...] = ()) -> MappingError:
    with pytest.raises(MappingError) as err:
        build_record(PID, list(resources), drafts)
    return err.value


# --- malformed elements the rules read: a MappingError naming the resource and the field -----------


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        (calcium(valueQuantity={"value": "abc", "unit": "mmol/L"}), "Observation.valueQuantity.value"),
        (calcium(valueQuantity={"value": math.inf}), "Observation.valueQuantity.value"),
        (calcium(valueQuantity={"value": 2.3, "unit": 7}), "Observation.valueQuantity.unit"),
        (calcium(valueQuantity={"value": 2.3, "units": "mmol/L"}), "Observation.valueQuantity.units"),
        (calcium(effectiveDateTime="not-a-date"), "Observation.effectiveDateTime"),
        (
            calcium(effectiveDateTime=None, effectivePeriod={"start": "soon"}),
            "Observation.effectivePeriod.start",
        ),
        (calcium(issued="2024-03-01"), "Observation.issued"),  # an instant needs a time and a zone
        (calcium(id="two words"), "Observation.id"),
        (calcium(subject={"reference": 12}), "Observation.subject.reference"),
        (calcium(valueString="2.3 mmol/L"), "Observation.value[x]"),
        (calcium(effectivePeriod={"start": "2024-03-01"}), "Observation.effective[x]"),
        (
            calcium(code={"coding": [{"system": LOINC, "code": "2000-8", "userSelected": "maybe"}]}),
            "Observation.code.coding[0].userSelected",
        ),
        (calcium(extension=[{"url": 5}]), "Observation.extension[0].url"),
        (calcium(modifierExtension=[None]), "Observation.modifierExtension"),
        (denosumab(authoredOn="yesterday"), "MedicationRequest.authoredOn"),
        (denosumab(intent=None), "MedicationRequest.intent"),
        (denosumab(intent=["order"]), "MedicationRequest.intent"),
        (
            denosumab(medicationReference={"reference": "Medication/x"}),
            "MedicationRequest.medication[x]",
        ),
        (condition(cc(SNOMED, "44054006"), "dm", onsetDateTime=12), "Condition.onsetDateTime"),
        (condition(cc(SNOMED, "44054006"), "dm", onsetDateTime="last spring"), "Condition.onsetDateTime"),
        (condition(cc(SNOMED, "44054006"), "dm", recordedDate="2024-02-30"), "Condition.recordedDate"),
        (
            condition(cc(SNOMED, "44054006"), "dm", clinicalStatus={"coding": "active"}),
            "Condition.clinicalStatus.coding",
        ),
        (patient(birthDate="X1948-03-02"), "Patient.birthDate"),
        (patient(deceasedBoolean="dead"), "Patient.deceasedBoolean"),
        (patient(gender=1), "Patient.gender"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_malformed_element_the_rules_read_is_a_mapping_error_naming_it(
    resource: dict[str, Any], field: str
) -> None:
    err = error_of(resource)
    assert err.field == field
    assert err.resource == f"{resource['resourceType']}/{resource['id']}"
    assert field in str(err)


def test_a_malformed_component_the_rules_read_names_its_position() -> None:
    dxa = observation(
        "38269-7",
        rid="dxa",
        component=[
            {"code": cc(LOINC, "38263-0"), "valueQuantity": {"value": -2.6}},
            {"code": cc(LOINC, "38267-1"), "valueQuantity": {"value": "low"}},
        ],
    )
    assert error_of(dxa).field == "Observation.component[1].valueQuantity.value"
    dxa["component"] = [None, dxa["component"][0]]  # R4B: no nulls in a list of elements
    assert error_of(dxa).field == "Observation.component"
    dxa["component"] = ["T-score -2.6", dxa["component"][1]]
    assert error_of(dxa).field == "Observation.component[0]"


def test_a_contained_medication_the_order_points_to_is_validated() -> None:
    order = med_request(
        {
            "medicationReference": {"reference": "#m"},
            "contained": [
                {"resourceType": "Medication", "id": "other", "code": "not read"},
                {
                    "resourceType": "Medication",
                    "id": "m",
                    "code": {"coding": [{"system": RXNORM, "code": 993456, "display": "Prolia"}]},
                },
            ],
        },
        "c",
    )
    err = error_of(order)
    assert (err.resource, err.field) == (
        "MedicationRequest/c",
        "MedicationRequest.contained[1].code.coding[0].code",
    )


def test_a_referenced_medication_resource_is_validated() -> None:
    order = med_request({"medicationReference": {"reference": "Medication/m"}}, "r")
    medication = {
        "resourceType": "Medication",
        "id": "m",
        "code": cc(RXNORM, "993456", "Prolia"),
        "status": 3,
    }
    assert build_record(PID, [order, medication]).medications  # Medication.status is not read
    medication["code"] = {"coding": [{"system": RXNORM, "code": "993456"}], "text": ["Prolia"]}
    assert (error_of(order, medication).resource, error_of(order, medication).field) == (
        "Medication/m",
        "Medication.code.text",
    )


def test_a_malformed_draft_order_is_a_mapping_error() -> None:
    draft = {"resourceType": "MedicationRequest", "id": "d", **coded(RXNORM, "993456"), "authoredOn": "today"}
    err = error_of(drafts=(draft,))
    assert (err.resource, err.field) == ("MedicationRequest/d", "MedicationRequest.authoredOn")


@pytest.mark.parametrize(
    ("model", "resource"),
    [
        (Observation, calcium(valueQuantity={"value": "abc"})),
        (Observation, calcium(effectiveDateTime="2024-13-01")),
        (Observation, calcium(code={"coding": [{"system": LOINC, "code": "2000-8", "display": 5}]})),
        (Observation, calcium(subject={"reference": "Patient/p1", "display": ["x"]})),
        (MedicationRequest, denosumab(authoredOn="yesterday")),
        (MedicationRequest, denosumab(intent="")),
    ],
)
def test_a_read_element_gets_the_r4b_models_own_path_and_message(
    model: Any, resource: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as whole:
        model.model_validate(resource)
    first = whole.value.errors()[0]
    err = error_of(resource)
    assert (err.field, err.detail) == (_path(resource["resourceType"], first["loc"]), first["msg"])


# --- malformed elements the rules do not read: no longer a 400 (the trade-off) ---------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"note": 42},  # Observation.note as a number
        {"category": "laboratory"},
        {"interpretation": [{"coding": "H"}]},
        {"referenceRange": [{"low": {"value": "low"}}]},
        {"performer": "Dr Who"},
        {"meta": {"lastUpdated": "yesterday"}},
        {"text": {"status": "generated", "div": 5}},
        {"identifier": "MRN 123"},
        {"_effectiveDateTime": 5},  # a primitive's extension sibling
        {"vendorField": True},  # an element R4 does not define
    ],
    ids=lambda f: next(iter(f)),
)
def test_a_malformed_element_the_rules_do_not_read_is_ignored(fields: dict[str, Any]) -> None:
    (m,) = build_record(PID, [calcium(**fields)]).measurements
    assert (m.lab, m.value, m.source) == (Lab.CALCIUM, pytest.approx(2.3), "Observation/ca")


def test_a_patient_name_as_a_string_no_longer_hides_the_patient() -> None:
    got = build_record(PID, [patient(gender="female", birthDate="1950-04-03", name="Jane Doe")]).patient
    assert (got.sex, got.birth_date) == (
        Sex.FEMALE,
        build_record(PID, [patient(birthDate="1950-04-03")]).patient.birth_date,
    )


def test_malformed_dosage_instructions_are_not_read() -> None:
    (exposure,) = build_record(PID, [denosumab(dosageInstruction="60 mg every 6 months", note=1)]).medications
    assert exposure.source == "MedicationRequest/dmab"


# --- the verdict cache ----------------------------------------------------------------------------


def test_a_cached_verdict_never_crosses_values_or_elements() -> None:
    # null is fine (ignored with a note), +inf is not: a JSON-encoded key would make both "null"
    assert build_record(PID, [calcium(valueQuantity={"value": None})]).measurements == ()
    assert error_of(calcium(valueQuantity={"value": math.inf})).field == "Observation.valueQuantity.value"
    # a date is a valid dateTime but not a valid instant: the verdict is per element
    assert build_record(PID, [calcium(effectiveDateTime="2024-03-01")]).measurements
    assert error_of(calcium(issued="2024-03-01")).field == "Observation.issued"


def test_a_malformed_value_is_refused_every_time() -> None:
    bad = calcium(effectiveDateTime="2024-02-30")
    for _ in range(3):
        assert error_of(copy.deepcopy(bad)).field == "Observation.effectiveDateTime"


def test_a_resource_sent_again_is_judged_again_under_its_new_name() -> None:
    bad = calcium(effectiveDateTime="2024-02-30")
    del bad["id"]
    assert error_of(copy.deepcopy(bad)).resource == "Observation[0]"
    fine = calcium()
    assert error_of(fine, copy.deepcopy(bad)).resource == "Observation[1]"  # the same verdict, its own label


def test_a_resource_changed_in_one_read_element_is_validated_afresh() -> None:
    resource = calcium()
    assert build_record(PID, [resource]).measurements
    resource["valueQuantity"] = {"value": "2.3.1", "unit": "mmol/L"}
    assert error_of(resource).field == "Observation.valueQuantity.value"


# --- plain messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            calcium(valueQuantity=[{"value": 2.3}]),
            "Observation.valueQuantity of Observation/ca: expected an object, got an array",
        ),
        (
            calcium(valueQuantity="2.3 mmol/L"),
            "Observation.valueQuantity of Observation/ca: expected an object, got a string",
        ),
        (
            calcium(valueQuantity=2.3),
            "Observation.valueQuantity of Observation/ca: expected an object, got a number",
        ),
        (
            condition(cc(SNOMED, "44054006"), "dm", clinicalStatus={"coding": "active"}),
            "Condition.clinicalStatus.coding of Condition/dm: expected an array, got a string",
        ),
        (patient(birthDate="X1948-03-02"), f"Patient.birthDate of Patient/{PID}: "),
    ],
)
def test_a_mapping_error_names_the_resource_once_in_json_terms(
    resource: dict[str, Any], message: str
) -> None:
    text = str(error_of(resource))
    assert text.startswith(message)
    assert text.count(f"{resource['resourceType']}/") == 1
    assert "<class" not in text and "Invalid JSON" not in text
