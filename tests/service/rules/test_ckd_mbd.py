"""ckd-mineral-bone-workup (rules.md r3, new): eGFR alone or dialysis, the tests, the one-offer-per-test."""

from __future__ import annotations

from dataclasses import replace

import pytest

from service.cards.answer import cards_for
from service.kernel.findings import Indicator, Topic
from service.kernel.record import (
    DrugClass,
    Lab,
    Measurement,
    PatientRecord,
    Problem,
    Sex,
)
from service.kernel.record import TestOrder as Ordered
from service.rules import Moment, evaluate
from service.rules.ckd_mbd import ckd_mineral_bone_workup
from tests.builders import NOW, ago, born_years_ago, condition, lab, patient, record
from tests.builders import medication as med
from tests.service.rules._drug_records import SETTINGS, osteoporosis, t2dm

ALL = (Lab.CALCIUM, Lab.PTH, Lab.PHOSPHATE, Lab.VITAMIN_D, Lab.ALKALINE_PHOSPHATASE)
DONE = (
    lab(Lab.CALCIUM, 2.3, 100),
    lab(Lab.PTH, 80, 100),
    lab(Lab.PHOSPHATE, 1.3, 100),
    lab(Lab.VITAMIN_D, 30, 100),
    lab(Lab.ALKALINE_PHOSPHATASE, 90, 100),
)


def chart(
    *labs: Measurement,
    egfr: float | None = 26,
    egfr_days: int = 10,
    extra: tuple = (),
    fragile: bool = True,
    diabetic: bool = True,
    meds: tuple = (),
) -> PatientRecord:
    kidney = (lab(Lab.EGFR, egfr, egfr_days),) if egfr is not None else ()
    conditions = [*([t2dm()] if diabetic else []), *([osteoporosis()] if fragile else []), *extra]
    return record(
        who=patient(Sex.MALE, born_years_ago(69)), conditions=conditions, labs=(*kidney, *labs), meds=meds
    )


def offered(r: PatientRecord) -> tuple[Lab, ...] | None:
    finding = ckd_mineral_bone_workup(r, NOW, SETTINGS)
    return None if finding is None else finding.lab_orders


def test_egfr_26_with_osteoporosis_and_no_tests_offers_all_five_as_info() -> None:
    finding = ckd_mineral_bone_workup(chart(), NOW, SETTINGS)
    assert finding is not None
    assert (finding.topic, finding.indicator) == (Topic.CKD_MINERAL_BONE_WORKUP, Indicator.INFO)
    assert finding.lab_orders == ALL


@pytest.mark.parametrize(("value", "fires"), [(29.9, True), (30, False)])
def test_egfr_below_30(value: float, fires: bool) -> None:
    assert (offered(chart(egfr=value)) is not None) is fires


@pytest.mark.parametrize(("days", "fires"), [(365, True), (366, False)])
def test_egfr_within_365_days(days: int, fires: bool) -> None:
    assert (offered(chart(egfr_days=days)) is not None) is fires


def test_egfr_alone_a_low_creatinine_clearance_does_not_count() -> None:
    assert offered(chart(lab(Lab.CREATININE_CLEARANCE, 20, 10), egfr=45)) is None


def test_on_dialysis_whatever_the_egfr() -> None:
    finding = ckd_mineral_bone_workup(chart(egfr=55, extra=(condition(Problem.DIALYSIS),)), NOW, SETTINGS)
    assert finding is not None and finding.facts.dialysis
    assert offered(chart(egfr=None, extra=(condition(Problem.DIALYSIS),))) == ALL


def test_t2dm_and_bone_fragility_are_both_needed() -> None:
    assert offered(chart(diabetic=False)) is None
    assert offered(chart(fragile=False)) is None


def test_every_test_within_365_days_no_card() -> None:
    assert offered(chart(*DONE)) is None


@pytest.mark.parametrize(("days", "expected"), [(365, None), (366, (Lab.PTH,))])
def test_a_result_within_365_days_is_not_missing(days: int, expected: tuple[Lab, ...] | None) -> None:
    labs = [m for m in DONE if m.lab is not Lab.PTH] + [lab(Lab.PTH, 80, days)]
    assert offered(chart(*labs)) == expected


