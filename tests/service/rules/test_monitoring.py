"""monitoring-overdue: which therapies call for which tests, day 365/366 (730/731 for BMD), due dates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from service.kernel.facts.monitoring import Check, MonitoringFacts, TherapyKind
from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import (
    ConditionFact,
    DrugClass,
    ExposureKind,
    Lab,
    Measurement,
    MedicationExposure,
    PatientRecord,
    Problem,
)
from service.kernel.record import TestOrder as ServiceRequestFact
from service.kernel.thresholds import RuleSettings
from service.rules.monitoring import monitoring_overdue
from tests.builders import NOW, ago, lab, medication, record
from tests.service.rules._bone_therapy_records import alendronate, denosumab, t2dm

S = RuleSettings()
TODAY = NOW.date()


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def antiresorptive_labs(age: int) -> tuple[Measurement, ...]:
    return (lab(Lab.CALCIUM, 2.3, age), lab(Lab.EGFR, 70, age), lab(Lab.CTX, 0.3, age))


def overdue_checks(finding: Finding[MonitoringFacts] | None) -> set[Check]:
    assert finding is not None
    return {s.check for s in finding.facts.overdue}


@pytest.mark.parametrize(("age", "fires"), [(364, False), (365, False), (366, True)])
def test_active_bisphosphonate_tests_every_365_days(age: int, fires: bool) -> None:
    rec = record(alendronate(800), labs=antiresorptive_labs(age))
    finding = monitoring_overdue(rec, NOW, S)
    assert finding is not None
    assert finding.topic is Topic.MONITORING_OVERDUE
    assert finding.indicator is Indicator.WARNING
    assert finding.fires is fires
    assert finding.due == day(366 - age)
    expected = {Check.CALCIUM, Check.RENAL_FUNCTION, Check.TURNOVER_MARKER} if fires else set()
    assert overdue_checks(finding) == expected
    assert set(finding.lab_orders) == ({Lab.CALCIUM, Lab.EGFR, Lab.CTX} if fires else set())


@pytest.mark.parametrize(("last", "applies"), [(365, True), (366, False)])
def test_a_past_bisphosphonate_counts_for_365_days(last: int, applies: bool) -> None:
    past = medication({DrugClass.BISPHOSPHONATE}, last, kind=ExposureKind.REQUEST, status="completed")
    finding = monitoring_overdue(record(past), NOW, S)
    assert (finding is not None) is applies


@pytest.mark.parametrize(("days_since", "applies"), [(365, True), (366, False)])
def test_denosumab_counts_while_d_is_within_365_days(days_since: int, applies: bool) -> None:
    finding = monitoring_overdue(record(denosumab(days_since)), NOW, S)
    assert (finding is not None) is applies
    if finding is not None:
        assert finding.facts.therapies[0].kind is TherapyKind.ANTIRESORPTIVE


def test_a_test_never_done_is_due_since_the_therapy_started() -> None:
    finding = monitoring_overdue(record(alendronate(400), alendronate(100)), NOW, S)
    assert finding is not None and finding.fires
    assert finding.due == day(-400)
    assert all(s.last is None for s in finding.facts.overdue)


def test_the_oldest_test_sets_the_due_date() -> None:
    labs = (lab(Lab.CALCIUM, 2.3, 100), lab(Lab.EGFR, 70, 300), lab(Lab.CTX, 0.3, 200))
    finding = monitoring_overdue(record(alendronate(800), labs=labs), NOW, S)
    assert finding is not None and not finding.fires
    assert finding.due == day(66)


@pytest.mark.parametrize("renal", [Lab.EGFR, Lab.CREATININE_CLEARANCE, Lab.CREATININE])
def test_any_renal_result_counts_as_renal_function(renal: Lab) -> None:
    labs = (lab(Lab.CALCIUM, 2.3, 10), lab(renal, 1.0, 10), lab(Lab.CTX, 0.3, 10))
    finding = monitoring_overdue(record(alendronate(800), labs=labs), NOW, S)
    assert finding is not None and not finding.fires


@pytest.mark.parametrize("marker", [Lab.CTX, Lab.P1NP, Lab.BONE_ALP])
def test_any_turnover_marker_counts(marker: Lab) -> None:
    labs = (lab(Lab.CALCIUM, 2.3, 10), lab(Lab.EGFR, 70, 10), lab(marker, 1.0, 10))
    finding = monitoring_overdue(record(alendronate(800), labs=labs), NOW, S)
    assert finding is not None and not finding.fires


def test_each_overdue_test_gets_its_order() -> None:
    finding = monitoring_overdue(record(alendronate(30), labs=(lab(Lab.CALCIUM, 2.3, 10),)), NOW, S)
    assert finding is not None
    assert finding.lab_orders == (Lab.EGFR, Lab.CTX)


def anabolic(days: int = 400) -> MedicationExposure:
    return medication({DrugClass.ANABOLIC}, days, name="teriparatide 20 mcg daily")


@pytest.mark.parametrize(("bmd_age", "fires"), [(730, False), (731, True)])
def test_anabolic_needs_bmd_every_730_days(bmd_age: int, fires: bool) -> None:
    labs = (lab(Lab.CALCIUM, 2.3, 10), lab(Lab.P1NP, 80, 10), lab(Lab.T_SCORE, -2.7, bmd_age))
    finding = monitoring_overdue(record(anabolic(), labs=labs), NOW, S)
    assert finding is not None
    assert finding.fires is fires
    assert finding.due == day(731 - bmd_age)
    assert overdue_checks(finding) == ({Check.BMD} if fires else set())
    assert finding.lab_orders == ((Lab.BMD,) if fires else ())


def test_anabolic_needs_no_renal_function() -> None:
    labs = (lab(Lab.CALCIUM, 2.3, 10), lab(Lab.P1NP, 80, 10), lab(Lab.BMD, 0.8, 10))
    finding = monitoring_overdue(record(anabolic(), labs=labs), NOW, S)
    assert finding is not None and not finding.fires
    assert {s.check for s in finding.facts.tests} == {Check.CALCIUM, Check.TURNOVER_MARKER, Check.BMD}


def test_a_stopped_anabolic_calls_for_nothing() -> None:
    old = medication({DrugClass.ANABOLIC}, 100, status="stopped")
    assert monitoring_overdue(record(old), NOW, S) is None


def supplement(cls: DrugClass = DrugClass.CALCIUM_SUPPLEMENT) -> MedicationExposure:
    return medication({cls}, 500, name="calcium carbonate 1250 mg", kind=ExposureKind.STATEMENT)


SUPPLEMENT_CHECKS = {Check.CALCIUM, Check.PHOSPHATE, Check.PTH, Check.VITAMIN_D}


@pytest.mark.parametrize(
    "conditions",
    [
        (t2dm(),),
        (ConditionFact(Problem.OSTEOPOROSIS, True, None, "Condition/op"),),
        (ConditionFact(Problem.FRAGILITY_FRACTURE, False, None, "Condition/fx"),),  # healed: still BF
    ],
)
def test_supplements_in_t2dm_or_bone_fragility_need_four_tests(conditions: tuple[ConditionFact, ...]) -> None:
    finding = monitoring_overdue(record(supplement(), conditions=conditions), NOW, S)
    assert finding is not None and finding.fires
    assert overdue_checks(finding) == SUPPLEMENT_CHECKS
    assert finding.lab_orders == (Lab.CALCIUM, Lab.PHOSPHATE, Lab.PTH, Lab.VITAMIN_D)


def test_supplements_without_t2dm_or_bone_fragility_need_nothing() -> None:
    assert monitoring_overdue(record(supplement()), NOW, S) is None


@pytest.mark.parametrize("cls", [DrugClass.NATIVE_VITAMIN_D, DrugClass.ACTIVE_VITAMIN_D])
def test_vitamin_d_native_or_active_is_a_supplement(cls: DrugClass) -> None:
    finding = monitoring_overdue(record(supplement(cls), conditions=(t2dm(),)), NOW, S)
    assert finding is not None
    assert finding.facts.therapies[0].kind is TherapyKind.SUPPLEMENT


@pytest.mark.parametrize(("age", "fires"), [(365, False), (366, True)])
def test_supplement_tests_every_365_days(age: int, fires: bool) -> None:
    labs = tuple(lab(k, 1.0, age) for k in (Lab.CALCIUM, Lab.PHOSPHATE, Lab.PTH, Lab.VITAMIN_D))
    finding = monitoring_overdue(record(supplement(), labs=labs, conditions=(t2dm(),)), NOW, S)
    assert finding is not None
    assert finding.fires is fires


def test_tests_shared_by_therapies_are_ordered_once() -> None:
    rec = record(alendronate(50), supplement(), conditions=(t2dm(),))
    finding = monitoring_overdue(rec, NOW, S)
    assert finding is not None
    assert finding.lab_orders.count(Lab.CALCIUM) == 1
    assert set(finding.lab_orders) == {Lab.CALCIUM, Lab.EGFR, Lab.CTX, Lab.PHOSPHATE, Lab.PTH, Lab.VITAMIN_D}
    # calcium, never done: due since the earlier of the two therapies (the supplement, 500 days ago)
    calcium = next(s for s in finding.facts.tests if s.check is Check.CALCIUM)
    assert calcium.due == day(-500)
    assert finding.due == day(-500)


def test_no_therapy_no_finding() -> None:
    assert monitoring_overdue(record(conditions=(t2dm(),)), NOW, S) is None


def test_the_interval_is_a_setting() -> None:
    settings = RuleSettings(monitoring_interval_days=183)
    finding = monitoring_overdue(record(alendronate(800), labs=antiresorptive_labs(184)), NOW, settings)
    assert finding is not None and finding.fires
    assert finding.due == day(0)


def test_the_typed_finding_becomes_a_reminder_named_by_its_topic() -> None:
    from service.reminders.schedule import _wanted

    finding = monitoring_overdue(record(alendronate(400)), NOW, S)
    assert finding is not None and isinstance(finding.facts, MonitoringFacts)
    assert _wanted([finding]) == {("monitoring-overdue", day(-400)): "monitoring-overdue"}


# --- r3: a calcium of either kind, ordered-not-yet-resulted, the therapy's window, oncology ------


def _ordered(rec: PatientRecord, *orders: tuple[Lab, int, str]) -> PatientRecord:
    """The record with ServiceRequests (test, days ago, status)."""
    return replace(
        rec,
        test_orders=tuple(
            ServiceRequestFact(test, status, ago(days), f"ServiceRequest/{test.value}-{days}")
            for test, days, status in orders
        ),
    )


@pytest.mark.parametrize(("age", "overdue"), [(365, False), (366, True)])
def test_an_ionised_calcium_is_the_calcium_test(age: int, overdue: bool) -> None:
    labs = (lab(Lab.IONISED_CALCIUM, 1.2, age), lab(Lab.EGFR, 70, 10), lab(Lab.CTX, 0.3, 10))
    finding = monitoring_overdue(record(alendronate(800), labs=labs), NOW, S)
    assert finding is not None
    assert overdue_checks(finding) == ({Check.CALCIUM} if overdue else set())
    assert finding.due == day(366 - age)


def _three_ordered(days: int, status: str = "active") -> PatientRecord:
    rec = record(alendronate(800), labs=antiresorptive_labs(400))
    return _ordered(rec, (Lab.CALCIUM, days, status), (Lab.CREATININE, days, status), (Lab.CTX, days, status))


@pytest.mark.parametrize(
    ("days", "status", "pending"),
    [
        (10, "active", True),
        (92, "completed", True),  # day 92 of the order window
        (93, "active", False),  # older than 92 days: treated as lost
        (10, "revoked", False),
        (10, "draft", False),
        (10, "entered-in-error", False),
    ],
)
def test_every_overdue_test_ordered_and_pending_keeps_the_card_and_its_reminder_quiet(
    days: int, status: str, pending: bool
) -> None:
    finding = monitoring_overdue(_three_ordered(days, status), NOW, S)
    assert finding is not None
    assert finding.fires is not pending
    assert overdue_checks(finding) == {Check.CALCIUM, Check.RENAL_FUNCTION, Check.TURNOVER_MARKER}
    if pending:
        assert finding.lab_orders == ()
        assert finding.due is None  # no reminder while the orders are pending
        assert all(s.ordered is not None for s in finding.facts.overdue)
    else:
        assert set(finding.lab_orders) == {Lab.CALCIUM, Lab.EGFR, Lab.CTX}
        assert finding.due == day(-34)


def test_a_result_after_the_order_resolves_it() -> None:
    rec = _ordered(
        record(alendronate(800), labs=(*antiresorptive_labs(400), lab(Lab.CALCIUM, 2.3, 3))),
        (Lab.CALCIUM, 10, "active"),
    )
    finding = monitoring_overdue(rec, NOW, S)
    assert finding is not None and finding.fires
    assert overdue_checks(finding) == {Check.RENAL_FUNCTION, Check.TURNOVER_MARKER}


def test_a_partly_ordered_card_fires_and_offers_only_what_is_not_ordered() -> None:
    rec = _ordered(record(alendronate(800), labs=antiresorptive_labs(400)), (Lab.CALCIUM, 10, "active"))
    finding = monitoring_overdue(rec, NOW, S)
    assert finding is not None and finding.fires
    assert finding.lab_orders == (Lab.EGFR, Lab.CTX)
    assert [s.check for s in finding.facts.awaited] == [Check.CALCIUM]
    assert finding.due == day(-34)  # renal function and the marker are still due since then


def test_an_ionised_calcium_order_is_the_calcium_order() -> None:
    rec = _ordered(
        record(alendronate(800), labs=antiresorptive_labs(400)), (Lab.IONISED_CALCIUM, 5, "active")
    )
    finding = monitoring_overdue(rec, NOW, S)
    assert finding is not None and Lab.CALCIUM not in finding.lab_orders


@pytest.mark.parametrize(("last_exposure", "due"), [(299, day(66)), (300, None)])
def test_the_due_date_is_never_after_the_therapy_window(last_exposure: int, due: date | None) -> None:
    """A past bisphosphonate applies up to last + 365 days; a test due after that gives no date."""
    past = medication({DrugClass.BISPHOSPHONATE}, last_exposure, status="completed")
    finding = monitoring_overdue(record(past, labs=antiresorptive_labs(300)), NOW, S)
    assert finding is not None and not finding.fires
    # the tests fall due on day 66 from now; the therapy ends 365 - last_exposure days from now
    assert finding.facts.therapies[0].until == day(365 - last_exposure)
    assert finding.due == due


def test_the_denosumab_window_ends_at_d_plus_365() -> None:
    finding = monitoring_overdue(record(denosumab(200), labs=antiresorptive_labs(250)), NOW, S)
    assert finding is not None
    assert finding.facts.therapies[0].until == day(165)
    assert finding.due == day(116)
    later = monitoring_overdue(record(denosumab(200), labs=antiresorptive_labs(100)), NOW, S)
    assert later is not None and later.due is None  # due on day 266, after D + 365


def test_an_active_order_has_no_end_and_another_therapy_extends_the_window() -> None:
    finding = monitoring_overdue(record(alendronate(800), labs=antiresorptive_labs(100)), NOW, S)
    assert finding is not None and finding.facts.therapies[0].until is None and finding.due == day(266)
    supplement = medication({DrugClass.CALCIUM_SUPPLEMENT}, 500)
    supplement_labs = (lab(Lab.PHOSPHATE, 1.1, 10), lab(Lab.PTH, 40, 10), lab(Lab.VITAMIN_D, 30, 10))
    both = record(denosumab(200), supplement, t2dm(), labs=(*antiresorptive_labs(100), *supplement_labs))
    finding = monitoring_overdue(both, NOW, S)
    assert finding is not None
    # calcium is also a supplement test (no end): due on day 266, after D + 365 (day 165), it still counts;
    # renal function and the marker, due the same day, end with denosumab
    assert finding.due == day(266)


@pytest.mark.parametrize("oncology", [DrugClass.DENOSUMAB_ONCOLOGY, DrugClass.ZOLEDRONIC_ACID_ONCOLOGY])
def test_oncology_regimens_raise_no_monitoring(oncology: DrugClass) -> None:
    for exposure in (
        medication({oncology}, 30, kind=ExposureKind.ADMINISTRATION, status="completed"),
        medication({oncology}, 30),
    ):
        assert monitoring_overdue(record(exposure, t2dm()), NOW, S) is None
