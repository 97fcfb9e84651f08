"""The shared definitions of rules.md, on both sides of each boundary, at a fixed clock."""

from __future__ import annotations

from datetime import date

import pytest

from service.kernel.record import (
    BmdSite,
    ConditionFact,
    DrugClass,
    ExposureKind,
    Lab,
    Problem,
)
from service.kernel.thresholds import RuleSettings
from service.rules import definitions
from tests.builders import NOW, ago, lab, medication, record

S = RuleSettings()


@pytest.mark.parametrize(("days", "inside"), [(364, True), (365, True), (366, False)])
def test_window_includes_its_last_day(days: int, inside: bool) -> None:
    assert definitions.within(ago(days), NOW, 365) is inside


def test_a_future_dated_value_is_not_the_latest() -> None:
    r = record(labs=(lab(Lab.CALCIUM, 2.3, 10), lab(Lab.CALCIUM, 2.9, -3)))
    latest = definitions.latest(r, Lab.CALCIUM, NOW)
    assert latest is not None and latest.value == 2.3


def test_calcium_is_corrected_for_albumin_of_the_same_day_only() -> None:
    corrected = definitions.serum_calcium(
        record(labs=(lab(Lab.CALCIUM, 2.10, 5), lab(Lab.ALBUMIN, 30, 5))), NOW, S
    )
    assert (
        corrected is not None and corrected.value == pytest.approx(2.30) and corrected.albumin_g_per_l == 30
    )
    other_day = definitions.serum_calcium(
        record(labs=(lab(Lab.CALCIUM, 2.10, 5), lab(Lab.ALBUMIN, 30, 6))), NOW, S
    )
    assert other_day is not None and other_day.value == 2.10 and other_day.albumin_g_per_l is None


def test_renal_function_is_the_lower_of_crcl_and_egfr_within_the_window() -> None:
    r = record(labs=(lab(Lab.EGFR, 40, 10), lab(Lab.CREATININE_CLEARANCE, 33, 20)))
    rf = definitions.renal_function(r, NOW, 365)
    assert rf is not None and (rf.value, rf.kind) == (33, "crcl")
    old = record(labs=(lab(Lab.EGFR, 40, 10), lab(Lab.CREATININE_CLEARANCE, 33, 366)))
    rf_old = definitions.renal_function(old, NOW, 365)
    assert rf_old is not None and (rf_old.value, rf_old.kind) == (40, "egfr")


def test_cockcroft_gault_only_when_nothing_better_exists() -> None:
    # 76-year-old woman, 60 kg, creatinine 1.2 mg/dL: (140-76)*60/(72*1.2)*0.85 = 37.8
    r = record(labs=(lab(Lab.CREATININE, 1.2, 3), lab(Lab.BODY_WEIGHT, 60, 3)))
    rf = definitions.renal_function(r, NOW, 365)
    assert rf is not None and rf.kind == "crcl-cockcroft-gault" and rf.value == pytest.approx(37.8, abs=0.1)
    assert definitions.renal_function(record(labs=(lab(Lab.CREATININE, 1.2, 3),)), NOW, 365) is None


@pytest.mark.parametrize(
    ("score", "site", "fragile"),
    [
        (-2.6, BmdSite.LUMBAR_SPINE, True),
        (-2.5, BmdSite.FEMORAL_NECK, True),
        (-2.4, BmdSite.HIP, False),
        (-3.0, BmdSite.OTHER, False),  # forearm: a BMD result, not a fragility criterion
    ],
)
def test_bone_fragility_from_a_t_score(score: float, site: BmdSite, fragile: bool) -> None:
    assert (
        definitions.bone_fragility(record(labs=(lab(Lab.T_SCORE, score, 30, site),)), NOW) is not None
    ) is fragile


def test_only_the_latest_dxa_examination_counts() -> None:
    r = record(labs=(lab(Lab.T_SCORE, -2.8, 800, BmdSite.HIP), lab(Lab.T_SCORE, -2.0, 30, BmdSite.HIP)))
    assert definitions.bone_fragility(r, NOW) is None


def test_a_healed_fragility_fracture_still_counts_but_resolved_osteoporosis_does_not() -> None:
    fracture = ConditionFact(Problem.FRAGILITY_FRACTURE, False, date(2010, 1, 1), "Condition/f")
    resolved = ConditionFact(Problem.OSTEOPOROSIS, False, date(2010, 1, 1), "Condition/o")
    assert definitions.bone_fragility(record(conditions=(fracture,)), NOW) is not None
    assert definitions.bone_fragility(record(conditions=(resolved,)), NOW) is None


def test_any_anti_osteoporosis_drug_ever_is_bone_fragility_but_a_draft_is_not() -> None:
    old = medication({DrugClass.BISPHOSPHONATE}, 3000, status="completed", active=False)
    assert definitions.bone_fragility(record(meds=(old,)), NOW) is not None
    draft = medication({DrugClass.BISPHOSPHONATE}, 0, draft=True, active=True)
    assert definitions.bone_fragility(record(drafts=(draft,)), NOW) is None


def test_denosumab_last_dose_discontinued_and_sequenced() -> None:
    dose = medication(
        {DrugClass.DENOSUMAB}, 200, kind=ExposureKind.ADMINISTRATION, status="completed", active=False
    )
    stopped = medication({DrugClass.DENOSUMAB}, 190, status="stopped", active=False)
    r = record(meds=(dose, stopped))
    assert definitions.denosumab_last_dose(r, NOW) == ago(190).date()
    assert definitions.denosumab_discontinued(r) is True
    assert definitions.denosumab_discontinued(record(meds=(dose,))) is False
    d = ago(200).date()
    before = medication({DrugClass.BISPHOSPHONATE}, 300, status="completed", active=False)
    after = medication({DrugClass.BISPHOSPHONATE}, 10, kind=ExposureKind.STATEMENT)
    assert definitions.sequenced_after(record(meds=(dose, before)), d) is False
    assert definitions.sequenced_after(record(meds=(dose, after)), d) is True
    assert definitions.sequenced_after(
        record(meds=(dose,), drafts=(medication({DrugClass.BISPHOSPHONATE}, 0, draft=True, active=True),)), d
    )
