"""``monitoring-overdue``: the safety and efficacy tests each bone therapy needs (T2DM §2.3, §3).

A therapy calls for tests, each with an interval; a test is overdue when no result lies within it.
Time-bound: the finding exists whenever a therapy applies, with ``due`` the day the oldest test runs
out of its interval, or the therapy's first recorded date for a test never done; ``fires`` is
``now >= due``.

Readings of rules.md chosen here (a careful clinician's):

- "Runs out of its interval": a result dated L is within a 365-day interval up to L + 365, so the
  test falls due on L + 366, the first day without a result in the interval (day 365 is still in
  time, day 366 is overdue, matching ``within``).
- "Renal function" is done when any creatinine clearance, eGFR or serum creatinine was reported:
  the creatinine is the test, eGFR and Cockcroft–Gault are computed from it.
- When several therapies call for the same test, its interval is the shortest and its "first
  recorded date" the earliest first date of those therapies. A therapy's first recorded date is the
  earliest dated exposure of the drug classes that make it apply now.
- "Vitamin D supplement" is native or active vitamin D (rules.md lists calcitriol and alfacalcidol).
- (r3) "A calcium result of either kind (total or ionised) is the calcium test."
- (r3) "Ordered, not yet resulted": an overdue test with an active or completed ServiceRequest authored
  within its interval and within 92 days is not offered again; the card says "ordered on …, no result
  yet". When every overdue test is so ordered the card does not fire, and the tests so ordered give no
  due date: the reminder is not delivered while the order is pending (the evaluation no longer gives its
  date, so it is cancelled, and it is pending again if the order is lost or entered in error).
- (r3) The due date is "never a date after the therapy's own window has ended": a therapy that applies
  through a recent exposure (a bisphosphonate exposure, or the denosumab dose D, within 365 days) ends on
  the last day of that window; a test whose due date falls after the end of every therapy that calls for
  it gives no due date (the test will not be needed). An active order has no end.
- (r3) Oncology regimens (denosumab 120 mg, zoledronic acid 4 mg) raise no monitoring: the mapping gives
  them their own classes only, so no therapy here counts them.
"""

from __future__ import annotations

from datetime import date, datetime

from service.kernel.facts.monitoring import Check, CheckStatus, MonitoringFacts, Therapy, TherapyKind
from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import (
    BMD_RESULTS,
    BONE_TURNOVER_MARKERS,
    VITAMIN_D,
    DrugClass,
    Lab,
    MedicationExposure,
    PatientRecord,
)
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    active,
    add_days,
    bone_fragility,
    denosumab_last_dose,
    first_exposure,
    has_t2dm,
    last_exposure,
    last_result,
    ordered_not_resulted,
    within,
)

#: The results that count for each test (``labs``), and what the card orders for it.
_LABS: dict[Check, frozenset[Lab]] = {
    Check.CALCIUM: frozenset({Lab.CALCIUM, Lab.IONISED_CALCIUM}),
    Check.RENAL_FUNCTION: frozenset({Lab.EGFR, Lab.CREATININE_CLEARANCE, Lab.CREATININE}),
    Check.TURNOVER_MARKER: BONE_TURNOVER_MARKERS,
    Check.BMD: BMD_RESULTS,
    Check.PHOSPHATE: frozenset({Lab.PHOSPHATE}),
    Check.PTH: frozenset({Lab.PTH}),
    Check.VITAMIN_D: frozenset({Lab.VITAMIN_D}),
}
_ORDER: dict[Check, Lab] = {
    Check.CALCIUM: Lab.CALCIUM,
    Check.RENAL_FUNCTION: Lab.EGFR,
    Check.TURNOVER_MARKER: Lab.CTX,
    Check.BMD: Lab.BMD,
    Check.PHOSPHATE: Lab.PHOSPHATE,
    Check.PTH: Lab.PTH,
    Check.VITAMIN_D: Lab.VITAMIN_D,
}


def _names(exposures: list[MedicationExposure]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.name for m in exposures))


def _since(record: PatientRecord, classes: list[DrugClass]) -> date | None:
    dates = [d for d in (first_exposure(record, cls) for cls in classes) if d is not None]
    return min(dates).date() if dates else None


def _antiresorptive(record: PatientRecord, now: datetime, settings: RuleSettings) -> Therapy | None:
    recent = settings.antiresorptive_recent_days
    classes: list[DrugClass] = []
    ends: list[date | None] = []
    last_bp = last_exposure(record, DrugClass.BISPHOSPHONATE, now)
    if active(record, DrugClass.BISPHOSPHONATE):
        classes.append(DrugClass.BISPHOSPHONATE)
        ends.append(None)
    elif last_bp is not None and within(last_bp, now, recent):
        classes.append(DrugClass.BISPHOSPHONATE)
        ends.append(add_days(last_bp.date(), recent))
    d = denosumab_last_dose(record, now)
    if d is not None and within(d, now, recent):
        classes.append(DrugClass.DENOSUMAB)
        ends.append(add_days(d, recent))
    if not classes:
        return None
    until = None if None in ends else max(e for e in ends if e is not None)
    every = settings.monitoring_interval_days
    drugs = [m for m in record.medications if set(classes) & m.classes and m.is_exposure]
    return Therapy(
        TherapyKind.ANTIRESORPTIVE,
        _names(drugs),
        _since(record, classes),
        ((Check.CALCIUM, every), (Check.RENAL_FUNCTION, every), (Check.TURNOVER_MARKER, every)),
        until,
    )


