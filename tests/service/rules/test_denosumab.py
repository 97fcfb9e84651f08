"""Denosumab rules (rules.md revision 3) on both sides of every window and exclusion.

D from administrations (a renewed order is not a dose); a stopped course gets the sequencing card
(warning before D + 183, critical from it), a continuing one the dose card (warning D + 183 to D + 213,
critical after); both only while D is within 730 days; the drug guard on every bisphosphonate offered;
calcium weekly then monthly on dialysis or with renal function < 30.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from service.kernel import record as kernel_record
from service.kernel.clinical import WithholdReason
from service.kernel.findings import Indicator, Proposal, Topic
from service.kernel.record import (
    Allergy,
    DrugClass,
    ExposureKind,
    Lab,
    MedicationExposure,
    PatientRecord,
    Problem,
)
from service.kernel.thresholds import RuleSettings
from service.rules.denosumab import dose_due, hypocalcemia_monitoring, sequencing_missing
from tests.builders import NOW, condition, lab, medication, record
from tests.service.rules._bone_therapy_records import alendronate, denosumab

S = RuleSettings()
TODAY = NOW.date()
ZOL, ALN = Proposal.ZOLEDRONIC_ACID_5MG_IV, Proposal.ALENDRONATE_70MG_WEEKLY
#: Everything the drug guard wants before a first dose: renal function, calcium, 25-OH vitamin D.
READY = (lab(Lab.EGFR, 62, 10), lab(Lab.CALCIUM, 2.35, 10), lab(Lab.VITAMIN_D, 32, 10))


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def stopped(days: int, *more: object, labs: tuple = READY, conditions: tuple = ()) -> PatientRecord:
    """A course whose order was stopped, last injection ``days`` ago."""
    meds = [denosumab(days + 5, kind=ExposureKind.REQUEST, status="stopped"), denosumab(days)]
    meds += [m for m in more if isinstance(m, MedicationExposure)]
    return record(*meds, labs=labs, conditions=conditions)


def continuing(days: int, *more: MedicationExposure, labs: tuple = READY) -> PatientRecord:
    """A course with an open order, last injection ``days`` ago."""
    order = denosumab(days + 5, kind=ExposureKind.REQUEST, status="active")
    return record(order, denosumab(days), *more, labs=labs)


def pregnant() -> object:
    return condition(Problem.PREGNANCY, onset=day(-60))


# --- denosumab-dose-due ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_since", "fires", "indicator"),
    [
        (1, False, Indicator.WARNING),
        (182, False, Indicator.WARNING),
        (183, True, Indicator.WARNING),
        (213, True, Indicator.WARNING),
        (214, True, Indicator.CRITICAL),
        (730, True, Indicator.CRITICAL),
    ],
)
def test_dose_due_warning_from_day_183_critical_after_day_213(
    days_since: int, fires: bool, indicator: Indicator
) -> None:
    finding = dose_due(continuing(days_since), NOW, S)
    assert finding is not None
    assert finding.topic is Topic.DENOSUMAB_DOSE_DUE
    assert (finding.fires, finding.indicator) == (fires, indicator)
    assert finding.due == day(183 - days_since)
    assert finding.facts.overdue_days == (days_since - 183 if days_since > 213 else None)
    assert finding.proposals == () and finding.lab_orders == ()


def test_dose_due_only_while_d_is_within_730_days() -> None:
    assert dose_due(continuing(730), NOW, S) is not None
    assert dose_due(continuing(731), NOW, S) is None


@pytest.mark.parametrize(("days_since", "rebound"), [(365, False), (366, True)])
def test_rebound_advice_after_d_plus_365(days_since: int, rebound: bool) -> None:
    finding = dose_due(continuing(days_since), NOW, S)
    assert finding is not None and finding.facts.rebound is rebound


def test_a_renewed_order_after_the_last_injection_is_not_a_dose() -> None:
    rec = record(denosumab(228), denosumab(20, kind=ExposureKind.REQUEST, status="active"))
    finding = dose_due(rec, NOW, S)
    assert finding is not None and finding.fires
    assert finding.indicator is Indicator.CRITICAL
    assert finding.facts.course.last_dose == day(-228)
    assert [o.ordered for o in finding.facts.course.renewed] == [day(-20)]
    assert sequencing_missing(rec, NOW, S) is None


def test_orders_stand_for_doses_only_in_a_chart_without_administrations() -> None:
    rec = record(denosumab(228, kind=ExposureKind.REQUEST, status="completed"))
    finding = dose_due(rec, NOW, S)
    assert finding is not None and finding.facts.course.last_dose == day(-228)
    assert finding.facts.course.renewed == ()


def test_a_stopped_course_gets_no_dose_card() -> None:
    assert dose_due(stopped(190), NOW, S) is None


def test_a_completed_order_is_not_a_decision_to_stop() -> None:
    rec = record(denosumab(195, kind=ExposureKind.REQUEST, status="completed"), denosumab(190))
    finding = dose_due(rec, NOW, S)
    assert finding is not None and finding.fires
    assert sequencing_missing(rec, NOW, S) is None


def test_dose_due_is_quiet_once_sequenced() -> None:
    assert dose_due(continuing(190, alendronate(5)), NOW, S) is None


def test_an_open_bisphosphonate_order_from_before_the_first_dose_is_named_not_sequencing() -> None:
    old = alendronate(900, kind=ExposureKind.REQUEST)
    finding = dose_due(continuing(390, old), NOW, S)
    assert finding is not None and finding.indicator is Indicator.CRITICAL
    assert [o.ordered for o in finding.facts.course.open_bisphosphonates] == [day(-900)]


def test_an_active_bisphosphonate_order_after_the_first_dose_is_sequencing() -> None:
    rec = record(
        denosumab(600),
        denosumab(390),
        alendronate(500, kind=ExposureKind.REQUEST),  # before D, after the first dose, still open
    )
    assert dose_due(rec, NOW, S) is None
    assert sequencing_missing(rec, NOW, S) is None


@pytest.mark.parametrize(
    ("egfr", "renal_low", "boxed"), [(29.9, True, True), (30.0, True, False), (35.0, False, False)]
)
def test_dose_due_renal_thresholds(egfr: float, renal_low: bool, boxed: bool) -> None:
    finding = dose_due(continuing(190, labs=(lab(Lab.EGFR, egfr, 10),)), NOW, S)
    assert finding is not None
    assert (finding.facts.renal_low, finding.facts.boxed) == (renal_low, boxed)


def test_dialysis_is_below_every_renal_threshold_whatever_the_value() -> None:
    rec = continuing(190, labs=(lab(Lab.EGFR, 70, 10),))
    rec = replace(rec, conditions=(condition(Problem.DIALYSIS, onset=day(-400)),))
    finding = dose_due(rec, NOW, S)
    assert finding is not None
    assert finding.facts.course.dialysis and finding.facts.renal_low and finding.facts.boxed


@pytest.mark.parametrize(("calcium", "low"), [(2.14, True), (2.15, False)])
def test_dose_due_names_hypocalcaemia(calcium: float, low: bool) -> None:
    finding = dose_due(continuing(190, labs=(lab(Lab.EGFR, 62, 10), lab(Lab.CALCIUM, calcium, 3))), NOW, S)
    assert finding is not None
    assert (finding.facts.calcium is not None) is low


def test_in_pregnancy_the_dose_card_is_at_most_a_warning() -> None:
    rec = replace(continuing(240), conditions=(pregnant(),))
    finding = dose_due(rec, NOW, S)
    assert finding is not None and finding.fires
    assert finding.indicator is Indicator.WARNING and finding.facts.course.pregnant


def test_oncology_denosumab_never_sets_d() -> None:
    xgeva = medication(
        {DrugClass.DENOSUMAB_ONCOLOGY},
        200,
        name="Xgeva 120 mg",
        kind=ExposureKind.ADMINISTRATION,
        status="completed",
    )
    rec = record(xgeva, labs=READY)
    assert dose_due(rec, NOW, S) is None
    assert sequencing_missing(rec, NOW, S) is None
    assert hypocalcemia_monitoring(rec, NOW, S) is None


def test_a_future_dated_exposure_is_not_d() -> None:
    finding = dose_due(record(denosumab(200), denosumab(-3)), NOW, S)
    assert finding is not None and finding.facts.course.last_dose == day(-200)


# --- denosumab-sequencing-missing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_since", "indicator"),
    [(1, Indicator.WARNING), (182, Indicator.WARNING), (183, Indicator.CRITICAL), (730, Indicator.CRITICAL)],
)
def test_sequencing_fires_at_once_warning_then_critical_from_d_plus_183(
    days_since: int, indicator: Indicator
) -> None:
    finding = sequencing_missing(stopped(days_since), NOW, S)
    assert finding is not None and finding.fires
    assert finding.indicator is indicator
    assert finding.due == day(183 - days_since)
    assert finding.proposal_start == max(day(183 - days_since), TODAY)
    assert finding.facts.start_in == max(183 - days_since, 0)


def test_sequencing_only_while_d_is_within_730_days() -> None:
    assert sequencing_missing(stopped(730), NOW, S) is not None
    assert sequencing_missing(stopped(731), NOW, S) is None


def test_a_continuing_course_gets_no_sequencing_card() -> None:
    assert sequencing_missing(continuing(250), NOW, S) is None


def test_a_newest_stopped_statement_stops_even_an_open_order() -> None:
    statement = denosumab(10, kind=ExposureKind.STATEMENT, status="stopped")
    rec = continuing(200, statement)
    assert dose_due(rec, NOW, S) is None
    finding = sequencing_missing(rec, NOW, S)
    assert finding is not None and finding.indicator is Indicator.CRITICAL


def test_sequencing_offers_both_bisphosphonates_with_nothing_to_prepare() -> None:
    finding = sequencing_missing(stopped(200), NOW, S)
    assert finding is not None
    assert finding.proposals == (ZOL, ALN)
    assert finding.preparation == () and finding.lab_orders == () and finding.recommended is None
    assert finding.facts.withheld == ()


@pytest.mark.parametrize(("egfr", "offered"), [(34.9, ()), (35.0, (ZOL, ALN))])
def test_renal_function_below_35_offers_nothing_and_asks_for_a_specialist(
    egfr: float, offered: tuple
) -> None:
    labs = (lab(Lab.EGFR, egfr, 10), *READY[1:])
    finding = sequencing_missing(stopped(200, labs=labs), NOW, S)
    assert finding is not None
    assert finding.proposals == offered
    assert finding.facts.renal_low is (not offered)
    assert finding.lab_orders == ()


def test_on_dialysis_no_bisphosphonate_is_offered() -> None:
    dialysis = condition(Problem.DIALYSIS, onset=day(-400))
    finding = sequencing_missing(stopped(200, conditions=(dialysis,)), NOW, S)
    assert finding is not None and finding.proposals == () and finding.facts.renal_low


def test_unknown_renal_function_offers_a_creatinine_test_instead() -> None:
    finding = sequencing_missing(stopped(200, labs=READY[1:]), NOW, S)
    assert finding is not None
    assert finding.proposals == ()
    assert finding.lab_orders == (Lab.CREATININE,)
    assert all(WithholdReason.RENAL_UNKNOWN in w.reasons for w in finding.facts.withheld)


@pytest.mark.parametrize(("egfr_age", "creatinine"), [(30, False), (31, True)])
def test_zoledronic_acid_without_renal_function_within_30_days_comes_with_a_creatinine_test(
    egfr_age: int, creatinine: bool
) -> None:
    labs = (lab(Lab.EGFR, 62, egfr_age), *READY[1:])
    finding = sequencing_missing(stopped(200, labs=labs), NOW, S)
    assert finding is not None
    assert finding.proposals == (ZOL, ALN)
    assert dict(finding.preparation).get(ZOL, ()) == ((Lab.CREATININE,) if creatinine else ())
    assert ALN not in dict(finding.preparation)
    assert finding.facts.creatinine_first is creatinine


@pytest.mark.parametrize(("calcium_age", "missing"), [(30, False), (31, True)])
def test_a_missing_calcium_is_offered_inside_each_drug_suggestion(calcium_age: int, missing: bool) -> None:
    labs = (lab(Lab.EGFR, 62, 10), lab(Lab.CALCIUM, 2.35, calcium_age), lab(Lab.VITAMIN_D, 32, 10))
    finding = sequencing_missing(stopped(200, labs=labs), NOW, S)
    assert finding is not None and finding.proposals == (ZOL, ALN)
    expected = ((ZOL, (Lab.CALCIUM,)), (ALN, (Lab.CALCIUM,))) if missing else ()
    assert finding.preparation == expected
    assert finding.lab_orders == ()


def test_hypocalcaemia_withholds_both_and_offers_the_missing_tests_on_their_own() -> None:
    labs = (lab(Lab.EGFR, 62, 10), lab(Lab.CALCIUM, 2.05, 5))  # no 25-OH vitamin D
    finding = sequencing_missing(stopped(200, labs=labs), NOW, S)
    assert finding is not None
    assert finding.proposals == ()
    assert finding.lab_orders == (Lab.VITAMIN_D,)  # calcium is there: it is low
    assert finding.facts.calcium is not None and finding.facts.calcium.value == 2.05


@pytest.mark.parametrize(("vitamin_d", "offered"), [(19.9, (ALN,)), (20.0, (ZOL, ALN))])
def test_low_vitamin_d_withholds_zoledronic_acid_only(vitamin_d: float, offered: tuple) -> None:
    labs = (lab(Lab.EGFR, 62, 10), lab(Lab.CALCIUM, 2.35, 10), lab(Lab.VITAMIN_D, vitamin_d, 10))
    finding = sequencing_missing(stopped(200, labs=labs), NOW, S)
    assert finding is not None
    assert finding.proposals == offered
    assert (finding.facts.vitamin_d is not None) is (len(offered) == 1)


@pytest.mark.parametrize("problem", [Problem.BED_BOUND, Problem.OESOPHAGEAL_DISORDER])
def test_no_oral_alendronate_when_bed_bound_or_with_an_oesophageal_disorder(problem: Problem) -> None:
    finding = sequencing_missing(stopped(200, conditions=(condition(problem),)), NOW, S)
    assert finding is not None
    assert finding.proposals == (ZOL,)
    (withheld,) = finding.facts.withheld
    assert withheld.drug is ALN


def test_diabetic_neuropathy_makes_zoledronic_acid_the_recommended_one() -> None:
    neuropathy = condition(Problem.DIABETIC_NEUROPATHY)
    finding = sequencing_missing(stopped(200, conditions=(neuropathy,)), NOW, S)
    assert finding is not None and finding.recommended is ZOL and finding.facts.neuropathy
    assert sequencing_missing(stopped(200), NOW, S).recommended is None  # type: ignore[union-attr]


@pytest.mark.parametrize("problem", [Problem.JAW_OSTEONECROSIS, Problem.ATYPICAL_FEMORAL_FRACTURE])
def test_osteonecrosis_of_the_jaw_or_atypical_fracture_withholds_both(problem: Problem) -> None:
    finding = sequencing_missing(stopped(200, conditions=(condition(problem, active=False),)), NOW, S)
    assert finding is not None and finding.proposals == () and finding.lab_orders == ()


def test_an_allergy_to_bisphosphonates_withholds_both() -> None:
    rec = replace(
        stopped(200), allergies=(Allergy(frozenset({DrugClass.BISPHOSPHONATE}), "AllergyIntolerance/1"),)
    )
    finding = sequencing_missing(rec, NOW, S)
    assert finding is not None and finding.proposals == () and finding.lab_orders == ()
    assert {r for w in finding.facts.withheld for r in w.reasons} == {WithholdReason.ALLERGY}


def test_an_old_open_alendronate_order_is_named_and_not_offered_again() -> None:
    old = alendronate(900, kind=ExposureKind.REQUEST)
    finding = sequencing_missing(stopped(200, old), NOW, S)
    assert finding is not None
    assert finding.proposals == (ZOL,)
    assert [o.ordered for o in finding.facts.course.open_bisphosphonates] == [day(-900)]


@pytest.mark.parametrize(("given", "withheld"), [(365, True), (366, False)])
def test_an_oncology_regimen_within_365_days_withholds_every_bisphosphonate(
    given: int, withheld: bool
) -> None:
    zometa = medication(
        {DrugClass.ZOLEDRONIC_ACID_ONCOLOGY},
        given,
        name="Zometa 4 mg",
        kind=ExposureKind.ADMINISTRATION,
        status="completed",
    )
    finding = sequencing_missing(stopped(200, zometa), NOW, S)
    assert finding is not None
    assert finding.proposals == (() if withheld else (ZOL, ALN))


def test_in_pregnancy_sequencing_is_a_warning_offering_nothing() -> None:
    finding = sequencing_missing(stopped(250, labs=READY[1:], conditions=(pregnant(),)), NOW, S)
    assert finding is not None and finding.fires
    assert finding.indicator is Indicator.WARNING
    assert (finding.proposals, finding.lab_orders, finding.preparation) == ((), (), ())
    assert finding.facts.course.pregnant


@pytest.mark.parametrize(
    "bisphosphonate",
    [
        alendronate(5),
        medication(
            {DrugClass.BISPHOSPHONATE}, 5, name="Fosamax", kind=ExposureKind.DISPENSE, status="completed"
        ),
        medication(
            {DrugClass.BISPHOSPHONATE, DrugClass.BISPHOSPHONATE_IV, DrugClass.ZOLEDRONIC_ACID},
            5,
            kind=ExposureKind.ADMINISTRATION,
            status="completed",
        ),
    ],
)
def test_a_bisphosphonate_after_d_is_sequencing(bisphosphonate: MedicationExposure) -> None:
    assert sequencing_missing(stopped(200, bisphosphonate), NOW, S) is None


# --- denosumab-hypocalcemia-monitoring ------------------------------------------------------------

CKD = (lab(Lab.EGFR, 25, 10),)


def monitoring(days_since: int, *labs: object, orders: tuple = ()) -> object:
    rec = record(denosumab(days_since), labs=(*CKD, *labs))
    return hypocalcemia_monitoring(replace(rec, test_orders=orders), NOW, S)


@pytest.mark.parametrize(("egfr", "applies"), [(29.9, True), (30.0, False)])
def test_monitoring_needs_renal_function_below_30(egfr: float, applies: bool) -> None:
    rec = record(denosumab(20), labs=(lab(Lab.EGFR, egfr, 10),))
    assert (hypocalcemia_monitoring(rec, NOW, S) is not None) is applies


def test_monitoring_on_dialysis_whatever_the_renal_value() -> None:
    rec = record(denosumab(20), labs=(lab(Lab.EGFR, 45, 10),), conditions=(condition(Problem.DIALYSIS),))
    finding = hypocalcemia_monitoring(rec, NOW, S)
    assert finding is not None and finding.fires and finding.facts.course.dialysis


@pytest.mark.parametrize(("days_since", "applies"), [(365, True), (366, False)])
def test_monitoring_needs_d_within_365_days(days_since: int, applies: bool) -> None:
    assert (monitoring(days_since) is not None) is applies


@pytest.mark.parametrize(("days_since", "fires"), [(6, False), (7, True), (34, True)])
def test_weekly_in_the_first_month_from_d_plus_7(days_since: int, fires: bool) -> None:
    finding = monitoring(days_since)
    assert finding is not None
    assert finding.fires is fires
    assert finding.due == day(7 - days_since)  # never a calcium: one run from D + 7 on
    assert finding.facts.weekly and finding.facts.window_days == 7
    assert finding.lab_orders == (Lab.CALCIUM,)


@pytest.mark.parametrize(("calcium_age", "fires"), [(7, False), (8, True)])
def test_weekly_no_calcium_within_7_days(calcium_age: int, fires: bool) -> None:
    finding = monitoring(20, lab(Lab.CALCIUM, 2.3, calcium_age))
    assert finding is not None and finding.fires is fires
    assert finding.due == (day(-calcium_age + 8) if fires else day(1))


def test_an_ionised_calcium_is_a_calcium_check() -> None:
    finding = monitoring(20, lab(Lab.IONISED_CALCIUM, 1.2, 3))
    assert finding is not None and not finding.fires


def test_after_the_first_month_monthly_not_weekly() -> None:
    # calcium on D + 20: at D + 34 it is 14 days old (weekly: fires), at D + 35 it is 15 (monthly: quiet)
    assert monitoring(34, lab(Lab.CALCIUM, 2.3, 14)).fires  # type: ignore[attr-defined]
    later = monitoring(35, lab(Lab.CALCIUM, 2.3, 15))
    assert later is not None and not later.fires
    assert later.due == day(16)  # D + 20 + 31: when the monthly interval runs out
    assert not later.facts.weekly and later.facts.window_days == 30


@pytest.mark.parametrize(("calcium_age", "fires"), [(30, False), (31, True)])
def test_monthly_no_calcium_within_30_days(calcium_age: int, fires: bool) -> None:
    finding = monitoring(100, lab(Lab.CALCIUM, 2.3, calcium_age))
    assert finding is not None and finding.fires is fires


def test_a_calcium_ordered_within_the_interval_and_not_resulted_silences_it() -> None:
    pending = (kernel_record.TestOrder(Lab.CALCIUM, "active", NOW - timedelta(days=3), "ServiceRequest/ca"),)
    assert monitoring(100, lab(Lab.CALCIUM, 2.3, 40), orders=pending) is None
    lost = (kernel_record.TestOrder(Lab.CALCIUM, "active", NOW - timedelta(days=31), "ServiceRequest/ca"),)
    finding = monitoring(100, lab(Lab.CALCIUM, 2.3, 40), orders=lost)
    assert finding is not None and finding.fires


def test_no_due_date_after_d_plus_365() -> None:
    assert monitoring(350, lab(Lab.CALCIUM, 2.3, 5)) is None  # next due D + 376
    assert monitoring(330, lab(Lab.CALCIUM, 2.3, 5)) is not None  # next due D + 356


def test_monitoring_quotes_the_latest_calcium() -> None:
    finding = monitoring(100, lab(Lab.CALCIUM, 2.10, 40), lab(Lab.ALBUMIN, 30, 40))
    assert finding is not None and finding.facts.calcium is not None
    assert finding.facts.calcium.value == pytest.approx(2.30)


def test_settings_move_the_windows() -> None:
    settings = RuleSettings(denosumab_dose_due_days=170, denosumab_dose_overdue_days=200)
    finding = dose_due(continuing(201), NOW, settings)
    assert finding is not None and finding.indicator is Indicator.CRITICAL
    assert finding.due == day(-31)
    seq = sequencing_missing(stopped(170), NOW, settings)
    assert seq is not None and seq.indicator is Indicator.CRITICAL
    assert dose_due(continuing(500), NOW, RuleSettings(denosumab_course_window_days=499)) is None
