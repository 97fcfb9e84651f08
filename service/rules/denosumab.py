"""Denosumab: the next 6-monthly dose, sequencing to a bisphosphonate, calcium checks in CKD (T2DM §3).

Revision 3 of rules.md. D is the last denosumab dose (``denosumab_last_dose``: administrations,
statements and dispenses first; an order stands for a dose only in a chart with none of those, so a
renewed order after the last injection is not a dose and the card names it). A course is **stopped** or
**continuing** (``denosumab_stopped``): sequencing is a card about a stopped course only, the dose card
about a continuing one only, and both only while D is within 730 days (after that the patient belongs to
``osteoporosis-untreated``). Oncology regimens (denosumab 120 mg) never set D.

All three topics are time-bound: each rule returns a finding with ``due`` whenever the course makes the
topic relevant, ``fires=False`` while that day is ahead. Day counts are calendar days: day N means
``now.date() == D + N``.

- ``denosumab-sequencing-missing``: fires as soon as the course is stopped (warning while now < D + 183,
  critical from D + 183); its reminder is due on D + 183. The bisphosphonates it offers pass the drug
  guard (``bisphosphonate_withheld``), each with the tests that prepare its first dose.
- ``denosumab-dose-due``: due on D + 183, warning to D + 213, critical after ("overdue by N days").
- ``denosumab-hypocalcemia-monitoring``: weekly in the first month (D + 7 ≤ now < D + 35, no calcium
  within 7 days), monthly after (no calcium within 30 days). Its due date is the first day of the run of
  days on which the card fires that holds today, else the next such run ("when the current interval runs
  out"), never after D + 365. A calcium ordered within the current interval and not yet resulted
  silences it (rules.md "Ordered, not yet resulted").

In pregnancy the two course cards are at most warnings and offer nothing. The facts each rule concludes
are the types of :mod:`service.kernel.facts.denosumab`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from service.kernel.clinical import WithholdReason
from service.kernel.facts.denosumab import (
    Course,
    DoseDueFacts,
    HypocalcemiaFacts,
    OpenOrder,
    SequencingFacts,
    Withheld,
)
from service.kernel.findings import Finding, Indicator, Proposal, Topic
from service.kernel.record import DrugClass, Lab, PatientRecord, Problem
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    add_days,
    bisphosphonate_orders_before_denosumab,
    bisphosphonate_preparation_tests,
    bisphosphonate_withheld,
    calcium_status,
    denosumab_last_dose,
    denosumab_orders_after_last_dose,
    denosumab_stopped,
    hypocalcaemia,
    last_result,
    on_dialysis,
    oncology_regimen,
    ordered_not_resulted,
    pregnant,
    renal_function,
    sequenced_after,
    vitamin_d_low,
    within,
)

DRUGS = (Proposal.ZOLEDRONIC_ACID_5MG_IV, Proposal.ALENDRONATE_70MG_WEEKLY)
CALCIUM_TESTS = frozenset({Lab.CALCIUM, Lab.IONISED_CALCIUM})

#: Reasons that correcting calcium or vitamin D (and checking the kidneys) can lift: when every drug is
#: withheld and one of them for these reasons alone, the missing tests are offered on their own.
_CORRECTABLE = frozenset(
    {WithholdReason.HYPOCALCAEMIA, WithholdReason.VITAMIN_D_LOW, WithholdReason.RENAL_UNKNOWN}
)


def course(record: PatientRecord, now: datetime, settings: RuleSettings) -> Course | None:
    """D and what the cards say about the course; None without a D within 730 days."""
    last = denosumab_last_dose(record, now)
    if last is None or not within(last, now, settings.denosumab_course_window_days):
        return None
    doses = [
        m
        for m in record.exposures(DrugClass.DENOSUMAB)
        if m.at is not None and m.at.date() == last and m.is_exposure
    ]
    regimen = oncology_regimen(record, now, settings)
    return Course(
        last_dose=last,
        name=doses[-1].name if doses else "denosumab",
        days_since=(now.date() - last).days,
        renewed=tuple(
            OpenOrder(m.name, m.at.date() if m.at else None)
            for m in denosumab_orders_after_last_dose(record, now)
        ),
        open_bisphosphonates=tuple(
            OpenOrder(m.name, m.at.date() if m.at else None)
            for m in bisphosphonate_orders_before_denosumab(record, now)
        ),
        renal=renal_function(record, now, settings.renal_function_window_days, settings),
        dialysis=on_dialysis(record, now, settings),
        pregnant=pregnant(record, now, settings),
        oncology=regimen.name if regimen is not None else None,
    )


def _below(c: Course, threshold: float) -> bool:
    """Renal function below ``threshold``; on dialysis it always is (rules.md "Dialysis (r3)")."""
    return c.dialysis or (c.renal is not None and c.renal.value < threshold)


@dataclass(frozen=True, slots=True)
class Guard:
    """The drug guard's answer for the sequencing bisphosphonates."""

    offered: tuple[Proposal, ...]
    withheld: tuple[Withheld, ...]
    preparation: tuple[tuple[Proposal, tuple[Lab, ...]], ...]
    tests: tuple[Lab, ...]  # suggestions of their own: only when every drug is withheld
    recommended: Proposal | None


