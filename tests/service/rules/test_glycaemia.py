"""glycemic-overtreatment-fall-risk (rules.md r3, new): every threshold, window and exclusion on both sides."""

from __future__ import annotations

from dataclasses import replace

import pytest

from service.kernel.findings import Indicator, Topic
from service.kernel.record import DrugClass, ExposureKind, Lab, PatientRecord, Problem, Sex
from service.rules import Moment, evaluate
from service.rules.glycaemia import glycemic_overtreatment
from tests.builders import NOW, born_years_ago, condition, days_ago, lab, patient, record
from tests.builders import medication as med
from tests.service.rules._drug_records import INSULIN, METFORMIN, SETTINGS, osteoporosis, t2dm

SULFONYLUREA = {DrugClass.SULFONYLUREA}
GLINIDE = {DrugClass.GLINIDE}


def chart(
    *,
    age: int = 70,
    days_after: int = 0,
    drug: set[DrugClass] | None = None,
    labs: tuple = (),
    extra: tuple = (),
    fragile: bool = True,
    diabetic: bool = True,
    sex: Sex = Sex.FEMALE,
) -> PatientRecord:
    """An older patient with T2DM and osteoporosis on insulin, with the given signs of over-treatment."""
    conditions = [*([t2dm()] if diabetic else []), *([osteoporosis()] if fragile else []), *extra]
    return record(
        who=patient(sex, born_years_ago(age, days_after=days_after)),
        conditions=conditions,
        labs=labs,
        meds=[med(drug if drug is not None else INSULIN, 200, name="insulin glargine")],
    )


LOW_GLUCOSE = (lab(Lab.GLUCOSE, 3.4, 30),)


def fires(r: PatientRecord) -> bool:
    return glycemic_overtreatment(r, NOW, SETTINGS) is not None


def test_a_low_glucose_on_insulin_at_70_with_osteoporosis_is_a_warning() -> None:
    finding = glycemic_overtreatment(chart(labs=LOW_GLUCOSE), NOW, SETTINGS)
    assert finding is not None
    assert (finding.topic, finding.indicator) == (Topic.GLYCEMIC_OVERTREATMENT_FALL_RISK, Indicator.WARNING)
    assert finding.facts.low_glucose is not None and finding.facts.low_glucose.value == 3.4
    assert finding.facts.age == 70
    assert not (finding.lab_orders or finding.proposals or finding.service_orders)  # no order is offered


@pytest.mark.parametrize(("age", "days_after", "expected"), [(65, 0, True), (65, 1, False), (64, 0, False)])
def test_age_65_and_over(age: int, days_after: int, expected: bool) -> None:
    assert fires(chart(age=age, days_after=days_after, labs=LOW_GLUCOSE)) is expected


def test_an_unknown_birth_date_does_not_fire() -> None:
    r = chart(labs=LOW_GLUCOSE)
    assert not fires(replace(r, patient=patient(Sex.FEMALE, None)))


@pytest.mark.parametrize(
    ("drug", "expected"),
    [(INSULIN, True), (SULFONYLUREA, True), (GLINIDE, True), (METFORMIN, False)],
)
def test_insulin_or_an_insulin_secretagogue(drug: set[DrugClass], expected: bool) -> None:
    assert fires(chart(drug=drug, labs=LOW_GLUCOSE)) is expected


def test_a_completed_insulin_order_is_not_active() -> None:
    r = record(
        who=patient(Sex.FEMALE, born_years_ago(70)),
        conditions=[t2dm(), osteoporosis()],
        labs=LOW_GLUCOSE,
        meds=[med(INSULIN, 200, status="completed")],
    )
    assert not fires(r)


def test_t2dm_and_bone_fragility_are_both_needed() -> None:
    assert not fires(chart(labs=LOW_GLUCOSE, diabetic=False))
    assert not fires(chart(labs=LOW_GLUCOSE, fragile=False))


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [(6.9, 183, True), (6.9, 184, False), (7.0, 10, False), (6.99, 0, True)],
)
def test_hba1c_below_7_within_183_days(value: float, days: int, expected: bool) -> None:
    assert fires(chart(labs=(lab(Lab.HBA1C, value, days),))) is expected


