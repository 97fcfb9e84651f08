"""Denosumab rules on both sides of every window: day 182/183/213/214 after D, renal 35 and 30, calcium."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from service.kernel.clinical import RenalMeasure
from service.kernel.findings import Indicator, Proposal, Topic
from service.kernel.record import DrugClass, ExposureKind, Lab, Measurement, MedicationExposure
from service.kernel.thresholds import RuleSettings
from service.rules.denosumab import dose_due, hypocalcemia_monitoring, sequencing_missing
from tests.builders import NOW, lab, medication, record
from tests.service.rules._bone_therapy_records import alendronate, denosumab

S = RuleSettings()
TODAY = NOW.date()


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


# --- denosumab-dose-due ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_since", "fires"),
    [(1, False), (182, False), (183, True), (200, True), (213, True)],
)
def test_dose_due_fires_from_day_183_to_day_213(days_since: int, fires: bool) -> None:
    finding = dose_due(record(denosumab(days_since)), NOW, S)
    assert finding is not None
    assert finding.topic is Topic.DENOSUMAB_DOSE_DUE
    assert finding.indicator is Indicator.WARNING
    assert finding.fires is fires
    assert finding.due == day(183 - days_since)
    assert finding.facts.window_end == day(213 - days_since)


def test_dose_due_hands_over_to_sequencing_after_day_213() -> None:
    rec = record(denosumab(214))
    assert dose_due(rec, NOW, S) is None
    seq = sequencing_missing(rec, NOW, S)
    assert seq is not None and seq.fires


def test_dose_due_is_quiet_once_discontinued() -> None:
    rec = record(
        denosumab(300, kind=ExposureKind.REQUEST, status="stopped"),
        denosumab(190),
    )
    assert dose_due(rec, NOW, S) is None


def test_dose_due_counts_a_completed_order_as_not_discontinued() -> None:
    rec = record(denosumab(190, kind=ExposureKind.REQUEST, status="completed"))
    finding = dose_due(rec, NOW, S)
    assert finding is not None and finding.fires


def test_dose_due_is_quiet_once_sequenced() -> None:
    assert dose_due(record(denosumab(190), alendronate(5)), NOW, S) is None


def test_dose_due_uses_the_latest_dose() -> None:
    finding = dose_due(record(denosumab(375), denosumab(190)), NOW, S)
    assert finding is not None
    assert finding.facts.last_dose == day(-190)


def test_no_denosumab_no_findings() -> None:
    rec = record(alendronate(30))
    assert dose_due(rec, NOW, S) is None
    assert sequencing_missing(rec, NOW, S) is None
    assert hypocalcemia_monitoring(rec, NOW, S) is None


def test_a_future_dated_exposure_is_not_d() -> None:
    rec = record(denosumab(190), denosumab(-10))
    finding = dose_due(rec, NOW, S)
    assert finding is not None and finding.facts.last_dose == day(-190)


@pytest.mark.parametrize(("egfr", "low"), [(34.9, True), (35.0, False), (35.1, False)])
def test_dose_due_says_when_a_bisphosphonate_is_no_alternative(egfr: float, low: bool) -> None:
    finding = dose_due(record(denosumab(190), labs=(lab(Lab.EGFR, egfr, 10),)), NOW, S)
    assert finding is not None
    assert finding.facts.renal_low is low


# --- denosumab-sequencing-missing -----------------------------------------------------------------


@pytest.mark.parametrize(("days_since", "fires"), [(182, False), (183, False), (213, False), (214, True)])
def test_sequencing_fires_after_day_213(days_since: int, fires: bool) -> None:
    finding = sequencing_missing(record(denosumab(days_since)), NOW, S)
    assert finding is not None
    assert finding.topic is Topic.DENOSUMAB_SEQUENCING_MISSING
    assert finding.indicator is Indicator.CRITICAL
    assert finding.fires is fires
    assert finding.due == day(213 - days_since)


def test_sequencing_proposes_both_bisphosphonates_from_today_once_six_months_passed() -> None:
    finding = sequencing_missing(record(denosumab(250)), NOW, S)
    assert finding is not None
    assert finding.proposals == (Proposal.ZOLEDRONIC_ACID_5MG_IV, Proposal.ALENDRONATE_70MG_WEEKLY)
    assert finding.proposal_start == TODAY


@pytest.mark.parametrize(("days_since", "start_offset"), [(100, 83), (182, 1), (183, 0), (184, 0)])
def test_discontinued_course_fires_at_once_and_starts_six_months_after_the_injection(
    days_since: int, start_offset: int
) -> None:
    rec = record(
        denosumab(days_since, kind=ExposureKind.REQUEST, status="stopped"),
        denosumab(days_since),
    )
    finding = sequencing_missing(rec, NOW, S)
    assert finding is not None
    assert finding.fires
    assert finding.facts.discontinued is True
    assert finding.proposal_start == day(start_offset)
    assert finding.due == day(213 - days_since)


def test_an_old_stopped_order_does_not_discontinue_a_newer_active_one() -> None:
    rec = record(
        denosumab(500, kind=ExposureKind.REQUEST, status="stopped"),
        denosumab(100, kind=ExposureKind.REQUEST, status="active"),
    )
    finding = sequencing_missing(rec, NOW, S)
    assert finding is not None and not finding.fires


@pytest.mark.parametrize(
    "bisphosphonate",
    [
        alendronate(249),  # MedicationStatement the day after D
        alendronate(5, kind=ExposureKind.REQUEST),  # an alendronate order
        medication(
            {DrugClass.BISPHOSPHONATE, DrugClass.BISPHOSPHONATE_IV, DrugClass.ZOLEDRONIC_ACID},
            30,
            name="zoledronic acid 5 mg",
            kind=ExposureKind.ADMINISTRATION,
            status="completed",
        ),
    ],
)
def test_a_bisphosphonate_after_d_is_sequencing(bisphosphonate: MedicationExposure) -> None:
    rec = record(denosumab(250), bisphosphonate)
    assert sequencing_missing(rec, NOW, S) is None


def test_a_bisphosphonate_on_or_before_d_is_not_sequencing() -> None:
    for days in (250, 900):
        finding = sequencing_missing(record(denosumab(250), alendronate(days)), NOW, S)
        assert finding is not None and finding.fires, days


@pytest.mark.parametrize(("egfr", "proposals"), [(34.9, 0), (35.0, 2), (35.1, 2)])
def test_renal_function_below_35_proposes_nothing(egfr: float, proposals: int) -> None:
    finding = sequencing_missing(record(denosumab(250), labs=(lab(Lab.EGFR, egfr, 20),)), NOW, S)
    assert finding is not None and finding.fires
    assert len(finding.proposals) == proposals
    assert finding.facts.renal_low is (proposals == 0)


def test_ckd_egfr_28_proposes_nothing_even_when_discontinued() -> None:
    rec = record(
        denosumab(190, kind=ExposureKind.REQUEST, status="stopped"),
        denosumab(190),
        labs=(lab(Lab.EGFR, 28, 10),),
    )
    finding = sequencing_missing(rec, NOW, S)
    assert finding is not None and finding.fires
    assert finding.proposals == ()


def test_the_lower_of_crcl_and_egfr_decides() -> None:
    labs = (lab(Lab.EGFR, 48, 10), lab(Lab.CREATININE_CLEARANCE, 33, 12))
    finding = sequencing_missing(record(denosumab(250), labs=labs), NOW, S)
    assert finding is not None
    assert finding.proposals == ()
    renal = finding.facts.renal
    assert renal is not None and renal.kind is RenalMeasure.CRCL
    assert renal.other is not None and renal.other.kind is RenalMeasure.EGFR  # the card quotes both


@pytest.mark.parametrize(("age", "proposals"), [(365, 0), (366, 2)])
def test_renal_function_counts_within_365_days(age: int, proposals: int) -> None:
    finding = sequencing_missing(record(denosumab(250), labs=(lab(Lab.EGFR, 20, age),)), NOW, S)
    assert finding is not None
    assert len(finding.proposals) == proposals


# --- denosumab-hypocalcemia-monitoring ------------------------------------------------------------


def ckd(egfr: float = 25, age: int = 20) -> tuple[Measurement, ...]:
    return (lab(Lab.EGFR, egfr, age),)


@pytest.mark.parametrize(("egfr", "fires"), [(29.9, True), (30.0, None), (30.1, None)])
def test_hypocalcemia_needs_renal_function_below_30(egfr: float, fires: bool | None) -> None:
    finding = hypocalcemia_monitoring(record(denosumab(60), labs=ckd(egfr)), NOW, S)
    assert (finding.fires if finding else None) is fires


@pytest.mark.parametrize(("age", "applies"), [(365, True), (366, False)])
def test_hypocalcemia_renal_function_within_365_days(age: int, applies: bool) -> None:
    finding = hypocalcemia_monitoring(record(denosumab(60), labs=ckd(age=age)), NOW, S)
    assert (finding is not None) is applies


@pytest.mark.parametrize(("days_since", "applies"), [(365, True), (366, False)])
def test_hypocalcemia_needs_d_within_365_days(days_since: int, applies: bool) -> None:
    finding = hypocalcemia_monitoring(record(denosumab(days_since), labs=ckd()), NOW, S)
    assert (finding is not None) is applies


def test_hypocalcemia_offers_a_calcium_order() -> None:
    finding = hypocalcemia_monitoring(record(denosumab(60), labs=ckd()), NOW, S)
    assert finding is not None
    assert finding.indicator is Indicator.WARNING
    assert finding.lab_orders == (Lab.CALCIUM,)


def test_never_a_calcium_fires_from_the_dose_day() -> None:
    finding = hypocalcemia_monitoring(record(denosumab(3), labs=ckd()), NOW, S)
    assert finding is not None and finding.fires
    assert finding.due == day(-3)
    assert finding.facts.missing_recent and not finding.facts.missing_post_dose


@pytest.mark.parametrize(("days_since", "fires"), [(13, False), (14, True)])
def test_no_calcium_from_day_7_fires_on_day_14(days_since: int, fires: bool) -> None:
    # a calcium on day 3 after the dose keeps the 30-day branch quiet
    labs = (*ckd(), lab(Lab.CALCIUM, 2.3, days_since - 3))
    finding = hypocalcemia_monitoring(record(denosumab(days_since), labs=labs), NOW, S)
    assert finding is not None
    assert finding.fires is fires
    assert finding.due == day(14 - days_since)
    assert finding.facts.missing_post_dose is fires


@pytest.mark.parametrize(("after_dose", "fires"), [(6, True), (7, False)])
def test_a_calcium_on_or_after_day_7_is_the_post_dose_check(after_dose: int, fires: bool) -> None:
    labs = (*ckd(), lab(Lab.CALCIUM, 2.3, 20 - after_dose))
    finding = hypocalcemia_monitoring(record(denosumab(20), labs=labs), NOW, S)
    assert finding is not None
    assert finding.fires is fires
    assert finding.facts.post_dose_check is not fires


@pytest.mark.parametrize(("ca_age", "fires"), [(29, False), (30, False), (31, True)])
def test_no_calcium_within_30_days_fires(ca_age: int, fires: bool) -> None:
    labs = (*ckd(), lab(Lab.CALCIUM, 2.3, 90), lab(Lab.CALCIUM, 2.2, ca_age))  # day 10 after D: checked
    finding = hypocalcemia_monitoring(record(denosumab(100), labs=labs), NOW, S)
    assert finding is not None
    assert finding.fires is fires
    assert finding.due == day(31 - ca_age)


def test_a_due_date_past_the_365_day_window_never_fires() -> None:
    labs = (*ckd(), lab(Lab.CALCIUM, 2.3, 330), lab(Lab.CALCIUM, 2.3, 5))  # due D + 366
    assert hypocalcemia_monitoring(record(denosumab(340), labs=labs), NOW, S) is None


def test_hypocalcemia_quotes_the_albumin_corrected_calcium() -> None:
    labs = (*ckd(), lab(Lab.CALCIUM, 2.10, 40), lab(Lab.ALBUMIN, 30, 40))
    finding = hypocalcemia_monitoring(record(denosumab(60), labs=labs), NOW, S)
    assert finding is not None and finding.fires
    calcium = finding.facts.calcium
    assert calcium is not None
    assert calcium.value == pytest.approx(2.30)
    assert calcium.measured == pytest.approx(2.10)


def test_settings_move_the_windows() -> None:
    settings = RuleSettings(denosumab_dose_due_days=170, denosumab_sequencing_days=200)
    finding = dose_due(record(denosumab(175)), NOW, settings)
    assert finding is not None and finding.fires and finding.due == day(-5)
    seq = sequencing_missing(record(denosumab(201)), NOW, settings)
    assert seq is not None and seq.fires
