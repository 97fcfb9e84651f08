"""Conditions -> ConditionFact: each problem by SNOMED, ICD-10-CM (with/without dot), ICD-10 (China) and text."""

from __future__ import annotations

from datetime import date

import pytest

from mappings import build_record
from service.kernel.record import Problem
from tests.mappings.fhirdata import ICD10, ICD10CM, PID, SNOMED, cc, condition


def problems(*resources: dict) -> set[Problem]:
    return {c.problem for c in build_record(PID, list(resources)).conditions}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (cc(SNOMED, "44054006", "Diabetes mellitus type 2"), {Problem.T2DM}),
        (cc(ICD10CM, "E11.9"), {Problem.T2DM}),
        (cc(ICD10CM, "E119"), {Problem.T2DM}),  # no dot
        (cc(ICD10, "E11.900x001", "2型糖尿病"), {Problem.T2DM}),  # China's clinical edition extends the code
        (cc("urn:oid:2.16.156.10011.2.3.3.11", "E11.900"), {Problem.T2DM}),  # China's EMR OID, no display
        (cc("urn:oid:2.16.156.10011.2.3.3.11.3", "M81.000"), {Problem.OSTEOPOROSIS}),
        (cc(ICD10CM, "E11.21"), {Problem.T2DM, Problem.DIABETIC_KIDNEY_DISEASE}),
        (
            cc(ICD10CM, "E11.22"),
            {Problem.T2DM, Problem.DIABETIC_KIDNEY_DISEASE, Problem.CHRONIC_KIDNEY_DISEASE},
        ),
        (cc(ICD10CM, "E11.42"), {Problem.T2DM, Problem.DIABETIC_NEUROPATHY}),
        (cc(ICD10CM, "E11.649"), {Problem.T2DM, Problem.HYPOGLYCAEMIA}),
        (cc(ICD10CM, "E10.9"), set()),  # type 1 is not T2DM
        (cc(SNOMED, "46635009", "Diabetes mellitus type 1"), set()),
        (cc(SNOMED, "15777000", "Prediabetes"), set()),
        (
            cc(SNOMED, "713706002", "Polyneuropathy due to type 2 diabetes mellitus"),
            {Problem.T2DM, Problem.DIABETIC_NEUROPATHY},
        ),
        (cc(SNOMED, "64859006", "Osteoporosis"), {Problem.OSTEOPOROSIS}),
        (cc(ICD10CM, "M81.0"), {Problem.OSTEOPOROSIS}),
        (cc(ICD10CM, "M80.08XA"), {Problem.OSTEOPOROSIS, Problem.FRAGILITY_FRACTURE}),
        (
            cc(SNOMED, "443165006", "Osteoporotic fracture of bone"),
            {Problem.OSTEOPOROSIS, Problem.FRAGILITY_FRACTURE},
        ),
        (
            cc(SNOMED, "704334005", "Osteoporotic fracture of proximal femur"),
            {Problem.OSTEOPOROSIS, Problem.FRAGILITY_FRACTURE},
        ),
        (cc(SNOMED, "312894000", "Osteopenia"), {Problem.OSTEOPENIA}),
        (cc(ICD10CM, "M85.80"), {Problem.OSTEOPENIA}),
        (cc(SNOMED, "414916001", "Obesity"), {Problem.OBESITY}),
        (cc(ICD10CM, "E66.01"), {Problem.OBESITY}),
        (cc(ICD10CM, "E66.3", "Overweight"), set()),
        (cc(SNOMED, "238131007", "Overweight"), set()),
        (cc(ICD10CM, "N18.4"), {Problem.CHRONIC_KIDNEY_DISEASE}),
        (cc(ICD10CM, "N18.6"), {Problem.CHRONIC_KIDNEY_DISEASE}),
        (cc(ICD10CM, "N17.9", "Acute kidney failure"), set()),
        (cc(SNOMED, "433144002", "Chronic kidney disease stage 3"), {Problem.CHRONIC_KIDNEY_DISEASE}),
        (
            cc(SNOMED, "236435004", "End stage renal failure on dialysis"),
            {Problem.CHRONIC_KIDNEY_DISEASE, Problem.DIALYSIS},
        ),
        (cc(ICD10CM, "Z99.2"), {Problem.DIALYSIS}),
        (cc(SNOMED, "302866003", "Hypoglycemia"), {Problem.HYPOGLYCAEMIA}),
        (cc(ICD10CM, "E16.2"), {Problem.HYPOGLYCAEMIA}),
    ],
)
def test_problem_by_code(code: dict, expected: set[Problem]) -> None:
    assert problems(condition(code)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Type 2 diabetes mellitus", {Problem.T2DM}),
        ("Diabetes mellitus, type II", {Problem.T2DM}),
        ("2型糖尿病", {Problem.T2DM}),
        ("Ⅱ型糖尿病伴周围神经病变", {Problem.T2DM, Problem.DIABETIC_NEUROPATHY}),
        ("糖尿病周围神经病变", {Problem.DIABETIC_NEUROPATHY}),
        ("糖尿病肾病", {Problem.DIABETIC_KIDNEY_DISEASE}),
        ("绝经后骨质疏松症", {Problem.OSTEOPOROSIS}),
        ("骨质疏松性骨折（桡骨远端）", {Problem.OSTEOPOROSIS, Problem.FRAGILITY_FRACTURE}),
        ("Fragility fracture of wrist", {Problem.FRAGILITY_FRACTURE}),
        ("骨量减少", {Problem.OSTEOPENIA}),
        ("慢性肾脏病 4期", {Problem.CHRONIC_KIDNEY_DISEASE}),
        ("维持性血液透析", {Problem.DIALYSIS}),
        ("肥胖症", {Problem.OBESITY}),
        ("Recurrent hypoglycaemia", {Problem.HYPOGLYCAEMIA}),
        ("Diabetes", set()),  # type not stated
        ("糖尿病", set()),
        ("Fracture of wrist", set()),  # a fracture is not a fragility fracture
        ("Overweight", set()),
    ],
)
def test_problem_by_text_when_no_code_is_recognised(text: str, expected: set[Problem]) -> None:
    local = {"coding": [{"system": "http://hospital.example.cn/dx", "code": "X123", "display": text}]}
    assert problems(condition(local)) == expected
    assert problems(condition({"text": text})) == expected