def test_ionised_calcium_is_a_calcium_and_bone_alp_an_alkaline_phosphatase() -> None:
    labs = [m for m in DONE if m.lab not in (Lab.CALCIUM, Lab.ALKALINE_PHOSPHATASE)]
    labs += [lab(Lab.IONISED_CALCIUM, 1.2, 50), lab(Lab.BONE_ALP, 20, 50)]
    assert offered(chart(*labs)) is None


def test_ordered_tests_are_not_offered_and_all_ordered_is_no_card() -> None:
    labs = [m for m in DONE if m.lab not in (Lab.PTH, Lab.PHOSPHATE)]
    pth = Ordered(Lab.PTH, "active", ago(10), "ServiceRequest/pth")
    some = replace(chart(*labs), test_orders=(pth,))
    finding = ckd_mineral_bone_workup(some, NOW, SETTINGS)
    assert finding is not None and finding.lab_orders == (Lab.PHOSPHATE,)
    assert [p.lab for p in finding.facts.pending] == [Lab.PTH]
    phosphate = Ordered(Lab.PHOSPHATE, "active", ago(10), "ServiceRequest/po4")
    assert offered(replace(some, test_orders=(pth, phosphate))) is None
    # an order older than 92 days without a result is treated as lost
    lost = Ordered(Lab.PHOSPHATE, "active", ago(93), "ServiceRequest/po4-old")
    assert offered(replace(some, test_orders=(pth, lost))) == (Lab.PHOSPHATE,)


SUPPLEMENT = (med({DrugClass.CALCIUM_SUPPLEMENT}, 200, name="calcium carbonate"),)


def test_not_when_monitoring_overdue_offers_every_missing_test() -> None:
    # on a supplement with T2DM, monitoring-overdue offers calcium, phosphate, PTH and 25-OH vitamin D
    def shown(r: PatientRecord) -> set[Topic]:
        return {f.topic for f in evaluate(r, NOW, SETTINGS, Moment.VIEW).cards}

    alp = lab(Lab.ALKALINE_PHOSPHATASE, 90, 100)
    every_test_elsewhere = shown(chart(alp, meds=SUPPLEMENT))
    assert Topic.MONITORING_OVERDUE in every_test_elsewhere
    assert Topic.CKD_MINERAL_BONE_WORKUP not in every_test_elsewhere
    assert Topic.CKD_MINERAL_BONE_WORKUP in shown(chart(meds=SUPPLEMENT))  # alkaline phosphatase is left
    assert offered(chart(meds=SUPPLEMENT)) == ALL


def test_the_answer_leaves_the_shared_tests_to_monitoring_overdue_and_mentions_them() -> None:
    r = chart(meds=SUPPLEMENT)
    cards = cards_for(evaluate(r, NOW, SETTINGS, Moment.VIEW).cards, r, NOW, "en", budget=None)
    by_topic = {c.source.topic.code: c for c in cards}
    ckd = by_topic[Topic.CKD_MINERAL_BONE_WORKUP.value]
    assert [s.label for s in ckd.suggestions or []] == ["Order serum alkaline phosphatase"]
    assert ckd.detail is not None and ckd.detail.startswith("Also needed:")
    assert Topic.MONITORING_OVERDUE.value in by_topic


def test_exclusions_under_18_palliative_care_and_pregnancy() -> None:
    def shown(r: PatientRecord) -> bool:
        return Topic.CKD_MINERAL_BONE_WORKUP in {
            f.topic for f in evaluate(r, NOW, SETTINGS, Moment.VIEW).cards
        }

    assert shown(chart())
    assert not shown(replace(chart(), patient=patient(Sex.FEMALE, born_years_ago(17))))
    assert not shown(chart(extra=(condition(Problem.PALLIATIVE_CARE, onset=NOW.date()),)))
    pregnant = replace(
        chart(extra=(condition(Problem.PREGNANCY, onset=NOW.date()),)),
        patient=patient(Sex.FEMALE, born_years_ago(34)),
    )
    assert shown(pregnant)  # it offers tests only, no bone drug