def drug_guard(record: PatientRecord, now: datetime, settings: RuleSettings) -> Guard:
    """rules.md "Bisphosphonate suitability (r3)" and "Selection (r3)" for zoledronic acid and alendronate.

    Each drug offered carries the tests that prepare its first dose (a creatinine with zoledronic acid
    when renal function ≥ 35 is older than 30 days; calcium and 25-OH vitamin D when missing). When every
    drug is withheld, the missing calcium and vitamin D tests are suggestions of their own only if a drug
    is withheld for hypocalcaemia or low vitamin D alone (correcting them would let it be given), and the
    creatinine/eGFR test whenever renal function is unknown. Zoledronic acid is recommended when both are
    offered and the patient has diabetic neuropathy.
    """
    offered: list[Proposal] = []
    withheld: list[Withheld] = []
    preparation: list[tuple[Proposal, tuple[Lab, ...]]] = []
    for drug in DRUGS:
        reasons = bisphosphonate_withheld(record, now, settings, drug)
        if reasons:
            withheld.append(Withheld(drug, reasons))
        else:
            offered.append(drug)
            prepare = bisphosphonate_preparation_tests(record, now, settings, drug)
            if prepare:
                preparation.append((drug, prepare))
    tests: list[Lab] = []
    if not offered:
        if any(
            set(w.reasons) <= _CORRECTABLE
            and {WithholdReason.HYPOCALCAEMIA, WithholdReason.VITAMIN_D_LOW} & set(w.reasons)
            for w in withheld
        ):
            missing = {
                lab for drug in DRUGS for lab in bisphosphonate_preparation_tests(record, now, settings, drug)
            }
            tests += [lab for lab in (Lab.CALCIUM, Lab.VITAMIN_D) if lab in missing]
        if any(WithholdReason.RENAL_UNKNOWN in w.reasons for w in withheld):
            tests.insert(0, Lab.CREATININE)
    recommended = (
        Proposal.ZOLEDRONIC_ACID_5MG_IV
        if len(offered) == len(DRUGS) and record.has_problem(Problem.DIABETIC_NEUROPATHY)
        else None
    )
    return Guard(tuple(offered), tuple(withheld), tuple(preparation), tuple(tests), recommended)