def test_a_recognised_code_wins_over_text() -> None:
    code = cc(SNOMED, "64859006", "Osteoporosis", text="Type 2 diabetes (see note)")
    assert problems(condition(code)) == {Problem.OSTEOPOROSIS}


@pytest.mark.parametrize(
    ("system", "code", "text", "expected"),
    [
        (ICD10CM, "Z49.01", "Preparatory care for dialysis", set()),  # preparation is not dialysis
        (ICD10, "Z49.0", "透析前准备", set()),
        (ICD10CM, "Z99.2", "Dependence on renal dialysis", {Problem.DIALYSIS}),
        (ICD10CM, "E16.1", "Other hypoglycemia", {Problem.HYPOGLYCAEMIA}),  # named by rules.md r3
        (ICD10, "E16.0", "药物性低血糖", {Problem.HYPOGLYCAEMIA}),
    ],
)
def test_an_icd10_code_outside_the_tracked_categories_is_not_read_by_its_text(
    system: str, code: str, text: str, expected: set[Problem]
) -> None:
    """ICD-10 is hierarchical and every tracked category is listed, so its text is not a second guess."""
    assert problems(condition(cc(system, code, text, text=text))) == expected


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_refuted_and_entered_in_error_are_dropped(verification: str) -> None:
    assert problems(condition(cc(SNOMED, "44054006"), verification=verification)) == set()


@pytest.mark.parametrize("verification", ["confirmed", "provisional", "unconfirmed", None])
def test_other_verification_statuses_count(verification: str | None) -> None:
    assert problems(condition(cc(SNOMED, "44054006"), verification=verification)) == {Problem.T2DM}


@pytest.mark.parametrize(
    ("clinical", "active"),
    [
        ("active", True),
        ("recurrence", True),
        ("relapse", True),
        (None, True),
        ("inactive", False),
        ("resolved", False),
        ("remission", False),
    ],
)
def test_active_follows_clinical_status(clinical: str | None, active: bool) -> None:
    (fact,) = build_record(PID, [condition(cc(SNOMED, "64859006"), clinical=clinical)]).conditions
    assert fact.active is active


def test_a_resolved_fragility_fracture_is_kept_inactive() -> None:
    record = build_record(PID, [condition(cc(SNOMED, "443165006"), clinical="resolved")])
    assert record.has_problem(Problem.FRAGILITY_FRACTURE, active_only=False)
    assert not record.has_problem(Problem.FRAGILITY_FRACTURE)


@pytest.mark.parametrize(
    ("fields", "onset"),
    [
        ({"onsetDateTime": "2010-05-04T08:00:00+08:00", "recordedDate": "2015-01-01"}, date(2010, 5, 4)),
        ({"onsetDateTime": "2010-05-04T20:00:00-08:00"}, date(2010, 5, 5)),  # UTC calendar date
        ({"onsetPeriod": {"start": "2009-03"}}, date(2009, 3, 1)),
        ({"onsetDateTime": "1998"}, date(1998, 1, 1)),
        ({"recordedDate": "2015-01-01"}, date(2015, 1, 1)),
        ({"onsetString": "childhood"}, None),
        ({}, None),
    ],
)
def test_onset_is_onset_else_recorded_date(fields: dict, onset: date | None) -> None:
    (fact,) = build_record(PID, [condition(cc(SNOMED, "44054006"), **fields)]).conditions
    assert fact.onset == onset


def test_fact_names_its_source_and_display() -> None:
    (fact,) = build_record(
        PID, [condition(cc(SNOMED, "64859006", "Osteoporosis (disorder)"), rid="abc")]
    ).conditions
    assert fact.source == "Condition/abc"
    assert fact.display == "Osteoporosis (disorder)"


def test_unrelated_conditions_are_ignored() -> None:
    assert build_record(PID, [condition(cc(SNOMED, "38341003", "Hypertension"))]).conditions == ()
