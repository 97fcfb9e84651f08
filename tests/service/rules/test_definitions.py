"""The shared definitions of rules.md, on both sides of each boundary, at a fixed clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from service.kernel.clinical import FragilityReason, RenalMeasure, WithholdReason
from service.kernel.findings import Proposal
from service.kernel.record import (
    Allergy,
    BmdSite,
    Coding,
    ConditionFact,
    DrugClass,
    ExposureKind,
    Lab,
    Measurement,
    MedicationExposure,
    Patient,
    PatientRecord,
    Problem,
    Sex,
)
from service.kernel.record import TestOrder as Ordered
from service.kernel.thresholds import RuleSettings
from service.rules import definitions
from tests.builders import NOW, ago

S = RuleSettings()


def lab(kind: Lab, value: float | None, days: int, site: BmdSite | None = None) -> Measurement:
    return Measurement(kind, value, ago(days), f"Observation/{kind}-{days}", site=site)


def med(
    cls: set[DrugClass],
    days: int | None,
    *,
    kind: ExposureKind = ExposureKind.REQUEST,
    status: str = "active",
    active: bool = True,
    draft: bool = False,
) -> MedicationExposure:
    return MedicationExposure(
        frozenset(cls),
        "drug",
        kind,
        status,
        ago(days) if days is not None else None,
        active,
        f"{kind.value}/{days}",
        draft=draft,
    )


def record(
    *,
    measurements: tuple[Measurement, ...] = (),
    medications: tuple[MedicationExposure, ...] = (),
    conditions: tuple[ConditionFact, ...] = (),
    drafts: tuple[MedicationExposure, ...] = (),
    patient: Patient | None = None,
) -> PatientRecord:
    return PatientRecord(
        patient or Patient("p1", Sex.FEMALE, date(1950, 1, 1)),
        conditions,
        tuple(sorted(measurements, key=lambda m: m.at)),
        medications,
        drafts,
    )


@pytest.mark.parametrize(("days", "inside"), [(364, True), (365, True), (366, False)])
def test_window_includes_its_last_day(days: int, inside: bool) -> None:
    assert definitions.within(ago(days), NOW, 365) is inside


def test_a_future_dated_value_is_not_the_latest() -> None:
    r = record(measurements=(lab(Lab.CALCIUM, 2.3, 10), lab(Lab.CALCIUM, 2.9, -3)))
    latest = definitions.latest(r, Lab.CALCIUM, NOW)
    assert latest is not None and latest.value == 2.3


def test_calcium_is_corrected_for_albumin_within_24_hours_only() -> None:
    # r3: "the nearest serum albumin collected within 24 hours" (revision 2: the same calendar day)
    corrected = definitions.serum_calcium(
        record(measurements=(lab(Lab.CALCIUM, 2.10, 5), lab(Lab.ALBUMIN, 30, 5))), NOW, S
    )
    assert (
        corrected is not None and corrected.value == pytest.approx(2.30) and corrected.albumin_g_per_l == 30
    )
    a_day_before = definitions.serum_calcium(
        record(measurements=(lab(Lab.CALCIUM, 2.10, 5), lab(Lab.ALBUMIN, 30, 6))), NOW, S
    )
    assert a_day_before is not None and a_day_before.albumin_g_per_l == 30  # exactly 24 hours
    older = Measurement(Lab.ALBUMIN, 30, ago(6) - timedelta(minutes=1), "Observation/albumin-old")
    other_day = definitions.serum_calcium(record(measurements=(lab(Lab.CALCIUM, 2.10, 5), older)), NOW, S)
    assert other_day is not None and other_day.value == 2.10 and other_day.albumin_g_per_l is None


def test_renal_function_is_the_lower_of_crcl_and_egfr_within_the_window() -> None:
    # r3: only values within 7 days of the newest are compared (revision 2 compared CrCl 20 days old)
    r = record(measurements=(lab(Lab.EGFR, 40, 10), lab(Lab.CREATININE_CLEARANCE, 33, 17)))
    rf = definitions.renal_function(r, NOW, 365)
    assert rf is not None and (rf.value, rf.kind) == (33, "crcl")
    old = record(measurements=(lab(Lab.EGFR, 40, 10), lab(Lab.CREATININE_CLEARANCE, 33, 366)))
    rf_old = definitions.renal_function(old, NOW, 365)
    assert rf_old is not None and (rf_old.value, rf_old.kind) == (40, "egfr")


def test_cockcroft_gault_from_creatinine_and_weight() -> None:
    # 76-year-old woman, 60 kg, creatinine 1.2 mg/dL: (140-76)*60/(72*1.2)*0.85 = 37.8
    r = record(measurements=(lab(Lab.CREATININE, 1.2, 3), lab(Lab.BODY_WEIGHT, 60, 3)))
    rf = definitions.renal_function(r, NOW, 365)
    assert rf is not None and rf.kind == "crcl-cockcroft-gault" and rf.value == pytest.approx(37.8, abs=0.1)
    # r3: with a creatinine but no weight the CKD-EPI 2021 eGFR stands in (revision 2: None)
    no_weight = definitions.renal_function(record(measurements=(lab(Lab.CREATININE, 1.2, 3),)), NOW, 365)
    assert no_weight is not None and no_weight.kind == "egfr-ckd-epi-computed" and no_weight.no_weight


@pytest.mark.parametrize(
    ("score", "site", "fragile"),
    [
        (-2.6, BmdSite.LUMBAR_SPINE, True),
        (-2.5, BmdSite.FEMORAL_NECK, True),
        (-2.4, BmdSite.HIP, False),
        (-3.0, BmdSite.OTHER, True),  # r3: a forearm T-score counts when no central one exists that day
    ],
)
def test_bone_fragility_from_a_t_score(score: float, site: BmdSite, fragile: bool) -> None:
    assert (
        definitions.bone_fragility(record(measurements=(lab(Lab.T_SCORE, score, 30, site),)), NOW) is not None
    ) is fragile


def test_only_the_latest_dxa_examination_counts() -> None:
    r = record(
        measurements=(lab(Lab.T_SCORE, -2.8, 800, BmdSite.HIP), lab(Lab.T_SCORE, -2.0, 30, BmdSite.HIP))
    )
    assert definitions.bone_fragility(r, NOW) is None


def test_a_healed_fragility_fracture_still_counts_but_resolved_osteoporosis_does_not() -> None:
    fracture = ConditionFact(Problem.FRAGILITY_FRACTURE, False, date(2010, 1, 1), "Condition/f")
    resolved = ConditionFact(Problem.OSTEOPOROSIS, False, date(2010, 1, 1), "Condition/o")
    assert definitions.bone_fragility(record(conditions=(fracture,)), NOW) is not None
    assert definitions.bone_fragility(record(conditions=(resolved,)), NOW) is None


def test_any_anti_osteoporosis_drug_ever_is_bone_fragility_but_a_draft_is_not() -> None:
    old = med({DrugClass.BISPHOSPHONATE}, 3000, status="completed", active=False)
    assert definitions.bone_fragility(record(medications=(old,)), NOW) is not None
    draft = med({DrugClass.BISPHOSPHONATE}, 0, draft=True)
    assert definitions.bone_fragility(record(drafts=(draft,)), NOW) is None


def test_denosumab_last_dose_discontinued_and_sequenced() -> None:
    dose = med({DrugClass.DENOSUMAB}, 200, kind=ExposureKind.ADMINISTRATION, status="completed", active=False)
    stopped = med({DrugClass.DENOSUMAB}, 190, status="stopped", active=False)
    r = record(medications=(dose, stopped))
    # r3: with an administration on the chart, an order's date is not a dose (revision 2: D = 190 days)
    assert definitions.denosumab_last_dose(r, NOW) == ago(200).date()
    assert definitions.denosumab_stopped(r, NOW) is True
    assert definitions.denosumab_stopped(record(medications=(dose,)), NOW) is False
    d = ago(200).date()
    before = med({DrugClass.BISPHOSPHONATE}, 300, status="completed", active=False)
    after = med({DrugClass.BISPHOSPHONATE}, 10, kind=ExposureKind.STATEMENT)
    assert definitions.sequenced_after(record(medications=(dose, before)), d) is False
    assert definitions.sequenced_after(record(medications=(dose, after)), d) is True
    assert definitions.sequenced_after(
        record(medications=(dose,), drafts=(med({DrugClass.BISPHOSPHONATE}, 0, draft=True),)), d
    )


# === revision 3 ====================================================================================

FEMALE_76 = Patient("p1", Sex.FEMALE, date(1950, 1, 1))  # 76 on NOW


def born(years: int, *, days_short: int = 0) -> date:
    """A birth date making the patient exactly ``years`` old on NOW, or ``days_short`` days short of it."""
    return NOW.date().replace(year=NOW.year - years) + timedelta(days=days_short)


def cond(
    problem: Problem,
    days: int | None,
    *,
    active: bool = True,
    procedure: bool = False,
) -> ConditionFact:
    onset = ago(days).date() if days is not None else None
    kind = "Procedure" if procedure else "Condition"
    return ConditionFact(problem, active, onset, f"{kind}/{problem}-{days}", from_procedure=procedure)


def full(
    *,
    measurements: tuple[Measurement, ...] = (),
    medications: tuple[MedicationExposure, ...] = (),
    conditions: tuple[ConditionFact, ...] = (),
    patient: Patient = FEMALE_76,
    test_orders: tuple[Ordered, ...] = (),
    allergies: tuple[Allergy, ...] = (),
) -> PatientRecord:
    return replace(
        record(measurements=measurements, medications=medications, conditions=conditions, patient=patient),
        test_orders=test_orders,
        allergies=allergies,
    )


def at(kind: Lab, value: float | None, when: datetime) -> Measurement:
    return Measurement(kind, value, when, f"Observation/{kind}-{when.isoformat()}")


# --- exclusions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "is_adult"), [(born(18), True), (born(18, days_short=1), False), (None, True)]
)
def test_adult_from_the_18th_birthday_and_when_the_birth_date_is_unknown(
    birth: date | None, is_adult: bool
) -> None:
    assert definitions.adult(full(patient=Patient("p1", Sex.FEMALE, birth)), NOW, S) is is_adult


def test_the_adult_age_is_a_setting() -> None:
    r = full(patient=Patient("p1", Sex.FEMALE, born(17)))
    assert definitions.adult(r, NOW, RuleSettings(adult_age_years=16)) is True


@pytest.mark.parametrize(
    ("fact", "palliative"),
    [
        (cond(Problem.PALLIATIVE_CARE, 2000), True),  # an active Condition, however old
        (cond(Problem.PALLIATIVE_CARE, 10, active=False), False),
        (cond(Problem.PALLIATIVE_CARE, 92, procedure=True), True),
        (cond(Problem.PALLIATIVE_CARE, 93, procedure=True), False),
        (cond(Problem.PALLIATIVE_CARE, None, procedure=True), False),
    ],
)
def test_palliative_care_is_an_active_condition_or_a_procedure_within_92_days(
    fact: ConditionFact, palliative: bool
) -> None:
    assert definitions.in_palliative_care(full(conditions=(fact,)), NOW, S) is palliative


@pytest.mark.parametrize(("days", "is_pregnant"), [(279, True), (280, True), (281, False)])
def test_a_pregnancy_condition_counts_within_280_days_of_its_onset(days: int, is_pregnant: bool) -> None:
    r = full(conditions=(cond(Problem.PREGNANCY, days),))
    assert definitions.pregnant(r, NOW, S) is is_pregnant


def test_a_pregnancy_condition_without_a_date_inactive_or_in_a_man_does_not_count() -> None:
    assert not definitions.pregnant(full(conditions=(cond(Problem.PREGNANCY, None),)), NOW, S)
    assert not definitions.pregnant(full(conditions=(cond(Problem.PREGNANCY, 30, active=False),)), NOW, S)
    man = Patient("p1", Sex.MALE, date(1990, 1, 1))
    assert not definitions.pregnant(full(conditions=(cond(Problem.PREGNANCY, 30),), patient=man), NOW, S)
    unknown = Patient("p1", Sex.UNKNOWN, date(1990, 1, 1))
    assert definitions.pregnant(full(conditions=(cond(Problem.PREGNANCY, 30),), patient=unknown), NOW, S)


@pytest.mark.parametrize(("days", "is_pregnant"), [(280, True), (281, False)])
def test_a_positive_hcg_counts_within_280_days(days: int, is_pregnant: bool) -> None:
    assert definitions.pregnant(full(measurements=(lab(Lab.HCG, 1.0, days),)), NOW, S) is is_pregnant
    assert not definitions.pregnant(full(measurements=(lab(Lab.HCG, 0.0, days),)), NOW, S)


@pytest.mark.parametrize(
    ("ending", "is_pregnant"),
    [
        (lab(Lab.HCG, 0.0, 19), False),  # a negative test after the evidence
        (lab(Lab.HCG, 0.0, 20), True),  # the same day ends nothing
        (lab(Lab.HCG, 0.0, 21), True),  # before it
        (cond(Problem.PREGNANCY_OUTCOME, 19, active=False), False),  # a delivery after it, any status
        (cond(Problem.PREGNANCY_OUTCOME, 21), True),
        (cond(Problem.PREGNANCY_OUTCOME, None), True),
    ],
)
def test_a_negative_test_or_an_outcome_dated_after_the_evidence_ends_the_pregnancy(
    ending: Measurement | ConditionFact, is_pregnant: bool
) -> None:
    for evidence in (cond(Problem.PREGNANCY, 20), lab(Lab.HCG, 1.0, 20)):
        facts = [evidence, ending]
        r = full(
            conditions=tuple(f for f in facts if isinstance(f, ConditionFact)),
            measurements=tuple(f for f in facts if isinstance(f, Measurement)),
        )
        assert definitions.pregnant(r, NOW, S) is is_pregnant
        assert (definitions.pregnancy_since(r, NOW, S) == ago(20).date()) is is_pregnant


def test_the_latest_evidence_decides_against_an_earlier_ending() -> None:
    r = full(
        conditions=(cond(Problem.PREGNANCY, 200), cond(Problem.PREGNANCY_OUTCOME, 100)),
        measurements=(lab(Lab.HCG, 1.0, 50),),
    )
    assert definitions.pregnancy_since(r, NOW, S) == ago(50).date()


# --- dialysis --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fact", "dialysis"),
    [
        (cond(Problem.DIALYSIS, 3000), True),
        (cond(Problem.DIALYSIS, 10, active=False), False),
        (cond(Problem.DIALYSIS, 92, procedure=True), True),
        (cond(Problem.DIALYSIS, 93, procedure=True), False),
        (cond(Problem.DIALYSIS, None, procedure=True), False),
        (cond(Problem.CHRONIC_KIDNEY_DISEASE, 10), False),  # end-stage kidney disease alone is not dialysis
    ],
)
def test_dialysis_is_an_active_condition_or_a_procedure_within_92_days(
    fact: ConditionFact, dialysis: bool
) -> None:
    assert definitions.on_dialysis(full(conditions=(fact,)), NOW, S) is dialysis


def test_on_dialysis_renal_function_is_below_every_threshold_but_egfr_is_still_egfr() -> None:
    r = full(conditions=(cond(Problem.DIALYSIS, 30),), measurements=(lab(Lab.EGFR, 70, 5),))
    assert definitions.renal_function_below(r, NOW, S, 35, 365)
    assert not definitions.renal_function_below(full(measurements=(lab(Lab.EGFR, 70, 5),)), NOW, S, 35, 365)
    e = definitions.egfr(r, NOW, 365)
    assert e is not None and e.value == 70


# --- renal function --------------------------------------------------------------------------------


@pytest.mark.parametrize(("crcl_days", "kind"), [(17, "crcl"), (18, "egfr")])
def test_only_values_within_7_days_of_the_newest_are_compared(crcl_days: int, kind: str) -> None:
    r = full(measurements=(lab(Lab.EGFR, 60, 10), lab(Lab.CREATININE_CLEARANCE, 25, crcl_days)))
    rf = definitions.renal_function(r, NOW, 365, S)
    assert rf is not None and rf.kind == kind
    assert (rf.other is not None) is (kind == "crcl")


def test_the_computed_clearance_joins_the_comparison_and_the_lowest_decides() -> None:
    # 76-year-old woman, 60 kg, creatinine 1.2 mg/dL: Cockcroft–Gault 37.8 < eGFR 60
    r = full(
        measurements=(lab(Lab.EGFR, 60, 3), lab(Lab.CREATININE, 1.2, 3), lab(Lab.BODY_WEIGHT, 60, 100)),
    )
    rf = definitions.renal_function(r, NOW, 365, S)
    assert rf is not None and rf.kind == "crcl-cockcroft-gault" and rf.value == pytest.approx(37.8, abs=0.1)
    assert rf.inputs is not None and rf.inputs.weight_on == ago(100).date()
    assert rf.other is not None and (rf.other.kind, rf.other.value) == ("egfr", 60)
    low_egfr = full(
        measurements=(lab(Lab.EGFR, 30, 3), lab(Lab.CREATININE, 1.2, 3), lab(Lab.BODY_WEIGHT, 60, 3)),
    )
    decided = definitions.renal_function(low_egfr, NOW, 365, S)
    assert decided is not None and decided.kind == "egfr"
    assert decided.other is not None and decided.other.inputs is not None  # the card may quote it


@pytest.mark.parametrize(
    ("weight_days", "kind"), [(365, "crcl-cockcroft-gault"), (366, "egfr-ckd-epi-computed")]
)
def test_the_weight_is_read_within_365_days_not_within_the_rules_window(weight_days: int, kind: str) -> None:
    r = full(measurements=(lab(Lab.CREATININE, 1.2, 3), lab(Lab.BODY_WEIGHT, 60, weight_days)))
    rf = definitions.renal_function(r, NOW, 30, S)
    assert rf is not None and rf.kind == kind
    assert rf.no_weight is (kind == "egfr-ckd-epi-computed")


@pytest.mark.parametrize(
    ("sex", "birth", "creatinine", "expected"),
    [
        (Sex.MALE, born(60), 1.0, 86.2),  # CKD-EPI 2021 reference: 86
        (Sex.FEMALE, born(76), 1.2, 46.9),
        (Sex.FEMALE, born(40), 0.6, 116.3),
    ],
)
def test_with_no_weight_the_ckd_epi_2021_egfr_stands_in(
    sex: Sex, birth: date, creatinine: float, expected: float
) -> None:
    r = full(measurements=(lab(Lab.CREATININE, creatinine, 2),), patient=Patient("p1", sex, birth))
    rf = definitions.renal_function(r, NOW, 365, S)
    assert rf is not None and rf.kind is RenalMeasure.CKD_EPI_COMPUTED and rf.value == pytest.approx(expected)
    assert rf.egfr_inputs is not None and rf.egfr_inputs.creatinine_mg_per_dl == creatinine
    assert rf.at == ago(2)


def test_cockcroft_gault_applies_085_unless_male_and_needs_a_birth_date() -> None:
    measurements = (lab(Lab.CREATININE, 1.0, 3), lab(Lab.BODY_WEIGHT, 72, 3))
    man = definitions.renal_function(
        full(measurements=measurements, patient=Patient("p", Sex.MALE, born(40))), NOW, 365
    )
    unknown = definitions.renal_function(
        full(measurements=measurements, patient=Patient("p", Sex.UNKNOWN, born(40))), NOW, 365
    )
    assert man is not None and man.value == pytest.approx(100.0)  # (140-40)*72/72
    assert unknown is not None and unknown.value == pytest.approx(85.0)
    assert (
        definitions.renal_function(full(measurements=measurements, patient=Patient("p", Sex.MALE)), NOW, 365)
        is None
    )


def test_the_renal_settings_are_read() -> None:
    r = full(measurements=(lab(Lab.EGFR, 60, 10), lab(Lab.CREATININE_CLEARANCE, 25, 20)))
    rf = definitions.renal_function(r, NOW, 365, RuleSettings(renal_values_compared_days=10))
    assert rf is not None and rf.kind == "crcl"


# --- calcium ---------------------------------------------------------------------------------------


def test_the_nearest_albumin_within_24_hours_corrects_total_calcium() -> None:
    ca = at(Lab.CALCIUM, 2.20, NOW - timedelta(days=5, hours=1))
    near = at(Lab.ALBUMIN, 30, NOW - timedelta(days=5, hours=2))
    far = at(Lab.ALBUMIN, 45, NOW - timedelta(days=5, hours=6))
    corrected = definitions.serum_calcium(full(measurements=(ca, near, far)), NOW, S)
    assert (
        corrected is not None and corrected.albumin_g_per_l == 30 and corrected.value == pytest.approx(2.40)
    )


@pytest.mark.parametrize(
    ("value", "days", "low", "severe"),
    [
        (2.14, 30, True, False),
        (2.14, 31, False, False),
        (2.15, 3, False, False),
        (1.89, 3, True, True),
        (1.90, 3, True, False),
    ],
)
def test_hypocalcaemia_on_total_calcium(value: float, days: int, low: bool, severe: bool) -> None:
    status = definitions.calcium_status(full(measurements=(lab(Lab.CALCIUM, value, days),)), NOW, S)
    assert status is not None and (status.low, status.severe) == (low, severe) and not status.ionised
    assert (
        definitions.hypocalcaemia(full(measurements=(lab(Lab.CALCIUM, value, days),)), NOW, S) is not None
    ) is low


@pytest.mark.parametrize(
    ("value", "days", "high", "critical"),
    [(2.61, 92, True, False), (2.60, 3, False, False), (3.00, 3, True, False), (3.01, 3, True, True)],
)
def test_high_calcium_on_total_calcium(value: float, days: int, high: bool, critical: bool) -> None:
    status = definitions.calcium_status(full(measurements=(lab(Lab.CALCIUM, value, days),)), NOW, S)
    assert status is not None and (status.high, status.critical) == (high, critical)
    assert (
        definitions.high_calcium(full(measurements=(lab(Lab.CALCIUM, value, days),)), NOW, S) is not None
    ) is high


def test_no_calcium_within_92_days_is_no_status() -> None:
    assert definitions.calcium_status(full(measurements=(lab(Lab.CALCIUM, 3.2, 93),)), NOW, S) is None


def test_hypocalcaemia_reads_the_corrected_total() -> None:
    r = full(measurements=(lab(Lab.CALCIUM, 2.10, 3), lab(Lab.ALBUMIN, 30, 3)))  # corrected 2.30
    status = definitions.calcium_status(r, NOW, S)
    assert status is not None and not status.low and status.calcium.measured == 2.10


@pytest.mark.parametrize(
    ("value", "low", "severe", "high", "critical"),
    [
        (1.14, True, False, False, False),
        (1.15, False, False, False, False),
        (0.99, True, True, False, False),
        (1.00, True, False, False, False),
        (1.32, False, False, False, False),
        (1.33, False, False, True, False),
        (1.60, False, False, True, False),
        (1.61, False, False, True, True),
    ],
)
def test_ionised_calcium_has_its_own_limits_and_is_never_corrected(
    value: float, low: bool, severe: bool, high: bool, critical: bool
) -> None:
    r = full(measurements=(lab(Lab.IONISED_CALCIUM, value, 3), lab(Lab.ALBUMIN, 25, 3)))
    status = definitions.calcium_status(r, NOW, S)
    assert status is not None and status.ionised and status.calcium.value == value
    assert status.calcium.albumin_g_per_l is None
    assert (status.low, status.severe, status.high, status.critical) == (low, severe, high, critical)
    assert definitions.serum_calcium(r, NOW, S) is None  # serum calcium is the total only


def test_the_latest_result_of_either_kind_decides() -> None:
    r = full(measurements=(lab(Lab.CALCIUM, 2.00, 5), lab(Lab.IONISED_CALCIUM, 1.20, 2)))
    status = definitions.calcium_status(r, NOW, S)
    assert status is not None and status.ionised and not status.low
    r2 = full(measurements=(lab(Lab.CALCIUM, 2.00, 2), lab(Lab.IONISED_CALCIUM, 1.20, 5)))
    status2 = definitions.calcium_status(r2, NOW, S)
    assert status2 is not None and not status2.ionised and status2.low


@pytest.mark.parametrize(
    ("extra", "ionised_decides"),
    [
        ((), False),
        ((cond(Problem.DIALYSIS, 100),), True),
        ((lab(Lab.EGFR, 29, 40),), True),
        ((lab(Lab.EGFR, 30, 40),), False),
    ],
)
def test_on_dialysis_or_below_30_a_same_day_ionised_result_is_preferred(
    extra: tuple[ConditionFact | Measurement, ...], ionised_decides: bool
) -> None:
    total = at(Lab.CALCIUM, 2.30, NOW - timedelta(days=3))
    ionised = at(Lab.IONISED_CALCIUM, 1.10, NOW - timedelta(days=3, hours=2))  # earlier the same day
    r = full(
        measurements=(total, ionised, *(e for e in extra if isinstance(e, Measurement))),
        conditions=tuple(e for e in extra if isinstance(e, ConditionFact)),
    )
    status = definitions.calcium_status(r, NOW, S)
    assert status is not None and status.ionised is ionised_decides and status.low is ionised_decides


def test_an_ionised_result_of_another_day_is_not_preferred() -> None:
    r = full(
        measurements=(lab(Lab.CALCIUM, 2.30, 3), lab(Lab.IONISED_CALCIUM, 1.10, 4)),
        conditions=(cond(Problem.DIALYSIS, 100),),
    )
    status = definitions.calcium_status(r, NOW, S)
    assert status is not None and not status.ionised


# --- 25-OH vitamin D -------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "days", "low"), [(19.9, 365, True), (20.0, 3, False), (10.0, 366, False)])
def test_vitamin_d_low_below_20_within_365_days(value: float, days: int, low: bool) -> None:
    r = full(measurements=(lab(Lab.VITAMIN_D, value, days),))
    assert (definitions.vitamin_d_low(r, NOW, S) is not None) is low


def test_native_vitamin_d_active_silences_low_vitamin_d_but_active_vitamin_d_does_not() -> None:
    d = lab(Lab.VITAMIN_D, 12, 30)
    native = full(measurements=(d,), medications=(med({DrugClass.NATIVE_VITAMIN_D}, 20),))
    calcitriol = full(measurements=(d,), medications=(med({DrugClass.ACTIVE_VITAMIN_D}, 20),))
    assert definitions.vitamin_d_low(native, NOW, S) is None
    assert definitions.vitamin_d_low(calcitriol, NOW, S) is not None


# --- denosumab -------------------------------------------------------------------------------------

DMAB = {DrugClass.DENOSUMAB}
XGEVA = {DrugClass.DENOSUMAB_ONCOLOGY}
BP = {DrugClass.BISPHOSPHONATE}


def given(
    days: int, kind: ExposureKind = ExposureKind.ADMINISTRATION, status: str = "completed"
) -> MedicationExposure:
    return med(DMAB, days, kind=kind, status=status, active=status == "active")


@pytest.mark.parametrize(
    "dose",
    [
        given(200),
        given(200, ExposureKind.DISPENSE),
        given(200, ExposureKind.STATEMENT),
        given(200, ExposureKind.STATEMENT, "active"),
    ],
)
def test_d_is_the_latest_administration_statement_or_dispense_and_a_renewed_order_is_not_a_dose(
    dose: MedicationExposure,
) -> None:
    renewal = med(DMAB, 10)
    r = full(medications=(dose, renewal))
    assert definitions.denosumab_last_dose(r, NOW) == ago(200).date()
    assert definitions.denosumab_orders_after_last_dose(r, NOW) == (renewal,)


def test_an_order_stands_for_a_dose_only_in_a_chart_with_no_administration_statement_or_dispense() -> None:
    orders = full(medications=(med(DMAB, 400, status="completed", active=False), med(DMAB, 200)))
    assert definitions.denosumab_last_dose(orders, NOW) == ago(200).date()
    assert definitions.denosumab_first_dose(orders, NOW) == ago(400).date()
    not_taken = given(300, ExposureKind.STATEMENT, "not-taken")
    assert definitions.denosumab_last_dose(full(medications=(not_taken, med(DMAB, 200))), NOW) is None


def test_oncology_denosumab_and_future_dates_never_count() -> None:
    xgeva = med(XGEVA, 30, kind=ExposureKind.ADMINISTRATION, status="completed", active=False)
    assert definitions.denosumab_last_dose(full(medications=(xgeva,)), NOW) is None
    future = given(-5)
    assert definitions.denosumab_last_dose(full(medications=(given(200), future)), NOW) == ago(200).date()


@pytest.mark.parametrize(
    ("orders", "stopped"),
    [
        ((med(DMAB, 100, status="stopped", active=False),), True),
        ((med(DMAB, 100, status="cancelled", active=False),), True),
        ((med(DMAB, 100, status="completed", active=False),), False),  # completed is not a decision to stop
        ((med(DMAB, 300), med(DMAB, 100, status="stopped", active=False)), False),  # an order still open
        (
            (
                med(DMAB, 300, status="stopped", active=False),
                med(DMAB, 100, status="completed", active=False),
            ),
            False,
        ),
        ((), False),
    ],
)
def test_stopped_a_no_open_order_and_the_latest_order_stopped_or_cancelled(
    orders: tuple[MedicationExposure, ...], stopped: bool
) -> None:
    r = full(medications=(given(200), *orders))
    assert definitions.denosumab_stopped(r, NOW) is stopped
    assert definitions.denosumab_continuing(r, NOW) is not stopped


@pytest.mark.parametrize(
    ("statement_days", "status", "stopped"),
    [(50, "stopped", True), (50, "not-taken", True), (100, "stopped", False), (50, "completed", False)],
)
def test_stopped_b_the_patients_report_after_every_order_even_an_open_one(
    statement_days: int, status: str, stopped: bool
) -> None:
    report = given(statement_days, ExposureKind.STATEMENT, status)
    r = full(medications=(given(200), med(DMAB, 100), report))
    assert definitions.denosumab_stopped(r, NOW) is stopped


def test_stopped_b_dates_a_statement_by_date_asserted_when_it_has_no_effective_date() -> None:
    report = replace(given(0, ExposureKind.STATEMENT, "stopped"), at=None, asserted=ago(50))
    r = full(medications=(given(200), med(DMAB, 100), report))
    assert definitions.denosumab_stopped(r, NOW)
    late_order = full(medications=(given(200), med(DMAB, 40), report))
    assert not definitions.denosumab_stopped(late_order, NOW)


def test_sequenced_by_an_active_bisphosphonate_dated_after_the_first_dose() -> None:
    first, last = given(500), given(200)
    d = ago(200).date()
    between = med(BP, 300)  # active order, after the first dose, before D
    assert definitions.sequenced_after(full(medications=(first, last, between)), d, NOW)
    statement = med(BP, 300, kind=ExposureKind.STATEMENT)
    assert definitions.sequenced_after(full(medications=(first, last, statement)), d, NOW)
    completed = med(BP, 300, status="completed", active=False)
    assert not definitions.sequenced_after(full(medications=(first, last, completed)), d, NOW)


def test_an_open_bisphosphonate_order_from_before_denosumab_is_not_sequencing_and_is_named() -> None:
    old_order = med(BP, 600)
    r = full(medications=(given(500), given(200), old_order))
    assert not definitions.sequenced_after(r, ago(200).date(), NOW)
    assert definitions.bisphosphonate_orders_before_denosumab(r, NOW) == (old_order,)
    assert definitions.bisphosphonate_orders_before_denosumab(full(medications=(old_order,)), NOW) == ()


def test_oncology_or_entered_in_error_bisphosphonates_are_not_sequencing() -> None:
    d = ago(200).date()
    zometa = med({DrugClass.BISPHOSPHONATE, DrugClass.ZOLEDRONIC_ACID_ONCOLOGY}, 10)
    in_error = med(BP, 10, status="entered-in-error", active=False)
    assert not definitions.sequenced_after(full(medications=(given(200), zometa)), d, NOW)
    assert not definitions.sequenced_after(full(medications=(given(200), in_error)), d, NOW)


# --- bone fragility --------------------------------------------------------------------------------

BORN_1960 = Patient("p1", Sex.FEMALE, date(1960, 6, 15))  # 50 on 2010-06-15


@pytest.mark.parametrize(
    ("onset", "counts"), [(date(2010, 6, 15), True), (date(2010, 6, 14), False), (None, False)]
)
def test_a_hip_or_vertebral_fracture_counts_from_age_50_whatever_its_status(
    onset: date | None, counts: bool
) -> None:
    fracture = ConditionFact(Problem.HIP_OR_VERTEBRAL_FRACTURE, False, onset, "Condition/hip")
    bf = definitions.bone_fragility(full(conditions=(fracture,), patient=BORN_1960), NOW, S)
    assert (bf is not None) is counts
    if bf is not None:
        assert bf.confirm_low_trauma and bf.fracture_on == onset
        assert bf.reasons == (FragilityReason.FRAGILITY_FRACTURE,)


def test_a_coded_fragility_fracture_needs_no_low_trauma_confirmation() -> None:
    fracture = ConditionFact(Problem.FRAGILITY_FRACTURE, True, date(2000, 1, 1), "Condition/f")
    bf = definitions.bone_fragility(full(conditions=(fracture,), patient=BORN_1960), NOW, S)
    assert bf is not None and not bf.confirm_low_trauma


def test_the_healed_fracture_history_code_is_bone_fragility_but_never_a_dated_fracture() -> None:
    history = ConditionFact(Problem.HEALED_FRAGILITY_FRACTURE, False, ago(30).date(), "Condition/z87")
    bf = definitions.bone_fragility(full(conditions=(history,)), NOW, S)
    assert bf is not None and bf.reasons == (FragilityReason.FRAGILITY_FRACTURE,) and bf.fracture_on is None
    assert definitions.fragility_fractures(full(conditions=(history,)), S) == ()


@pytest.mark.parametrize(
    ("birth", "counts"), [(born(50), True), (born(50, days_short=1), False), (None, True)]
)
def test_a_t_score_defines_bone_fragility_only_from_age_50(birth: date | None, counts: bool) -> None:
    r = full(
        measurements=(lab(Lab.T_SCORE, -3.0, 30, BmdSite.LUMBAR_SPINE),),
        patient=Patient("p", Sex.FEMALE, birth),
    )
    assert (definitions.bone_fragility(r, NOW, S) is not None) is counts


def test_a_forearm_t_score_counts_only_without_a_central_one_that_day() -> None:
    forearm = lab(Lab.T_SCORE, -3.0, 30, BmdSite.OTHER)
    with_hip = full(measurements=(forearm, lab(Lab.T_SCORE, -2.0, 30, BmdSite.HIP)))
    assert definitions.bone_fragility(with_hip, NOW, S) is None
    alone = definitions.bone_fragility(full(measurements=(forearm,)), NOW, S)
    assert alone is not None and alone.t_score is not None and alone.t_score.site is BmdSite.OTHER
    later = full(measurements=(lab(Lab.T_SCORE, -2.0, 400, BmdSite.HIP), forearm))  # the latest exam
    assert definitions.bone_fragility(later, NOW, S) is not None


# --- ordered, not yet resulted ---------------------------------------------------------------------


def order(lab_: Lab, days: int, status: str = "active") -> Ordered:
    return Ordered(lab_, status, ago(days), f"ServiceRequest/{lab_}-{days}")


@pytest.mark.parametrize(
    ("days", "interval", "pending"),
    [(92, 365, True), (93, 365, False), (30, 30, True), (31, 30, False)],
)
def test_an_order_counts_within_its_interval_and_within_92_days(
    days: int, interval: int, pending: bool
) -> None:
    o = order(Lab.CALCIUM, days)
    found = definitions.ordered_not_resulted(full(test_orders=(o,)), Lab.CALCIUM, NOW, interval, S)
    assert (found == o) is pending


@pytest.mark.parametrize(
    ("status", "pending"), [("active", True), ("completed", True), ("draft", False), ("revoked", False)]
)
def test_only_active_or_completed_orders_count(status: str, pending: bool) -> None:
    r = full(test_orders=(order(Lab.PTH, 10, status),))
    assert (definitions.ordered_not_resulted(r, Lab.PTH, NOW, 365, S) is not None) is pending


@pytest.mark.parametrize(("result_days", "pending"), [(9, False), (10, False), (11, True)])
def test_a_result_on_or_after_the_order_resolves_it(result_days: int, pending: bool) -> None:
    r = full(test_orders=(order(Lab.PTH, 10),), measurements=(lab(Lab.PTH, 40, result_days),))
    assert (definitions.ordered_not_resulted(r, Lab.PTH, NOW, 365, S) is not None) is pending


def test_an_order_of_another_test_does_not_count_and_a_set_of_concepts_is_one_test() -> None:
    r = full(test_orders=(order(Lab.CALCIUM, 10),), measurements=(lab(Lab.IONISED_CALCIUM, 1.2, 5),))
    assert definitions.ordered_not_resulted(r, Lab.PTH, NOW, 365, S) is None
    assert definitions.ordered_not_resulted(r, Lab.CALCIUM, NOW, 365, S) is not None
    either = frozenset({Lab.CALCIUM, Lab.IONISED_CALCIUM})
    assert definitions.ordered_not_resulted(r, either, NOW, 365, S) is None


# --- the drug guard --------------------------------------------------------------------------------

ZA = Proposal.ZOLEDRONIC_ACID_5MG_IV
ALN = Proposal.ALENDRONATE_70MG_WEEKLY
READY = (lab(Lab.EGFR, 70, 10), lab(Lab.CALCIUM, 2.40, 10), lab(Lab.VITAMIN_D, 30, 10))


def guard(drug: Proposal, **kw: object) -> tuple[WithholdReason, ...]:
    measurements = kw.pop("measurements", READY)
    return definitions.bisphosphonate_withheld(full(measurements=measurements, **kw), NOW, S, drug)  # type: ignore[arg-type]


@pytest.mark.parametrize("drug", [ZA, ALN])
def test_a_ready_patient_may_be_offered_either_drug(drug: Proposal) -> None:
    assert guard(drug) == ()
    assert definitions.bisphosphonate_preparation_tests(full(measurements=READY), NOW, S, drug) == ()


@pytest.mark.parametrize(("egfr_value", "reason"), [(34.9, WithholdReason.RENAL_LOW), (35.0, None)])
def test_renal_function_below_35_withholds(egfr_value: float, reason: WithholdReason | None) -> None:
    measurements = (lab(Lab.EGFR, egfr_value, 10), *READY[1:])
    for drug in (ZA, ALN):
        assert guard(drug, measurements=measurements) == ((reason,) if reason else ())


def test_unknown_renal_function_or_dialysis_withholds() -> None:
    assert guard(ALN, measurements=READY[1:]) == (WithholdReason.RENAL_UNKNOWN,)
    assert guard(ZA, conditions=(cond(Problem.DIALYSIS, 100),)) == (WithholdReason.DIALYSIS,)


@pytest.mark.parametrize(("egfr_days", "creatinine_test"), [(30, False), (31, True)])
def test_zoledronic_acid_without_renal_function_within_30_days_comes_with_a_creatinine_test(
    egfr_days: int, creatinine_test: bool
) -> None:
    r = full(measurements=(lab(Lab.EGFR, 70, egfr_days), *READY[1:]))
    assert definitions.bisphosphonate_withheld(r, NOW, S, ZA) == ()
    assert (Lab.CREATININE in definitions.bisphosphonate_preparation_tests(r, NOW, S, ZA)) is creatinine_test
    assert Lab.CREATININE not in definitions.bisphosphonate_preparation_tests(r, NOW, S, ALN)


@pytest.mark.parametrize(
    ("calcium_days", "vitamin_d_days", "tests"),
    [
        (30, 365, ()),
        (31, 365, (Lab.CALCIUM,)),
        (30, 366, (Lab.VITAMIN_D,)),
    ],
)
def test_missing_calcium_and_vitamin_d_are_offered_beside_the_drug(
    calcium_days: int, vitamin_d_days: int, tests: tuple[Lab, ...]
) -> None:
    r = full(
        measurements=(
            lab(Lab.EGFR, 70, 10),
            lab(Lab.CALCIUM, 2.4, calcium_days),
            lab(Lab.VITAMIN_D, 30, vitamin_d_days),
        )
    )
    assert definitions.bisphosphonate_withheld(r, NOW, S, ZA) == ()
    assert definitions.bisphosphonate_preparation_tests(r, NOW, S, ZA) == tests


def test_hypocalcaemia_withholds_both_and_low_vitamin_d_withholds_zoledronic_acid_only() -> None:
    low_ca = (READY[0], lab(Lab.CALCIUM, 2.0, 5), READY[2])
    assert (
        guard(ZA, measurements=low_ca) == guard(ALN, measurements=low_ca) == (WithholdReason.HYPOCALCAEMIA,)
    )
    low_d = (*READY[:2], lab(Lab.VITAMIN_D, 15, 5))
    assert guard(ZA, measurements=low_d) == (WithholdReason.VITAMIN_D_LOW,)
    assert guard(ALN, measurements=low_d) == ()
    assert guard(ZA, measurements=low_d, medications=(med({DrugClass.NATIVE_VITAMIN_D}, 10),)) == ()


@pytest.mark.parametrize(
    ("kw", "za", "aln"),
    [
        (
            {"conditions": (cond(Problem.PREGNANCY, 30),)},
            (WithholdReason.PREGNANCY,),
            (WithholdReason.PREGNANCY,),
        ),
        (
            {"medications": (med({DrugClass.ANABOLIC}, 30),)},
            (WithholdReason.ANABOLIC_ACTIVE,),
            (WithholdReason.ANABOLIC_ACTIVE,),
        ),
        (
            {"medications": (med({DrugClass.ROMOSOZUMAB}, 30),)},
            (WithholdReason.ANABOLIC_ACTIVE,),
            (WithholdReason.ANABOLIC_ACTIVE,),
        ),
        ({"medications": (med({DrugClass.ANABOLIC}, 30, status="completed", active=False),)}, (), ()),
        (
            {"allergies": (Allergy(frozenset({DrugClass.BISPHOSPHONATE}), "AllergyIntolerance/1"),)},
            (WithholdReason.ALLERGY,),
            (WithholdReason.ALLERGY,),
        ),
        ({"allergies": (Allergy(frozenset({DrugClass.DENOSUMAB}), "AllergyIntolerance/1"),)}, (), ()),
        (  # an allergy to alendronate names alendronate, not the class (r3 "names the drug or its class")
            {
                "allergies": (
                    Allergy(frozenset({DrugClass.BISPHOSPHONATE}), "AllergyIntolerance/1", "alendronate"),
                )
            },
            (),
            (WithholdReason.ALLERGY,),
        ),
        (
            {
                "allergies": (
                    Allergy(frozenset({DrugClass.BISPHOSPHONATE}), "AllergyIntolerance/1", "福善美"),
                )
            },
            (),
            (WithholdReason.ALLERGY,),
        ),
        (  # risedronate is neither alendronate nor the class
            {
                "allergies": (
                    Allergy(frozenset({DrugClass.BISPHOSPHONATE}), "AllergyIntolerance/1", "Actonel"),
                )
            },
            (),
            (),
        ),
        (
            {
                "allergies": (
                    Allergy(
                        frozenset(
                            {DrugClass.BISPHOSPHONATE, DrugClass.BISPHOSPHONATE_IV, DrugClass.ZOLEDRONIC_ACID}
                        ),
                        "AllergyIntolerance/1",
                        "zoledronic acid",
                    ),
                )
            },
            (WithholdReason.ALLERGY,),
            (),
        ),
        (  # a class allergy, by a name that is no ingredient
            {
                "allergies": (
                    Allergy(frozenset({DrugClass.BISPHOSPHONATE}), "AllergyIntolerance/1", "Bisphosphonates"),
                )
            },
            (WithholdReason.ALLERGY,),
            (WithholdReason.ALLERGY,),
        ),
        (
            {"conditions": (cond(Problem.JAW_OSTEONECROSIS, 900, active=False),)},
            (WithholdReason.JAW_OSTEONECROSIS,),
            (WithholdReason.JAW_OSTEONECROSIS,),
        ),
        (
            {"conditions": (cond(Problem.ATYPICAL_FEMORAL_FRACTURE, 900, active=False),)},
            (WithholdReason.ATYPICAL_FEMORAL_FRACTURE,),
            (WithholdReason.ATYPICAL_FEMORAL_FRACTURE,),
        ),
        ({"conditions": (cond(Problem.BED_BOUND, 30),)}, (), (WithholdReason.BED_BOUND,)),
        (
            {"conditions": (cond(Problem.OESOPHAGEAL_DISORDER, 30),)},
            (),
            (WithholdReason.OESOPHAGEAL_DISORDER,),
        ),
        ({"conditions": (cond(Problem.OESOPHAGEAL_DISORDER, 30, active=False),)}, (), ()),
    ],
)
def test_each_guard(
    kw: dict[str, object], za: tuple[WithholdReason, ...], aln: tuple[WithholdReason, ...]
) -> None:
    assert guard(ZA, **kw) == za
    assert guard(ALN, **kw) == aln


@pytest.mark.parametrize(
    ("regimen", "withheld"),
    [
        (med(XGEVA, 2000), True),  # active, however old
        (med(XGEVA, 365, kind=ExposureKind.ADMINISTRATION, status="completed", active=False), True),
        (med(XGEVA, 366, kind=ExposureKind.ADMINISTRATION, status="completed", active=False), False),
        (
            med(
                {DrugClass.ZOLEDRONIC_ACID_ONCOLOGY},
                100,
                kind=ExposureKind.ADMINISTRATION,
                status="completed",
                active=False,
            ),
            True,
        ),
    ],
)
def test_an_oncology_regimen_active_or_given_within_365_days_withholds(
    regimen: MedicationExposure, withheld: bool
) -> None:
    expected = (WithholdReason.ONCOLOGY_REGIMEN,) if withheld else ()
    assert guard(ZA, medications=(regimen,)) == guard(ALN, medications=(regimen,)) == expected


def test_a_drug_already_taken_is_not_offered_again() -> None:
    za = med({DrugClass.BISPHOSPHONATE, DrugClass.BISPHOSPHONATE_IV, DrugClass.ZOLEDRONIC_ACID}, 200)
    fosamax = replace(med(BP, 200), name="Fosamax 70 mg weekly")
    coded = replace(med(BP, 200), coding=Coding("http://www.nlm.nih.gov/research/umls/rxnorm", "46041"))
    risedronate = replace(med(BP, 200), name="Actonel 35 mg")
    assert guard(ZA, medications=(za,)) == (WithholdReason.ALREADY_TAKEN,)
    assert guard(ALN, medications=(za,)) == ()
    for alendronate in (fosamax, coded):
        assert guard(ALN, medications=(alendronate,)) == (WithholdReason.ALREADY_TAKEN,)
        assert guard(ZA, medications=(alendronate,)) == ()
    assert guard(ALN, medications=(risedronate,)) == ()
    stopped = replace(fosamax, status="stopped", active=False)
    assert guard(ALN, medications=(stopped,)) == ()
