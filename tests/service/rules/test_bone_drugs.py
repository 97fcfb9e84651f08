"""Bone drug rules (T2DM §2.3, §3): renal function, calcium before antiresorptives, anabolic duration,
hypercalcaemia; each threshold and window on both sides."""

from __future__ import annotations

from dataclasses import replace

import pytest

from service.kernel.clinical import DrugOrders, RenalMeasure
from service.kernel.facts.bone_drugs import AnabolicCourse, LabResult, PreInfusionReason
from service.kernel.findings import Indicator, Topic
from service.kernel.record import (
    ConditionFact,
    DrugClass,
    ExposureKind,
    Lab,
    Measurement,
    MedicationExposure,
    PatientRecord,
    Problem,
    Sex,
)
from service.kernel.record import (
    TestOrder as ServiceRequestOrder,
)
from service.kernel.thresholds import RuleSettings
from service.rules import Moment, evaluate
from service.rules.bone_drugs import (
    anabolic_active,
    anabolic_courses,
    anabolic_ordered,
    bisphosphonate_renal_active,
    bisphosphonate_renal_ordered,
    bisphosphonate_renal_unknown,
    hypercalcemia_on_therapy,
    pre_infusion_calcium,
)
from tests.builders import NOW, ago, born_years_ago, condition, draft, lab, medication, patient, record
from tests.service.rules._drug_records import (
    ACTIVE_D,
    ANABOLIC,
    CALCIUM,
    DENOSUMAB,
    IBANDRONATE_IV,
    NATIVE_D,
    ORAL_BP,
    SETTINGS,
    ZOLEDRONIC,
)

# --- bisphosphonate-renal-contraindication --------------------------------------------------------