def sequencing_missing(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[SequencingFacts] | None:
    """``denosumab-sequencing-missing``: D within 730 days, the course **stopped**, not sequenced.

    Fires at once; warning while now < D + 183, critical from D + 183, its reminder due on D + 183. The
    bisphosphonates offered start on max(D + 183, today). With renal function < 35 or on dialysis nothing
    is offered and the card asks for specialist advice; in pregnancy it is a warning offering nothing.
    """
    c = course(record, now, settings)
    if c is None or not denosumab_stopped(record, now) or sequenced_after(record, c.last_dose, now):
        return None
    due = add_days(c.last_dose, settings.denosumab_dose_due_days)
    today = now.date()
    renal_low = _below(c, settings.bisphosphonate_min_renal_function)
    guard = drug_guard(record, now, settings)
    quiet = c.pregnant or renal_low
    offered = () if quiet else guard.offered
    status = hypocalcaemia(record, now, settings)
    vitamin_d = vitamin_d_low(record, now, settings)
    creatinine_first = any(
        drug is Proposal.ZOLEDRONIC_ACID_5MG_IV and Lab.CREATININE in tests
        for drug, tests in guard.preparation
    )
    critical = today >= due and not c.pregnant
    return Finding(
        topic=Topic.DENOSUMAB_SEQUENCING_MISSING,
        indicator=Indicator.CRITICAL if critical else Indicator.WARNING,
        facts=SequencingFacts(
            course=c,
            start_in=max((due - today).days, 0),
            renal_low=renal_low,
            withheld=() if quiet else guard.withheld,
            calcium=status.calcium if status is not None else None,
            vitamin_d=vitamin_d.value if vitamin_d is not None else None,
            creatinine_first=creatinine_first and not quiet,
            neuropathy=guard.recommended is not None and not quiet,
        ),
        due=due,
        proposals=offered,
        preparation=() if quiet else guard.preparation,
        recommended=None if quiet else guard.recommended,
        lab_orders=() if quiet else guard.tests,
        fires=True,
        proposal_start=max(due, today),
    )


def dose_due(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding[DoseDueFacts] | None:
    """``denosumab-dose-due``: D within 730 days, the course **continuing**, not sequenced.

    Due on D + 183: warning to D + 213, critical after (at most warning in pregnancy). No order is offered:
    the next dose is the prescriber's order.
    """
    c = course(record, now, settings)
    if c is None or denosumab_stopped(record, now) or sequenced_after(record, c.last_dose, now):
        return None
    due = add_days(c.last_dose, settings.denosumab_dose_due_days)
    overdue_from = add_days(c.last_dose, settings.denosumab_dose_overdue_days)
    today = now.date()
    overdue = today > overdue_from
    status = hypocalcaemia(record, now, settings)
    return Finding(
        topic=Topic.DENOSUMAB_DOSE_DUE,
        indicator=Indicator.CRITICAL if overdue and not c.pregnant else Indicator.WARNING,
        facts=DoseDueFacts(
            course=c,
            overdue_days=(today - due).days if overdue else None,
            rebound=c.days_since > settings.denosumab_rebound_days,
            renal_low=_below(c, settings.bisphosphonate_min_renal_function),
            boxed=_below(c, settings.denosumab_hypocalcemia_renal_threshold),
            calcium=status.calcium if status is not None else None,
        ),
        due=due,
        fires=today >= due,
    )


def _calcium_runs(d: date, last: date | None, s: RuleSettings) -> list[tuple[date, date | None]]:
    """The runs of days on which the monitoring card fires, given the latest calcium ``last`` (none
    drawn later): the weekly run within the first month and the monthly run after, merged when they meet.
    Each is (first day, last day or None: open)."""
    weekly_from = add_days(d, s.denosumab_calcium_check_after_days)
    monthly_from = add_days(d, s.denosumab_calcium_weekly_until_days)
    if last is not None:
        weekly_from = max(weekly_from, add_days(last, s.denosumab_calcium_weekly_window_days + 1))
        monthly_from = max(monthly_from, add_days(last, s.denosumab_calcium_window_days + 1))
    runs: list[tuple[date, date | None]] = []
    weekly_to = add_days(d, s.denosumab_calcium_weekly_until_days - 1)
    if weekly_from <= weekly_to:
        runs.append((weekly_from, weekly_to))
    if runs and add_days(weekly_to, 1) == monthly_from:
        runs[-1] = (runs[-1][0], None)
    else:
        runs.append((monthly_from, None))
    return runs


def hypocalcemia_monitoring(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[HypocalcemiaFacts] | None:
    """``denosumab-hypocalcemia-monitoring`` (warning): renal function (365 days) < 30 or on dialysis, D
    within 365 days, and the calcium of the current interval missing (weekly in the first month, monthly
    after). The due date is the first day of the run of firing days that holds today, else of the next
    one; none after D + 365.
    """
    s = settings
    c = course(record, now, s)
    if c is None or not within(c.last_dose, now, s.denosumab_hypocalcemia_recent_dose_days):
        return None
    if not _below(c, s.denosumab_hypocalcemia_renal_threshold):
        return None
    today = now.date()
    latest = last_result(record, CALCIUM_TESTS, now)
    runs = _calcium_runs(c.last_dose, latest.at.date() if latest is not None else None, s)
    current = next((r for r in runs if r[0] <= today and (r[1] is None or today <= r[1])), None)
    upcoming = next((r for r in runs if r[0] > today), None)
    run = current or upcoming
    if run is None:
        return None
    due = run[0]
    if due > add_days(c.last_dose, s.denosumab_hypocalcemia_recent_dose_days):
        return None
    weekly = today < add_days(c.last_dose, s.denosumab_calcium_weekly_until_days)
    window = s.denosumab_calcium_weekly_window_days if weekly else s.denosumab_calcium_window_days
    if ordered_not_resulted(record, CALCIUM_TESTS, now, window, s) is not None:
        return None
    status = (
        calcium_status(record, now, s, window_days=(today - latest.at.date()).days)
        if latest is not None
        else None
    )
    return Finding(
        topic=Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING,
        indicator=Indicator.WARNING,
        facts=HypocalcemiaFacts(
            course=c,
            weekly=weekly,
            window_days=window,
            calcium=status.calcium if status is not None else None,
        ),
        due=due,
        lab_orders=(Lab.CALCIUM,),
        fires=current is not None,
    )


RULES: tuple[Rule, ...] = (
    Rule(Topic.DENOSUMAB_SEQUENCING_MISSING, Moment.VIEW, sequencing_missing),
    Rule(Topic.DENOSUMAB_DOSE_DUE, Moment.VIEW, dose_due),
    Rule(Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING, Moment.VIEW, hypocalcemia_monitoring),
)
