"""hypocalcemia-on-antiresorptive (rules.md r3, new): thresholds, windows, oncology regimens, exclusions."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from service.kernel.findings import Indicator, Topic
from service.kernel.record import (
    DrugClass,
    ExposureKind,
    Lab,
    Measurement,
    MedicationExposure,
    PatientRecord,
    Problem,
    Sex,
)
from service.kernel.record import TestOrder as Ordered
from service.rules import Moment, evaluate
from service.rules.calcium import hypocalcemia_on_antiresorptive
from tests.builders import NOW, ago, born_years_ago, condition, lab, patient, record
from tests.builders import medication as med
from tests.service.rules._drug_records import DENOSUMAB, SETTINGS, ZOLEDRONIC

ADMIN = ExposureKind.ADMINISTRATION
ZOMETA = {DrugClass.ZOLEDRONIC_ACID_ONCOLOGY}
XGEVA = {DrugClass.DENOSUMAB_ONCOLOGY}
WORKUP_DONE = (lab(Lab.VITAMIN_D, 30, 40), lab(Lab.PTH, 50, 40), lab(Lab.MAGNESIUM, 0.85, 40))


def chart(
    calcium: tuple[Measurement, ...] = (lab(Lab.CALCIUM, 2.05, 2),),
    meds: tuple[MedicationExposure, ...] = (
        med(DENOSUMAB, 40, kind=ADMIN, status="completed", name="Prolia"),
    ),
    labs: tuple[Measurement, ...] = WORKUP_DONE,
    extra: tuple = (),
) -> PatientRecord:
    return record(
        who=patient(Sex.FEMALE, born_years_ago(72)), conditions=extra, labs=(*calcium, *labs), meds=meds
    )


def check(r: PatientRecord):  # type: ignore[no-untyped-def]
    return hypocalcemia_on_antiresorptive(r, NOW, SETTINGS)


def test_low_calcium_40_days_after_denosumab_is_a_warning_offering_the_recheck() -> None:
    finding = check(chart())
    assert finding is not None
    assert (finding.topic, finding.indicator) == (Topic.HYPOCALCEMIA_ON_ANTIRESORPTIVE, Indicator.WARNING)
    assert finding.lab_orders == (Lab.CALCIUM,)
    assert finding.facts.denosumab and not finding.facts.oncology
    assert finding.facts.days_since_dose == 40 and finding.facts.drug == "Prolia"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (Lab.CALCIUM, 2.15, None),
        (Lab.CALCIUM, 2.14, Indicator.WARNING),
        (Lab.CALCIUM, 1.90, Indicator.WARNING),
        (Lab.CALCIUM, 1.89, Indicator.CRITICAL),
        (Lab.IONISED_CALCIUM, 1.15, None),
        (Lab.IONISED_CALCIUM, 1.14, Indicator.WARNING),
        (Lab.IONISED_CALCIUM, 1.00, Indicator.WARNING),
        (Lab.IONISED_CALCIUM, 0.99, Indicator.CRITICAL),
    ],
)
def test_low_and_severe_limits_of_each_kind(kind: Lab, value: float, expected: Indicator | None) -> None:
    finding = check(chart(calcium=(lab(kind, value, 2),)))
    assert (finding.indicator if finding else None) is expected


def test_albumin_correction_lifts_a_low_total_calcium_above_the_limit() -> None:
    # 2.05 + 0.02 × (40 − 30) = 2.25: not low
    assert check(chart(calcium=(lab(Lab.CALCIUM, 2.05, 2), lab(Lab.ALBUMIN, 30, 2)))) is None


@pytest.mark.parametrize(("days", "fires"), [(30, True), (31, False)])
def test_the_calcium_must_be_within_30_days(days: int, fires: bool) -> None:
    assert (check(chart(calcium=(lab(Lab.CALCIUM, 2.0, days),))) is not None) is fires


@pytest.mark.parametrize(("days", "fires"), [(365, True), (366, False)])
def test_denosumab_d_within_365_days(days: int, fires: bool) -> None:
    assert (check(chart(meds=(med(DENOSUMAB, days, kind=ADMIN, status="completed"),))) is not None) is fires


def test_a_renewed_denosumab_order_is_not_a_dose() -> None:
    # D is the administration 400 days ago; the order 10 days ago is not a dose (r3)
    meds = (med(DENOSUMAB, 400, kind=ADMIN, status="completed"), med(DENOSUMAB, 10))
    assert check(chart(meds=meds)) is None


@pytest.mark.parametrize(("days", "fires"), [(30, True), (31, False)])
def test_a_zoledronic_acid_exposure_within_30_days(days: int, fires: bool) -> None:
    finding = check(chart(meds=(med(ZOLEDRONIC, days, kind=ADMIN, status="completed", name="Aclasta"),)))
    assert (finding is not None) is fires
    if finding is not None:
        assert not finding.facts.denosumab


def test_oncology_regimens_count_too() -> None:
    zometa = check(chart(meds=(med(ZOMETA, 15, kind=ADMIN, status="completed", name="Zometa 4 mg"),)))
    assert zometa is not None and zometa.facts.oncology and not zometa.facts.denosumab
    assert check(chart(meds=(med(ZOMETA, 31, kind=ADMIN, status="completed"),))) is None
    xgeva = check(chart(meds=(med(XGEVA, 200, kind=ADMIN, status="completed", name="Xgeva"),)))
    assert xgeva is not None and xgeva.facts.oncology and xgeva.facts.denosumab
    assert check(chart(meds=(med(XGEVA, 366, kind=ADMIN, status="completed"),))) is None


def test_no_antiresorptive_no_card() -> None:
    assert check(chart(meds=(med({DrugClass.CALCIUM_SUPPLEMENT}, 40),))) is None


@pytest.mark.parametrize(("days", "offered"), [(92, False), (93, True)])
def test_vitamin_d_pth_and_magnesium_without_a_result_within_92_days(days: int, offered: bool) -> None:
    labs = (lab(Lab.VITAMIN_D, 30, days), lab(Lab.PTH, 50, days), lab(Lab.MAGNESIUM, 0.85, days))
    finding = check(chart(labs=labs))
    assert finding is not None
    expected = (Lab.CALCIUM, Lab.VITAMIN_D, Lab.PTH, Lab.MAGNESIUM) if offered else (Lab.CALCIUM,)
    assert finding.lab_orders == expected


def test_a_test_ordered_and_not_resulted_is_not_offered_again() -> None:
    r = replace(
        chart(labs=(lab(Lab.VITAMIN_D, 30, 40),)),
        test_orders=(
            Ordered(Lab.PTH, "active", ago(5), "ServiceRequest/pth"),
            Ordered(Lab.CALCIUM, "active", ago(1), "ServiceRequest/ca"),
        ),
    )
    finding = check(r)
    assert finding is not None
    assert finding.lab_orders == (Lab.MAGNESIUM,)
    assert {(p.lab, p.ordered_on) for p in finding.facts.pending} == {
        (Lab.PTH, (NOW - timedelta(days=5)).date()),
        (Lab.CALCIUM, (NOW - timedelta(days=1)).date()),
    }


def test_a_calcium_order_resolved_by_the_low_result_does_not_count() -> None:
    r = replace(chart(), test_orders=(Ordered(Lab.CALCIUM, "completed", ago(3), "ServiceRequest/ca"),))
    finding = check(r)
    assert finding is not None and finding.lab_orders == (Lab.CALCIUM,) and not finding.facts.pending


def test_renal_function_and_dialysis_are_quoted() -> None:
    finding = check(chart(labs=(*WORKUP_DONE, lab(Lab.EGFR, 24, 20))))
    assert finding is not None and finding.facts.renal is not None and finding.facts.renal.value == 24
    on_dialysis = check(chart(extra=(condition(Problem.DIALYSIS),)))
    assert on_dialysis is not None and on_dialysis.facts.dialysis


def shown(r: PatientRecord) -> list:  # type: ignore[type-arg]
    return [
        f
        for f in evaluate(r, NOW, SETTINGS, Moment.VIEW).cards
        if f.topic is Topic.HYPOCALCEMIA_ON_ANTIRESORPTIVE
    ]


def test_palliative_care_keeps_the_card_without_suggestions() -> None:
    palliative = condition(Problem.PALLIATIVE_CARE, onset=NOW.date())
    (finding,) = shown(chart(labs=(), extra=(palliative,)))
    assert finding.goals_of_care and finding.lab_orders == ()


def test_under_18_no_card_and_pregnancy_still_fires() -> None:
    assert shown(chart())
    assert not shown(replace(chart(), patient=patient(Sex.FEMALE, born_years_ago(17))))
    assert shown(chart(extra=(condition(Problem.PREGNANCY, onset=NOW.date()),)))