def _anabolic(record: PatientRecord, settings: RuleSettings) -> Therapy | None:
    drugs = active(record, DrugClass.ANABOLIC)
    if not drugs:
        return None
    every = settings.monitoring_interval_days
    return Therapy(
        TherapyKind.ANABOLIC,
        _names(drugs),
        _since(record, [DrugClass.ANABOLIC]),
        (
            (Check.CALCIUM, every),
            (Check.TURNOVER_MARKER, every),
            (Check.BMD, settings.anabolic_bmd_interval_days),
        ),
    )


def _supplement(record: PatientRecord, now: datetime, settings: RuleSettings) -> Therapy | None:
    classes = [cls for cls in (DrugClass.CALCIUM_SUPPLEMENT, *sorted(VITAMIN_D)) if active(record, cls)]
    if not classes or not (has_t2dm(record) or bone_fragility(record, now)):
        return None
    every = settings.monitoring_interval_days
    drugs = [m for m in record.medications if m.active and set(classes) & m.classes]
    return Therapy(
        TherapyKind.SUPPLEMENT,
        _names(drugs),
        _since(record, classes),
        tuple((t, every) for t in (Check.CALCIUM, Check.PHOSPHATE, Check.PTH, Check.VITAMIN_D)),
    )


def therapies(record: PatientRecord, now: datetime, settings: RuleSettings) -> tuple[Therapy, ...]:
    """The therapies that call for monitoring now, in the order the card lists them."""
    found = (
        _antiresorptive(record, now, settings),
        _anabolic(record, settings),
        _supplement(record, now, settings),
    )
    return tuple(t for t in found if t is not None)


def check_statuses(
    record: PatientRecord, now: datetime, applying: tuple[Therapy, ...], settings: RuleSettings
) -> tuple[CheckStatus, ...]:
    """Each test once, with the shortest interval and the earliest first date of its therapies, and the
    pending order of it (r3)."""
    intervals: dict[Check, int] = {}
    starts: dict[Check, date] = {}
    for therapy in applying:
        for test, days in therapy.tests:
            intervals[test] = min(days, intervals.get(test, days))
            if therapy.since is not None:
                starts[test] = min(therapy.since, starts.get(test, therapy.since))
    statuses: list[CheckStatus] = []
    for test, days in intervals.items():
        last = last_result(record, _LABS[test], now)
        if last is not None:
            due: date | None = add_days(last.at.date(), days + 1)
            overdue = not within(last.at, now, days)
        else:
            due = starts.get(test)
            overdue = True
        ordered = ordered_not_resulted(record, _LABS[test], now, days, settings)
        statuses.append(CheckStatus(test, days, last, due, overdue, ordered))
    return tuple(statuses)


def _ends(applying: tuple[Therapy, ...]) -> dict[Check, date | None]:
    """The last day each test is called for: the latest end of its therapies (None: no end)."""
    ends: dict[Check, list[date | None]] = {}
    for therapy in applying:
        for test, _days in therapy.tests:
            ends.setdefault(test, []).append(therapy.until)
    return {test: _latest_end(days) for test, days in ends.items()}


def _latest_end(ends: list[date | None]) -> date | None:
    known = [e for e in ends if e is not None]
    return None if len(known) < len(ends) else max(known)


def due_date(applying: tuple[Therapy, ...], tests: tuple[CheckStatus, ...]) -> date | None:
    """The reminder's due date: the earliest due date of a test not ordered and pending, and never after
    the end of the therapies that call for it (r3)."""
    ends = _ends(applying)
    dues: list[date] = []
    for s in tests:
        end = ends.get(s.check)
        if s.due is not None and s.ordered is None and (end is None or s.due <= end):
            dues.append(s.due)
    return min(dues) if dues else None


def monitoring_overdue(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[MonitoringFacts] | None:
    """``monitoring-overdue`` (warning).

    facts: :class:`MonitoringFacts`, the therapies and every test they call for.
    """
    applying = therapies(record, now, settings)
    if not applying:
        return None
    facts = MonitoringFacts(applying, check_statuses(record, now, applying, settings))
    to_order = facts.to_order
    return Finding(
        topic=Topic.MONITORING_OVERDUE,
        indicator=Indicator.WARNING,
        facts=facts,
        due=due_date(applying, facts.tests),
        lab_orders=tuple(dict.fromkeys(_ORDER[s.check] for s in to_order)),
        fires=bool(to_order),
    )


RULES: tuple[Rule, ...] = (Rule(Topic.MONITORING_OVERDUE, Moment.VIEW, monitoring_overdue),)