@pytest.mark.parametrize(("value", "fires"), [(34.9, True), (35.0, False), (35.1, False)])
def test_draft_bisphosphonate_is_contraindicated_below_35(value: float, fires: bool) -> None:
    rec = record(labs=[lab(Lab.EGFR, value, 20)], drafts=[draft(ORAL_BP, name="alendronate 70 mg")])
    finding = bisphosphonate_renal_ordered(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.topic is Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION
        assert finding.indicator is Indicator.CRITICAL
        assert finding.delete_drafts == ("MedicationRequest/d1",)
        assert finding.facts.renal.kind is RenalMeasure.EGFR
        assert finding.facts.renal.at.date() == ago(20).date()
        assert finding.facts.orders == DrugOrders(("alendronate 70 mg",))


@pytest.mark.parametrize(("days", "fires"), [(364, True), (365, True), (366, False)])
def test_contraindication_reads_renal_function_within_365_days(days: int, fires: bool) -> None:
    rec = record(labs=[lab(Lab.EGFR, 20, days)], drafts=[draft(ORAL_BP)])
    assert (bisphosphonate_renal_ordered(rec, NOW, SETTINGS) is not None) is fires


def test_contraindication_uses_the_lower_of_crcl_and_egfr_and_reports_both() -> None:
    rec = record(
        labs=[lab(Lab.CREATININE_CLEARANCE, 31, 17), lab(Lab.EGFR, 41, 10)],  # r3: within 7 days
        drafts=[draft(ORAL_BP)],
    )
    finding = bisphosphonate_renal_ordered(rec, NOW, SETTINGS)
    assert finding is not None
    renal = finding.facts.renal
    assert (renal.value, renal.kind) == (31, RenalMeasure.CRCL)
    assert renal.other is not None
    assert (renal.other.value, renal.other.kind) == (41, RenalMeasure.EGFR)
    assert renal.other.at.date() == ago(10).date()


def test_contraindication_from_cockcroft_gault_carries_its_inputs() -> None:
    # (140 - 80) × 60 kg / (72 × 2.0 mg/dL) × 0.85 = 21.25 mL/min
    rec = record(
        who=patient(Sex.FEMALE, born_years_ago(80)),
        labs=[lab(Lab.CREATININE, 2.0, 15), lab(Lab.BODY_WEIGHT, 60, 40)],
        drafts=[draft(ORAL_BP)],
    )
    finding = bisphosphonate_renal_ordered(rec, NOW, SETTINGS)
    assert finding is not None
    renal = finding.facts.renal
    assert renal.kind is RenalMeasure.COCKCROFT_GAULT
    assert renal.value == pytest.approx(21.2, abs=0.1)
    inputs = renal.inputs
    assert inputs is not None
    assert (inputs.creatinine_mg_per_dl, inputs.weight_kg, inputs.age, inputs.sex) == (
        2.0,
        60,
        80,
        Sex.FEMALE,
    )
    assert inputs.creatinine_on == ago(15).date()
    assert inputs.weight_on == ago(40).date()


def test_contraindication_notes_dialysis() -> None:
    rec = record(
        conditions=[condition(Problem.DIALYSIS)], labs=[lab(Lab.EGFR, 8, 5)], drafts=[draft(ORAL_BP)]
    )
    finding = bisphosphonate_renal_ordered(rec, NOW, SETTINGS)
    assert finding is not None and finding.facts.dialysis is True
    without = record(labs=[lab(Lab.EGFR, 8, 5)], drafts=[draft(ORAL_BP)])
    finding = bisphosphonate_renal_ordered(without, NOW, SETTINGS)
    assert finding is not None and finding.facts.dialysis is False


def test_active_bisphosphonate_with_low_renal_function_at_patient_view() -> None:
    rec = record(labs=[lab(Lab.EGFR, 30, 30)], meds=[medication(ORAL_BP, 500, name="Fosamax 70 mg")])
    finding = bisphosphonate_renal_active(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.indicator is Indicator.CRITICAL
    assert finding.delete_drafts == ()
    assert finding.facts.orders == DrugOrders(("Fosamax 70 mg",), (ago(500).date(),))


def test_a_completed_bisphosphonate_is_not_active() -> None:
    rec = record(labs=[lab(Lab.EGFR, 30, 30)], meds=[medication(ORAL_BP, 500, status="completed")])
    assert bisphosphonate_renal_active(rec, NOW, SETTINGS) is None
    assert bisphosphonate_renal_ordered(rec, NOW, SETTINGS) is None  # and no draft: nothing at order time


# --- bisphosphonate-renal-function-unknown --------------------------------------------------------


@pytest.mark.parametrize(("days", "fires"), [(364, False), (365, False), (366, True)])
def test_oral_bisphosphonate_needs_renal_function_within_365_days(days: int, fires: bool) -> None:
    rec = record(labs=[lab(Lab.EGFR, 70, days)], drafts=[draft(ORAL_BP)])
    finding = bisphosphonate_renal_unknown(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.indicator is Indicator.WARNING
        assert finding.lab_orders == (Lab.EGFR,)
        assert finding.facts.iv is False and finding.facts.window_days == 365
        assert finding.facts.last_renal_test == LabResult(Lab.EGFR, 70, ago(days).date())


@pytest.mark.parametrize("classes", [ZOLEDRONIC, IBANDRONATE_IV])
@pytest.mark.parametrize(("days", "fires"), [(29, False), (30, False), (31, True)])
def test_iv_bisphosphonate_needs_renal_function_within_30_days(
    classes: set[DrugClass], days: int, fires: bool
) -> None:
    rec = record(labs=[lab(Lab.EGFR, 70, days)], drafts=[draft(classes)])
    finding = bisphosphonate_renal_unknown(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.facts.iv is True and finding.facts.window_days == 30


def test_a_creatinine_with_age_sex_and_weight_is_renal_function() -> None:
    computable = record(
        labs=[lab(Lab.CREATININE, 1.0, 10), lab(Lab.BODY_WEIGHT, 70, 10)],
        drafts=[draft(ORAL_BP)],
    )
    assert bisphosphonate_renal_unknown(computable, NOW, SETTINGS) is None
    # r3: with no weight the CKD-EPI 2021 eGFR stands in, so renal function is known
    no_weight = record(labs=[lab(Lab.CREATININE, 1.0, 10)], drafts=[draft(ORAL_BP)])
    assert bisphosphonate_renal_unknown(no_weight, NOW, SETTINGS) is None
    no_age = record(who=patient(birth=None), labs=[lab(Lab.CREATININE, 1.0, 10)], drafts=[draft(ORAL_BP)])
    finding = bisphosphonate_renal_unknown(no_age, NOW, SETTINGS)
    assert finding is not None and finding.facts.last_renal_test is not None
    assert finding.facts.last_renal_test.lab is Lab.CREATININE


def test_with_oral_and_iv_drafts_only_the_one_lacking_a_value_is_named() -> None:
    rec = record(
        labs=[lab(Lab.EGFR, 70, 100)],
        drafts=[draft(ORAL_BP, name="alendronate", id="a"), draft(ZOLEDRONIC, name="Aclasta", id="z")],
    )
    finding = bisphosphonate_renal_unknown(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.facts.orders.names == ("Aclasta",)


def test_no_renal_test_ever_and_no_bisphosphonate() -> None:
    finding = bisphosphonate_renal_unknown(record(drafts=[draft(ORAL_BP)]), NOW, SETTINGS)
    assert finding is not None and finding.facts.last_renal_test is None
    assert bisphosphonate_renal_unknown(record(drafts=[draft(DENOSUMAB)]), NOW, SETTINGS) is None


# --- pre-infusion-calcium-check -------------------------------------------------------------------


def _infusion(
    *labs_: Measurement,
    meds: tuple[MedicationExposure, ...] = (),
    drafts: tuple[MedicationExposure, ...] | None = None,
    conditions: tuple[ConditionFact, ...] = (),
) -> PatientRecord:
    """A zoledronic acid draft (unless others are given) with these results and chart drugs."""
    return record(
        conditions=conditions,
        labs=labs_,
        meds=meds,
        drafts=drafts if drafts is not None else (draft(ZOLEDRONIC, name="Aclasta 5 mg"),),
    )


@pytest.mark.parametrize(("days", "fires"), [(29, False), (30, False), (31, True)])
def test_calcium_must_be_within_30_days(days: int, fires: bool) -> None:
    rec = _infusion(lab(Lab.CALCIUM, 2.30, days), lab(Lab.VITAMIN_D, 30, 100))
    finding = pre_infusion_calcium(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.facts.reasons == (PreInfusionReason.CALCIUM_MISSING,)
        assert finding.facts.calcium is None
        assert finding.facts.last_calcium is not None and finding.facts.last_calcium.value == 2.30
        assert finding.lab_orders == (Lab.CALCIUM,)  # vitamin D is known within 365 days


@pytest.mark.parametrize(("value", "fires"), [(2.14, True), (2.15, False), (2.16, False)])
def test_low_calcium_below_2_15(value: float, fires: bool) -> None:
    rec = _infusion(lab(Lab.CALCIUM, value, 5), lab(Lab.VITAMIN_D, 30, 100))
    finding = pre_infusion_calcium(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:  # r3: hypocalcaemia is critical and offers to remove the draft
        assert finding.indicator is Indicator.CRITICAL
        assert finding.facts.reasons == (PreInfusionReason.HYPOCALCAEMIA,)
        assert finding.delete_drafts == ("MedicationRequest/d1",)
        assert finding.lab_orders == ()  # calcium and vitamin D are on record


def test_calcium_is_albumin_corrected() -> None:
    # measured 2.20 with albumin 30 g/L → 2.20 + 0.02 × 10 = 2.40: not low
    high_albumin = _infusion(lab(Lab.CALCIUM, 2.20, 5), lab(Lab.ALBUMIN, 30, 5), lab(Lab.VITAMIN_D, 30, 100))
    assert pre_infusion_calcium(high_albumin, NOW, SETTINGS) is None
    # measured 2.20 with albumin 45 g/L → 2.10: low
    low = _infusion(lab(Lab.CALCIUM, 2.20, 5), lab(Lab.ALBUMIN, 45, 5), lab(Lab.VITAMIN_D, 30, 100))
    finding = pre_infusion_calcium(low, NOW, SETTINGS)
    assert finding is not None
    calcium = finding.facts.calcium
    assert calcium is not None
    assert calcium.value == pytest.approx(2.10)
    assert calcium.albumin_g_per_l == 45


@pytest.mark.parametrize(("value", "fires"), [(19.9, True), (20.0, False), (20.1, False)])
def test_vitamin_d_deficiency_below_20(value: float, fires: bool) -> None:
    rec = _infusion(lab(Lab.CALCIUM, 2.30, 5), lab(Lab.VITAMIN_D, value, 100))
    finding = pre_infusion_calcium(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.facts.reasons == (PreInfusionReason.VITAMIN_D_LOW,)
        assert finding.facts.vitamin_d == LabResult(Lab.VITAMIN_D, value, ago(100).date())


@pytest.mark.parametrize(("days", "fires"), [(364, True), (365, True), (366, False)])
def test_vitamin_d_within_365_days(days: int, fires: bool) -> None:
    rec = _infusion(lab(Lab.CALCIUM, 2.30, 5), lab(Lab.VITAMIN_D, 12, days))
    assert (pre_infusion_calcium(rec, NOW, SETTINGS) is not None) is fires


def test_native_vitamin_d_active_or_drafted_silences_the_deficiency_but_calcitriol_does_not() -> None:
    labs_ = (lab(Lab.CALCIUM, 2.30, 5), lab(Lab.VITAMIN_D, 12, 100))
    assert pre_infusion_calcium(_infusion(*labs_, meds=(medication(NATIVE_D, 60),)), NOW, SETTINGS) is None
    both = (draft(ZOLEDRONIC, id="z"), draft(NATIVE_D, id="d3"))
    assert pre_infusion_calcium(_infusion(*labs_, drafts=both), NOW, SETTINGS) is None
    assert (
        pre_infusion_calcium(_infusion(*labs_, meds=(medication(ACTIVE_D, 60),)), NOW, SETTINGS) is not None
    )


def test_vitamin_d_is_ordered_too_when_none_within_365_days() -> None:
    rec = _infusion(lab(Lab.CALCIUM, 2.30, 60), lab(Lab.VITAMIN_D, 30, 400))
    finding = pre_infusion_calcium(rec, NOW, SETTINGS)
    assert finding is not None and finding.lab_orders == (Lab.CALCIUM, Lab.VITAMIN_D)


def test_denosumab_is_checked_and_an_oral_bisphosphonate_is_not() -> None:
    assert pre_infusion_calcium(_infusion(drafts=(draft(DENOSUMAB),)), NOW, SETTINGS) is not None
    assert pre_infusion_calcium(_infusion(drafts=(draft(ORAL_BP),)), NOW, SETTINGS) is None


def test_first_zoledronic_acid_and_first_antiresorptive() -> None:
    first = pre_infusion_calcium(_infusion(), NOW, SETTINGS)
    assert first is not None
    assert first.facts.first_zoledronic_acid is True and first.facts.first_antiresorptive is True
    again = pre_infusion_calcium(
        _infusion(meds=(medication(ZOLEDRONIC, 380, status="completed"),)), NOW, SETTINGS
    )
    assert again is not None
    assert again.facts.first_zoledronic_acid is False and again.facts.first_antiresorptive is False
    after_alendronate = pre_infusion_calcium(
        _infusion(meds=(medication(ORAL_BP, 900, status="stopped"),)), NOW, SETTINGS
    )
    assert after_alendronate is not None
    assert after_alendronate.facts.first_zoledronic_acid is True
    assert after_alendronate.facts.first_antiresorptive is False
    denosumab_first = pre_infusion_calcium(_infusion(drafts=(draft(DENOSUMAB),)), NOW, SETTINGS)
    assert denosumab_first is not None
    assert denosumab_first.facts.first_zoledronic_acid is False  # no zoledronic acid ordered


# --- anabolic-duration-limit ----------------------------------------------------------------------


def _taken(days: int, until: int | None = None, *, name: str = "Forteo") -> MedicationExposure:
    """An anabolic statement taken from ``days`` ago to ``until`` days ago (completed), or to now (active)."""
    status = "active" if until is None else "completed"
    m = medication(
        ANABOLIC, until if until is not None else days, name=name, kind=ExposureKind.STATEMENT, status=status
    )
    return replace(m, period_start=ago(days), period_end=ago(until) if until is not None else None)


@pytest.mark.parametrize(("days", "fires"), [(729, False), (730, True), (731, True)])
def test_anabolic_draft_when_the_running_course_reaches_730_days(days: int, fires: bool) -> None:
    rec = record(meds=[_taken(days)], drafts=[draft(ANABOLIC, name="teriparatide pen")])
    finding = anabolic_ordered(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.indicator is Indicator.WARNING
        assert finding.delete_drafts == ("MedicationRequest/d1",)
        assert finding.facts.courses == (AnabolicCourse(ago(days).date(), NOW.date(), days, True),)
        assert finding.facts.days == days
        assert finding.facts.orders == DrugOrders(("teriparatide pen",))


def test_a_first_anabolic_order_has_no_history_and_no_card() -> None:
    assert anabolic_ordered(record(drafts=[draft(ANABOLIC)]), NOW, SETTINGS) is None


def test_active_anabolic_past_the_limit_at_patient_view() -> None:
    # a statement from 800 to 150 days ago and an order 100 days ago: one course (gap 50), running to now
    rec = record(meds=[_taken(800, 150), medication(ANABOLIC, 100, name="Forteo pen")])
    finding = anabolic_active(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.delete_drafts == ()
    assert finding.facts.days == 800
    assert finding.facts.orders == DrugOrders(("Forteo pen",), (ago(100).date(),))
    stopped = record(meds=[medication(ANABOLIC, 800, status="stopped")])
    assert anabolic_active(stopped, NOW, SETTINGS) is None


@pytest.mark.parametrize(("gap", "courses"), [(91, [91 + 30]), (92, [92 + 30]), (93, [30, 30])])
def test_courses_are_exposures_no_more_than_92_days_apart(gap: int, courses: list[int]) -> None:
    meds = [medication(ANABOLIC, d, kind=ExposureKind.DISPENSE, status="completed") for d in (400, 400 - gap)]
    found = anabolic_courses(record(meds=meds), NOW, SETTINGS)
    assert [c.days for c in found] == courses
    assert found[0].first == ago(400).date()


def test_the_course_gap_is_a_setting() -> None:
    meds = [medication(ANABOLIC, d, kind=ExposureKind.DISPENSE, status="completed") for d in (400, 300)]
    assert len(anabolic_courses(record(meds=meds), NOW, SETTINGS)) == 2
    assert len(anabolic_courses(record(meds=meds), NOW, RuleSettings(anabolic_course_gap_days=100))) == 1


def test_teriparatide_and_abaloparatide_add_up_over_separate_courses() -> None:
    # teriparatide 1100 → 740 days ago (360 + 30), abaloparatide statement 400 → 70 days ago (330 + 30)
    teriparatide = [
        medication(ANABOLIC, d, name="Forteo", kind=ExposureKind.DISPENSE, status="completed")
        for d in (1100, 1010, 920, 830, 740)
    ]
    abaloparatide = _taken(400, 70, name="Tymlos")
    rec = record(meds=[*teriparatide, abaloparatide], drafts=[draft(ANABOLIC, name="Tymlos")])
    finding = anabolic_ordered(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.facts.days == 390 + 360
    assert [c.days for c in finding.facts.courses] == [390, 360]
    assert not any(c.running for c in finding.facts.courses)
    shorter = record(meds=[*teriparatide, _taken(400, 110, name="Tymlos")], drafts=[draft(ANABOLIC)])
    assert anabolic_ordered(shorter, NOW, SETTINGS) is None  # 390 + 320 = 710


def test_the_last_exposure_of_a_finished_course_counts_30_days() -> None:
    # orders 700 → 1 day ago are ≤ 92 apart but completed: 699 + 30 = 729, then 700 + 30 = 730
    def course(start: int) -> PatientRecord:
        days = [*range(start, 0, -90), 1]
        return record(
            meds=[medication(ANABOLIC, d, status="completed") for d in days], drafts=[draft(ANABOLIC)]
        )

    assert anabolic_ordered(course(700), NOW, SETTINGS) is None
    finding = anabolic_ordered(course(701), NOW, SETTINGS)
    assert finding is not None and finding.facts.days == 730


def test_cancelled_orders_and_a_draft_are_no_anabolic_time() -> None:
    rec = record(meds=[medication(ANABOLIC, 900, status="cancelled")], drafts=[draft(ANABOLIC)])
    assert anabolic_courses(rec, NOW, SETTINGS) == ()
    assert anabolic_ordered(rec, NOW, SETTINGS) is None


def test_anabolic_limit_is_a_setting() -> None:
    rec = record(meds=[medication(ANABOLIC, 600)])
    assert anabolic_active(rec, NOW, SETTINGS) is None
    assert anabolic_active(rec, NOW, RuleSettings(anabolic_max_days=540)) is not None


# --- hypercalcemia-on-therapy ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "indicator"),
    [(2.60, None), (2.61, Indicator.WARNING), (3.00, Indicator.WARNING), (3.01, Indicator.CRITICAL)],
)
def test_hypercalcaemia_thresholds(value: float, indicator: Indicator | None) -> None:
    rec = record(labs=[lab(Lab.CALCIUM, value, 10)], meds=[medication(CALCIUM, 200, name="Caltrate")])
    finding = hypercalcemia_on_therapy(rec, NOW, SETTINGS)
    assert (finding.indicator if finding else None) is indicator
    if finding is not None:
        assert finding.facts.severe is (indicator is Indicator.CRITICAL)


@pytest.mark.parametrize(("days", "fires"), [(91, True), (92, True), (93, False)])
def test_hypercalcaemia_reads_calcium_within_92_days(days: int, fires: bool) -> None:
    rec = record(labs=[lab(Lab.CALCIUM, 2.8, days)], meds=[medication(NATIVE_D, 200)])
    assert (hypercalcemia_on_therapy(rec, NOW, SETTINGS) is not None) is fires


def test_hypercalcaemia_uses_the_albumin_corrected_calcium() -> None:
    # measured 2.55 (normal) with albumin 30 g/L → 2.75: high
    rec = record(
        labs=[lab(Lab.CALCIUM, 2.55, 10), lab(Lab.ALBUMIN, 30, 10)], meds=[medication(ACTIVE_D, 100)]
    )
    finding = hypercalcemia_on_therapy(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.facts.calcium.value == pytest.approx(2.75)
    assert finding.facts.calcium.measured == 2.55
    # measured 2.65 with albumin 45 g/L → 2.55: not high
    diluted = record(
        labs=[lab(Lab.CALCIUM, 2.65, 10), lab(Lab.ALBUMIN, 45, 10)], meds=[medication(ACTIVE_D, 100)]
    )
    assert hypercalcemia_on_therapy(diluted, NOW, SETTINGS) is None


def test_hypercalcaemia_needs_an_active_therapy_and_flags_anabolics() -> None:
    stopped = record(labs=[lab(Lab.CALCIUM, 2.9, 10)], meds=[medication(CALCIUM, 200, status="stopped")])
    assert hypercalcemia_on_therapy(stopped, NOW, SETTINGS) is None
    anabolic = record(labs=[lab(Lab.CALCIUM, 2.9, 10)], meds=[medication(ANABOLIC, 200, name="Forteo")])
    finding = hypercalcemia_on_therapy(anabolic, NOW, SETTINGS)
    assert finding is not None and finding.facts.anabolic is True
    assert finding.facts.orders == DrugOrders(("Forteo",), (ago(200).date(),))
    on_calcium = record(labs=[lab(Lab.CALCIUM, 2.9, 10)], meds=[medication(CALCIUM, 200)])
    finding = hypercalcemia_on_therapy(on_calcium, NOW, SETTINGS)
    assert finding is not None and finding.facts.anabolic is False


def test_bone_drug_topics_run_at_their_moments() -> None:
    chart = record(
        labs=[lab(Lab.EGFR, 25, 10), lab(Lab.CALCIUM, 2.9, 10)],
        meds=[medication(ORAL_BP, 400), medication(CALCIUM, 200), medication(ANABOLIC, 800)],
    )
    view = {f.topic for f in evaluate(chart, NOW, SETTINGS, Moment.VIEW).cards}
    assert {
        Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION,
        Topic.HYPERCALCEMIA_ON_THERAPY,
        Topic.ANABOLIC_DURATION_LIMIT,
    } <= view
    order = {f.topic for f in evaluate(chart, NOW, SETTINGS, Moment.ORDER).cards}
    assert not order & view  # nothing drafted: no order-time card


# --- revision 3 -------------------------------------------------------------------------------------

ZOMETA = {DrugClass.ZOLEDRONIC_ACID_ONCOLOGY}
XGEVA = {DrugClass.DENOSUMAB_ONCOLOGY}


def _dialysis_procedure(days: int) -> ConditionFact:
    return replace(
        condition(Problem.DIALYSIS, onset=ago(days).date(), source="Procedure/hd"), from_procedure=True
    )


def _ordered(test: Lab, days: int, status: str = "active") -> ServiceRequestOrder:
    return ServiceRequestOrder(test, status, ago(days), f"ServiceRequest/{test.value}-{days}")


def _with_orders(rec: PatientRecord, *orders: ServiceRequestOrder) -> PatientRecord:
    return replace(rec, test_orders=orders)


def test_dialysis_contraindicates_a_bisphosphonate_whatever_the_latest_value() -> None:
    rec = record(
        conditions=[condition(Problem.DIALYSIS)], labs=[lab(Lab.EGFR, 60, 5)], drafts=[draft(ORAL_BP)]
    )
    finding = bisphosphonate_renal_ordered(rec, NOW, SETTINGS)
    assert finding is not None and finding.indicator is Indicator.CRITICAL
    assert finding.facts.dialysis and finding.facts.renal is not None and finding.facts.renal.value == 60
    assert finding.delete_drafts == ("MedicationRequest/d1",)


@pytest.mark.parametrize(("days", "fires"), [(91, True), (92, True), (93, False)])
def test_a_dialysis_procedure_counts_within_92_days(days: int, fires: bool) -> None:
    rec = record(conditions=[_dialysis_procedure(days)], drafts=[draft(ORAL_BP)])  # no renal value at all
    contraindication = bisphosphonate_renal_ordered(rec, NOW, SETTINGS)
    assert (contraindication is not None) is fires
    unknown = bisphosphonate_renal_unknown(rec, NOW, SETTINGS)
    assert (unknown is None) is fires  # on dialysis, renal function is known
    if contraindication is not None:
        assert contraindication.facts.renal is None and contraindication.facts.dialysis


def test_end_stage_kidney_disease_alone_is_not_dialysis() -> None:
    rec = record(
        conditions=[condition(Problem.CHRONIC_KIDNEY_DISEASE)],
        labs=[lab(Lab.EGFR, 38, 5)],
        drafts=[draft(ORAL_BP)],
    )
    assert bisphosphonate_renal_ordered(rec, NOW, SETTINGS) is None


def test_an_active_bisphosphonate_on_dialysis_is_contraindicated_at_patient_view() -> None:
    rec = record(conditions=[_dialysis_procedure(10)], meds=[medication(ORAL_BP, 300, name="Fosamax")])
    finding = bisphosphonate_renal_active(rec, NOW, SETTINGS)
    assert finding is not None and finding.facts.dialysis and finding.delete_drafts == ()


@pytest.mark.parametrize(("value", "fires"), [(29.9, True), (30.0, False), (32.0, False)])
def test_zoledronic_acid_4_mg_has_its_own_renal_limit_of_30(value: float, fires: bool) -> None:
    rec = record(labs=[lab(Lab.CREATININE_CLEARANCE, value, 5)], drafts=[draft(ZOMETA, name="Zometa 4 mg")])
    finding = bisphosphonate_renal_ordered(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.facts.oncology and finding.facts.renal_threshold == 30
    osteoporosis = record(labs=[lab(Lab.CREATININE_CLEARANCE, value, 5)], drafts=[draft(ZOLEDRONIC)])
    assert bisphosphonate_renal_ordered(osteoporosis, NOW, SETTINGS) is not None  # 5 mg: below 35


def test_the_oncology_renal_limit_is_a_setting() -> None:
    rec = record(labs=[lab(Lab.CREATININE_CLEARANCE, 32, 5)], drafts=[draft(ZOMETA)])
    settings = RuleSettings(zoledronic_acid_oncology_min_renal_function=33)
    assert bisphosphonate_renal_ordered(rec, NOW, settings) is not None


def test_with_both_strengths_drafted_only_those_below_their_limit_are_removed() -> None:
    rec = record(
        labs=[lab(Lab.EGFR, 32, 5)],
        drafts=[draft(ZOMETA, name="Zometa", id="z4"), draft(ZOLEDRONIC, name="Aclasta", id="z5")],
    )
    finding = bisphosphonate_renal_ordered(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.delete_drafts == ("MedicationRequest/z5",) and not finding.facts.oncology
    assert finding.facts.renal_threshold == 35


@pytest.mark.parametrize(("days", "fires"), [(30, False), (31, True)])
def test_zoledronic_acid_4_mg_needs_renal_function_within_30_days(days: int, fires: bool) -> None:
    rec = record(labs=[lab(Lab.EGFR, 70, days)], drafts=[draft(ZOMETA)])
    finding = bisphosphonate_renal_unknown(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.facts.iv and finding.facts.window_days == 30


@pytest.mark.parametrize(("days", "pending"), [(29, True), (30, True), (31, False)])
def test_a_renal_test_ordered_within_the_window_is_not_offered_again(days: int, pending: bool) -> None:
    rec = _with_orders(
        record(labs=[lab(Lab.EGFR, 67, 75)], drafts=[draft(ZOLEDRONIC)]), _ordered(Lab.CREATININE, days)
    )
    finding = bisphosphonate_renal_unknown(rec, NOW, SETTINGS)
    assert finding is not None  # the safety card still fires
    assert (finding.facts.pending is not None) is pending
    assert finding.lab_orders == (() if pending else (Lab.EGFR,))
    if finding.facts.pending is not None:
        assert finding.facts.pending.ordered_on == ago(days).date()


@pytest.mark.parametrize(("days", "pending"), [(92, True), (93, False)])
def test_an_oral_bisphosphonate_treats_an_order_older_than_92_days_as_lost(days: int, pending: bool) -> None:
    rec = _with_orders(record(drafts=[draft(ORAL_BP)]), _ordered(Lab.EGFR, days))
    finding = bisphosphonate_renal_unknown(rec, NOW, SETTINGS)
    assert finding is not None and (finding.facts.pending is not None) is pending


def test_a_revoked_renal_order_is_no_pending_test() -> None:
    rec = _with_orders(record(drafts=[draft(ORAL_BP)]), _ordered(Lab.CREATININE, 3, status="revoked"))
    finding = bisphosphonate_renal_unknown(rec, NOW, SETTINGS)
    assert finding is not None and finding.facts.pending is None and finding.lab_orders == (Lab.EGFR,)


@pytest.mark.parametrize(("days", "pending"), [(30, True), (31, False)])
def test_a_calcium_ordered_within_30_days_is_not_offered_again(days: int, pending: bool) -> None:
    rec = _with_orders(
        _infusion(lab(Lab.CALCIUM, 2.31, 64), lab(Lab.VITAMIN_D, 33, 64), drafts=(draft(DENOSUMAB),)),
        _ordered(Lab.CALCIUM, days),
    )
    finding = pre_infusion_calcium(rec, NOW, SETTINGS)
    assert finding is not None and finding.indicator is Indicator.WARNING
    assert finding.facts.reasons == (PreInfusionReason.CALCIUM_MISSING,)
    assert finding.lab_orders == (() if pending else (Lab.CALCIUM,))
    assert [p.lab for p in finding.facts.pending] == ([Lab.CALCIUM] if pending else [])


@pytest.mark.parametrize(
    ("kind", "value", "indicator"),
    [
        (Lab.CALCIUM, 1.89, Indicator.CRITICAL),
        (Lab.CALCIUM, 2.14, Indicator.CRITICAL),
        (Lab.CALCIUM, 2.15, None),
        (Lab.IONISED_CALCIUM, 1.14, Indicator.CRITICAL),
        (Lab.IONISED_CALCIUM, 1.15, None),
        (Lab.IONISED_CALCIUM, 1.16, None),
    ],
)
def test_hypocalcaemia_of_either_kind_makes_the_calcium_check_critical(
    kind: Lab, value: float, indicator: Indicator | None
) -> None:
    rec = _infusion(lab(kind, value, 5), lab(Lab.VITAMIN_D, 30, 100))
    finding = pre_infusion_calcium(rec, NOW, SETTINGS)
    assert (finding.indicator if finding is not None else None) is indicator
    if finding is not None:
        assert finding.delete_drafts == ("MedicationRequest/d1",)
        assert finding.facts.low_calcium == (1.15 if kind is Lab.IONISED_CALCIUM else 2.15)
        assert finding.facts.severe is (value < 1.90 if kind is Lab.CALCIUM else value < 1.00)


def test_the_calcium_check_covers_both_oncology_regimens() -> None:
    for drug in (ZOMETA, XGEVA):
        finding = pre_infusion_calcium(_infusion(drafts=(draft(drug),)), NOW, SETTINGS)
        assert finding is not None and finding.lab_orders == (Lab.CALCIUM, Lab.VITAMIN_D)


def _advanced_ckd(*labs_: Measurement, drug: set[DrugClass] = DENOSUMAB) -> PatientRecord:
    return _infusion(lab(Lab.EGFR, 22, 10), *labs_, drafts=(draft(drug),))


_ALL_RECENT = (
    lab(Lab.CALCIUM, 2.31, 10),
    lab(Lab.PHOSPHATE, 1.3, 10),
    lab(Lab.PTH, 88, 10),
    lab(Lab.VITAMIN_D, 31, 40),
)


@pytest.mark.parametrize(("value", "fires"), [(29.9, True), (30.0, False)])
def test_denosumab_below_30_always_gets_the_calcium_check(value: float, fires: bool) -> None:
    rec = _infusion(lab(Lab.EGFR, value, 10), *_ALL_RECENT, drafts=(draft(DENOSUMAB),))
    finding = pre_infusion_calcium(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.indicator is Indicator.WARNING
        assert finding.facts.reasons == (PreInfusionReason.ADVANCED_CKD,)
        assert finding.lab_orders == () and finding.facts.missing == ()  # every result present


def test_denosumab_120_mg_and_dialysis_count_for_the_advanced_ckd_case() -> None:
    xgeva = pre_infusion_calcium(_advanced_ckd(*_ALL_RECENT, drug=XGEVA), NOW, SETTINGS)
    assert xgeva is not None and PreInfusionReason.ADVANCED_CKD in xgeva.facts.reasons
    on_dialysis = _infusion(
        *_ALL_RECENT, conditions=(condition(Problem.DIALYSIS),), drafts=(draft(DENOSUMAB),)
    )
    finding = pre_infusion_calcium(on_dialysis, NOW, SETTINGS)
    assert finding is not None and finding.facts.dialysis and finding.facts.renal is None
    zoledronic = pre_infusion_calcium(_advanced_ckd(*_ALL_RECENT, drug=ZOLEDRONIC), NOW, SETTINGS)
    assert zoledronic is None  # the advanced-CKD case is denosumab's


@pytest.mark.parametrize(("days", "offered"), [(92, False), (93, True)])
def test_phosphate_pth_and_vitamin_d_within_92_days_in_the_advanced_ckd_case(
    days: int, offered: bool
) -> None:
    rec = _advanced_ckd(
        lab(Lab.CALCIUM, 2.31, 10),
        lab(Lab.PHOSPHATE, 1.3, days),
        lab(Lab.PTH, 88, days),
        lab(Lab.VITAMIN_D, 31, days),
    )
    finding = pre_infusion_calcium(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.lab_orders == ((Lab.PHOSPHATE, Lab.PTH, Lab.VITAMIN_D) if offered else ())


def test_advanced_ckd_tests_ordered_are_pending_not_offered() -> None:
    rec = _with_orders(
        _advanced_ckd(lab(Lab.CALCIUM, 2.31, 10)), _ordered(Lab.PTH, 3), _ordered(Lab.PHOSPHATE, 3)
    )
    finding = pre_infusion_calcium(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.lab_orders == (Lab.VITAMIN_D,)
    assert [p.lab for p in finding.facts.pending] == [Lab.PHOSPHATE, Lab.PTH]


def test_the_advanced_ckd_window_is_a_setting() -> None:
    rec = _advanced_ckd(
        lab(Lab.CALCIUM, 2.31, 10),
        lab(Lab.PHOSPHATE, 1.3, 100),
        lab(Lab.PTH, 88, 100),
        lab(Lab.VITAMIN_D, 31, 100),
    )
    finding = pre_infusion_calcium(rec, NOW, RuleSettings(pre_infusion_ckd_tests_window_days=120))
    assert finding is not None and finding.lab_orders == ()


@pytest.mark.parametrize(
    ("value", "indicator"),
    [(1.32, None), (1.33, Indicator.WARNING), (1.60, Indicator.WARNING), (1.61, Indicator.CRITICAL)],
)
def test_ionised_high_calcium_on_therapy(value: float, indicator: Indicator | None) -> None:
    rec = record(labs=[lab(Lab.IONISED_CALCIUM, value, 5)], meds=[medication(ANABOLIC, 60)])
    finding = hypercalcemia_on_therapy(rec, NOW, SETTINGS)
    assert (finding.indicator if finding is not None else None) is indicator
    if finding is not None:
        assert finding.facts.calcium.ionised
        assert (finding.facts.threshold, finding.facts.severe_threshold) == (1.32, 1.60)


@pytest.mark.parametrize(("value", "indicator"), [(3.00, Indicator.WARNING), (3.01, Indicator.CRITICAL)])
def test_total_calcium_above_3_is_critical(value: float, indicator: Indicator) -> None:
    rec = record(labs=[lab(Lab.CALCIUM, value, 5)], meds=[medication(CALCIUM, 60)])
    finding = hypercalcemia_on_therapy(rec, NOW, SETTINGS)
    assert finding is not None and finding.indicator is indicator


def test_the_latest_calcium_of_either_kind_decides_high_calcium() -> None:
    newer_normal_ionised = record(
        labs=[lab(Lab.CALCIUM, 2.75, 20), lab(Lab.IONISED_CALCIUM, 1.25, 5)], meds=[medication(CALCIUM, 60)]
    )
    assert hypercalcemia_on_therapy(newer_normal_ionised, NOW, SETTINGS) is None
    newer_high_ionised = record(
        labs=[lab(Lab.CALCIUM, 2.40, 20), lab(Lab.IONISED_CALCIUM, 1.40, 5)], meds=[medication(CALCIUM, 60)]
    )
    assert hypercalcemia_on_therapy(newer_high_ionised, NOW, SETTINGS) is not None


def _pregnant() -> ConditionFact:
    return condition(Problem.PREGNANCY, onset=ago(60).date())


def test_in_pregnancy_the_order_time_cards_give_way_to_bone_drug_in_pregnancy() -> None:
    who = patient(Sex.FEMALE, born_years_ago(32))
    renal = record(_pregnant(), who=who, labs=[lab(Lab.EGFR, 20, 5)], drafts=[draft(ORAL_BP)])
    assert bisphosphonate_renal_ordered(renal, NOW, SETTINGS) is None
    assert (
        bisphosphonate_renal_unknown(record(_pregnant(), who=who, drafts=[draft(ORAL_BP)]), NOW, SETTINGS)
        is None
    )
    assert (
        pre_infusion_calcium(record(_pregnant(), who=who, drafts=[draft(DENOSUMAB)]), NOW, SETTINGS) is None
    )
    anabolic = record(_pregnant(), who=who, meds=[_taken(800)], drafts=[draft(ANABOLIC)])
    assert anabolic_ordered(anabolic, NOW, SETTINGS) is None
    view = anabolic_active(record(_pregnant(), who=who, meds=[_taken(800)]), NOW, SETTINGS)
    assert view is not None and view.facts.pregnant  # the card leaves out the antiresorptive
