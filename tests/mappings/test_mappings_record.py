"""build_record as a whole: patient, other patients, references, Bundles, Synthea fixtures, speed."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest

from mappings import MappingError, build_record
from service.kernel.record import BmdSite, DrugClass, Lab, Problem, Sex
from tests.mappings.fhirdata import (
    PID,
    RXNORM,
    SNOMED,
    cc,
    coded,
    condition,
    med_request,
    observation,
    patient,
    synthea,
)


@pytest.mark.parametrize(
    ("fields", "sex", "birth", "deceased"),
    [
        ({"gender": "female", "birthDate": "1950-04-03"}, Sex.FEMALE, date(1950, 4, 3), False),
        ({"gender": "male", "birthDate": "1950"}, Sex.MALE, date(1950, 1, 1), False),
        ({"birthDate": "1950-04"}, Sex.UNKNOWN, date(1950, 4, 1), False),
        ({"gender": "other", "deceasedBoolean": True}, Sex.OTHER, None, True),
        ({"deceasedBoolean": False}, Sex.UNKNOWN, None, False),
        ({"deceasedDateTime": "2023-01-01"}, Sex.UNKNOWN, None, True),
    ],
)
def test_patient(fields: dict, sex: Sex, birth: date | None, deceased: bool) -> None:
    got = build_record(PID, [patient(**fields)]).patient
    assert (got.id, got.sex, got.birth_date, got.deceased) == (PID, sex, birth, deceased)


def test_patient_absent_gives_an_unknown_patient() -> None:
    got = build_record(PID, []).patient
    assert (got.id, got.sex, got.birth_date, got.deceased) == (PID, Sex.UNKNOWN, None, False)


def test_other_patients_resource_is_ignored() -> None:
    resources = [
        patient("other", gender="male"),
        patient(gender="female"),
        condition(cc(SNOMED, "44054006"), "mine"),
        condition(cc(SNOMED, "64859006"), "theirs", subject="Patient/other"),
        observation("2000-8", 2.3, "mmol/L", "theirs-obs", subject="http://ehr.example/fhir/Patient/other"),
        med_request(coded(RXNORM, "993452"), "theirs-med", subject="Patient/other/_history/3"),
        condition(cc(SNOMED, "414916001"), "group", subject="Group/g1"),
    ]
    record = build_record(PID, resources)
    assert record.patient.sex is Sex.FEMALE
    assert [c.source for c in record.conditions] == ["Condition/mine"]
    assert record.measurements == () and record.medications == ()


@pytest.mark.parametrize(
    "subject",
    ["Patient/p1", "http://ehr.example/fhir/Patient/p1", "Patient/p1/_history/2", "urn:uuid:p1", None],
)
def test_references_to_the_patient_are_recognised(subject: str | None) -> None:
    assert len(build_record(PID, [condition(cc(SNOMED, "44054006"), subject=subject)]).conditions) == 1


def test_urn_uuid_fullurl_of_the_patient_resolves_to_its_id() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:0000-1111", "resource": patient("123", gender="female")},
            {
                "fullUrl": "urn:uuid:0000-2222",
                "resource": condition(cc(SNOMED, "44054006"), subject="urn:uuid:0000-1111"),
            },
            {
                "fullUrl": "urn:uuid:0000-3333",
                "resource": condition(cc(SNOMED, "64859006"), "c2", subject="urn:uuid:9999"),
            },
        ],
    }
    record = build_record("123", [bundle])
    assert record.patient.sex is Sex.FEMALE
    assert [c.problem for c in record.conditions] == [Problem.T2DM]


def test_patient_id_given_as_a_reference() -> None:
    assert build_record("Patient/p1", [condition(cc(SNOMED, "44054006"))]).patient.id == PID


def test_searchset_and_nested_bundles_are_flattened() -> None:
    inner = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": condition(cc(SNOMED, "64859006"), "c2")}],
    }
    outer = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": condition(cc(SNOMED, "44054006"))},
            {"resource": inner},
            {"search": {"mode": "outcome"}},
        ],
    }
    assert {c.problem for c in build_record(PID, [outer]).conditions} == {Problem.T2DM, Problem.OSTEOPOROSIS}


def test_irrelevant_resource_types_are_ignored_even_when_malformed() -> None:
    junk: list[Any] = [
        {"resourceType": "Encounter", "id": 5, "status": []},
        {"resourceType": "Claim"},
        "not a resource",
        None,
        7,
    ]
    assert build_record(PID, junk) == build_record(PID, [])


def test_malformed_relevant_condition_raises_with_its_path() -> None:
    bad = condition(cc(SNOMED, "44054006"), "bad", onsetDateTime="last spring")
    with pytest.raises(MappingError) as err:
        build_record(PID, [bad])
    assert (err.value.resource, err.value.field) == ("Condition/bad", "Condition.onsetDateTime")
    assert isinstance(err.value, ValueError)


def test_dialysis_procedure_is_a_dialysis_condition() -> None:
    proc = {
        "resourceType": "Procedure",
        "id": "hd",
        "status": "completed",
        "code": cc(SNOMED, "302497006", "Hemodialysis"),
        "subject": {"reference": "Patient/p1"},
        "performedPeriod": {"start": "2024-01-10T08:00:00Z"},
    }
    (fact,) = build_record(PID, [proc]).conditions
    assert (fact.problem, fact.active, fact.onset, fact.source) == (
        Problem.DIALYSIS,
        True,
        date(2024, 1, 10),
        "Procedure/hd",
    )


def test_synthea_twyla_moen() -> None:
    pid, bundle = synthea("Twyla_Moen")
    record = build_record(pid, [bundle])
    assert record.patient.sex is Sex.FEMALE and record.patient.birth_date == date(1945, 12, 9)
    assert record.has_problem(Problem.T2DM)
    assert record.has_problem(Problem.OSTEOPOROSIS)
    assert record.has_problem(Problem.DIABETIC_NEUROPATHY)
    assert record.has_problem(Problem.FRAGILITY_FRACTURE, active_only=False)  # 443165006, resolved
    (alendronate,) = record.exposures(DrugClass.BISPHOSPHONATE)
    assert alendronate.coding is not None and alendronate.coding.code == "904419" and alendronate.active
    calcium = record.series(Lab.CALCIUM)
    assert len(calcium) == 11 and all(
        2.0 < m.value < 2.7 for m in calcium if m.value is not None
    )  # 49765-1 in mg/dL
    egfr = record.series(Lab.EGFR)
    assert len(egfr) == 11 and egfr[-1].unit == "mL/min/1.73 m2"
    assert record.notes == ()


def test_synthea_willia_t_score_38265_5_is_site_other() -> None:
    pid, bundle = synthea("Willia_Runolfsdottir")
    record = build_record(pid, [bundle])
    (t_score,) = record.series(Lab.T_SCORE)
    assert t_score.site is BmdSite.OTHER
    assert record.has_problem(Problem.OSTEOPOROSIS)
    assert record.exposures(DrugClass.BISPHOSPHONATE)


def test_synthea_fabian_murray() -> None:
    pid, bundle = synthea("Fabian_Murray")
    record = build_record(pid, [bundle])
    assert record.has_problem(Problem.T2DM) and record.has_problem(Problem.OBESITY)
    (metformin,) = record.exposures(DrugClass.METFORMIN)
    assert metformin.coding is not None and metformin.coding.code == "860975"
    assert not record.exposures(DrugClass.TZD)


def test_fixtures_of_other_patients_are_ignored() -> None:
    pid, twyla = synthea("Twyla_Moen")
    _, fabian = synthea("Fabian_Murray")
    both = build_record(pid, [twyla, fabian])
    assert both == build_record(pid, [twyla])


def test_a_heavy_request_is_mapped_quickly() -> None:
    pid, bundle = synthea("Twyla_Moen")
    build_record(pid, [bundle])  # warm caches
    entries = bundle["entry"] * 2  # ~860 resources
    start = time.perf_counter()
    build_record(pid, [{"resourceType": "Bundle", "type": "searchset", "entry": entries}])
    assert time.perf_counter() - start < 0.5