def test_only_the_latest_hba1c_counts() -> None:
    assert not fires(chart(labs=(lab(Lab.HBA1C, 6.2, 100), lab(Lab.HBA1C, 7.4, 20))))


@pytest.mark.parametrize(("days", "expected"), [(365, True), (366, False)])
def test_a_hypoglycaemia_condition_within_365_days_of_any_status(days: int, expected: bool) -> None:
    hypo = condition(Problem.HYPOGLYCAEMIA, active=False, onset=days_ago(days))
    assert fires(chart(extra=(hypo,))) is expected


def test_an_undated_hypoglycaemia_condition_does_not_count() -> None:
    assert not fires(chart(extra=(condition(Problem.HYPOGLYCAEMIA),)))


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [
        (3.84, 10, True),
        (3.9, 10, False),
        (69 / 18.016, 10, True),  # 69 mg/dL
        (70 / 18.016, 10, False),  # 70 mg/dL is the limit itself
        (3.0, 365, True),
        (3.0, 366, False),
    ],
)
def test_glucose_below_3_9_within_365_days(value: float, days: int, expected: bool) -> None:
    assert fires(chart(labs=(lab(Lab.GLUCOSE, value, days),))) is expected


def test_a_low_glucose_among_normal_ones_counts_and_the_latest_low_one_is_quoted() -> None:
    labs = (lab(Lab.GLUCOSE, 3.1, 200), lab(Lab.GLUCOSE, 3.6, 100), lab(Lab.GLUCOSE, 6.0, 5))
    finding = glycemic_overtreatment(chart(labs=labs), NOW, SETTINGS)
    assert finding is not None and finding.facts.low_glucose is not None
    assert finding.facts.low_glucose.value == 3.6


@pytest.mark.parametrize(
    ("labs", "dialysis", "expected"),
    [
        ((lab(Lab.EGFR, 30, 10),), False, True),
        ((lab(Lab.EGFR, 29, 10),), False, False),
        ((lab(Lab.EGFR, 60, 10),), True, False),
        ((), False, False),  # renal function unknown: metformin is not named
    ],
)
def test_metformin_is_named_only_with_renal_function_30_or_more(
    labs: tuple, dialysis: bool, expected: bool
) -> None:
    extra = (condition(Problem.DIALYSIS),) if dialysis else ()
    finding = glycemic_overtreatment(chart(labs=(*LOW_GLUCOSE, *labs), extra=extra), NOW, SETTINGS)
    assert finding is not None and finding.facts.metformin is expected


def test_a_chart_statement_of_a_sulfonylurea_counts_when_active() -> None:
    r = record(
        who=patient(Sex.MALE, born_years_ago(76)),
        conditions=[t2dm(), osteoporosis()],
        labs=LOW_GLUCOSE,
        meds=[med(SULFONYLUREA, 300, kind=ExposureKind.STATEMENT, name="gliclazide")],
    )
    assert fires(r)


def test_exclusions_under_18_and_palliative_care_but_not_pregnancy() -> None:
    topic = Topic.GLYCEMIC_OVERTREATMENT_FALL_RISK

    def shown(r: PatientRecord) -> bool:
        return topic in {f.topic for f in evaluate(r, NOW, SETTINGS, Moment.VIEW).cards}

    assert shown(chart(labs=LOW_GLUCOSE))
    # under 18 the evaluation shows no patient-view card (and the topic's age limit is 65 anyway)
    minor = chart(labs=LOW_GLUCOSE)
    assert not shown(replace(minor, patient=patient(Sex.FEMALE, born_years_ago(17))))
    palliative = condition(Problem.PALLIATIVE_CARE, onset=NOW.date())
    assert not shown(chart(labs=LOW_GLUCOSE, extra=(palliative,)))
    pregnancy = condition(Problem.PREGNANCY, onset=NOW.date())
    assert shown(chart(labs=LOW_GLUCOSE, extra=(pregnancy,)))  # it advises no bone drug
