"""Denosumab: the next 6-monthly dose, sequencing to a bisphosphonate, calcium checks in CKD (T2DM §3).

All three topics are time-bound: each rule returns a finding with ``due`` whenever the denosumab course
makes the topic relevant, ``fires=False`` while that day is ahead. D is the last denosumab dose
(``denosumab_last_dose``: chart exposures only; oncology regimens such as Xgeva 120 mg never reach the
record). Day counts are calendar days (UTC): day N means ``now.date() == D + N``.

Readings of rules.md chosen here (a careful clinician's):

- Sequencing is due on D + 213 (rules.md "Reminders"). When the course is discontinued the card shows
  at once, but the reminder keeps that same date so every evaluation agrees on it. On day 213 itself
  the reminder falls due while the card still waits for "now > D + 213" (day 214), when the dose-due
  card (days 183–213) hands over to it.
- Dose-due returns nothing after day 213 (its window is over; sequencing takes over) and nothing once
  the course is discontinued or sequenced.
- Hypocalcaemia monitoring is due on the first day either branch of rules.md holds: D + 14 when no
  calcium was drawn on or after D + 7; the day after the latest calcium's 30-day window ends
  (latest + 31); or D itself when no calcium was ever drawn. The earliest of these (never before D)
  is the due date, so ``fires`` is exactly ``now >= due``. A due date after D + 365 can never fire
  for this dose, so the rule returns nothing.

The facts each rule concludes are the types of :mod:`service.kernel.facts.denosumab`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from service.kernel.clinical import RenalFunction
from service.kernel.facts.denosumab import DoseDueFacts, HypocalcemiaFacts, SequencingFacts
from service.kernel.findings import Finding, Indicator, Proposal, Topic
from service.kernel.record import DrugClass, Lab, PatientRecord
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    add_days,
    denosumab_discontinued,
    denosumab_last_dose,
    renal_function,
    sequenced_after,
    serum_calcium,
    within,
)


@dataclass(frozen=True, slots=True)
class Course:
    """The patient's denosumab course as the chart shows it."""

    last_dose: date  # D
    name: str  # the product as charted, for the card
    discontinued: bool  # the latest denosumab MedicationRequest is stopped
    sequenced: bool  # a bisphosphonate exposure (or draft) dated after D


def course(record: PatientRecord, now: datetime) -> Course | None:
    """D and what happened after it; None when the chart has no dated denosumab exposure."""
    last = denosumab_last_dose(record, now)
    if last is None:
        return None
    doses = [m for m in record.exposures(DrugClass.DENOSUMAB) if m.at is not None and m.at.date() == last]
    return Course(
        last_dose=last,
        name=doses[-1].name if doses else "denosumab",
        discontinued=denosumab_discontinued(record),
        sequenced=sequenced_after(record, last),
    )


def _renal_below(renal: RenalFunction | None, threshold: float) -> bool:
    return renal is not None and renal.value < threshold


def sequencing_missing(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[SequencingFacts] | None:
    """``denosumab-sequencing-missing`` (critical).

    Due on D + 213. The proposed bisphosphonate starts on max(D + 183, today) (``proposal_start``).
    ``renal`` is the renal function within 365 days or None; below 35 (``renal_low``) nothing is
    proposed and the card says to keep denosumab instead.
    """
    c = course(record, now)
    if c is None or c.sequenced:
        return None
    due = add_days(c.last_dose, settings.denosumab_sequencing_days)
    today = now.date()
    renal = renal_function(record, now, settings.renal_function_window_days)
    renal_low = _renal_below(renal, settings.bisphosphonate_min_renal_function)
    start = max(add_days(c.last_dose, settings.denosumab_dose_due_days), today)
    return Finding(
        topic=Topic.DENOSUMAB_SEQUENCING_MISSING,
        indicator=Indicator.CRITICAL,
        facts=SequencingFacts(
            last_dose=c.last_dose,
            name=c.name,
            discontinued=c.discontinued,
            days_since=(today - c.last_dose).days,
            renal=renal,
            renal_low=renal_low,
        ),
        due=due,
        proposals=() if renal_low else (Proposal.ZOLEDRONIC_ACID_5MG_IV, Proposal.ALENDRONATE_70MG_WEEKLY),
        fires=c.discontinued or today > due,
        proposal_start=start,
    )


def dose_due(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding[DoseDueFacts] | None:
    """``denosumab-dose-due`` (warning): fires on days 183–213 after D, pending before.

    Due on D + 183; ``window_end`` is D + 213; ``renal`` and ``renal_low`` as in sequencing (below 35
    the card says a bisphosphonate is no alternative, so denosumab should not be stopped).
    """
    c = course(record, now)
    if c is None or c.discontinued or c.sequenced:
        return None
    due = add_days(c.last_dose, settings.denosumab_dose_due_days)
    window_end = add_days(c.last_dose, settings.denosumab_sequencing_days)
    today = now.date()
    if today > window_end:
        return None
    renal = renal_function(record, now, settings.renal_function_window_days)
    return Finding(
        topic=Topic.DENOSUMAB_DOSE_DUE,
        indicator=Indicator.WARNING,
        facts=DoseDueFacts(
            last_dose=c.last_dose,
            name=c.name,
            days_since=(today - c.last_dose).days,
            window_end=window_end,
            renal=renal,
            renal_low=_renal_below(renal, settings.bisphosphonate_min_renal_function),
        ),
        due=due,
        fires=today >= due,
    )


def _calcium_days(record: PatientRecord, now: datetime) -> list[date]:
    """Days with a serum calcium result, up to today."""
    return sorted(m.at.date() for m in record.series(Lab.CALCIUM) if m.at.date() <= now.date())


def hypocalcemia_monitoring(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[HypocalcemiaFacts] | None:
    """``denosumab-hypocalcemia-monitoring`` (warning): renal function < 30 and D within 365 days.

    ``calcium`` is the latest serum calcium ever (or None); ``check_from`` D + 7, ``check_by`` D + 14;
    ``missing_post_dose``: the D + 14 branch holds now; ``missing_recent``: no calcium within 30 days.
    """
    c = course(record, now)
    if c is None or not within(c.last_dose, now, settings.denosumab_hypocalcemia_recent_dose_days):
        return None
    renal = renal_function(record, now, settings.renal_function_window_days)
    if renal is None or not _renal_below(renal, settings.denosumab_hypocalcemia_renal_threshold):
        return None
    today = now.date()
    days = _calcium_days(record, now)
    check_from = add_days(c.last_dose, settings.denosumab_calcium_check_after_days)
    check_by = add_days(c.last_dose, settings.denosumab_calcium_check_by_days)
    post_dose_check = any(d >= check_from for d in days)
    window = settings.denosumab_calcium_window_days
    candidates = [max(c.last_dose, add_days(days[-1], window + 1)) if days else c.last_dose]
    if not post_dose_check:
        candidates.append(check_by)
    due = min(candidates)
    if due > add_days(c.last_dose, settings.denosumab_hypocalcemia_recent_dose_days):
        return None
    return Finding(
        topic=Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING,
        indicator=Indicator.WARNING,
        facts=HypocalcemiaFacts(
            last_dose=c.last_dose,
            name=c.name,
            renal=renal,
            calcium=serum_calcium(record, now, settings),
            check_from=check_from,
            check_by=check_by,
            post_dose_check=post_dose_check,
            window_days=window,
            missing_post_dose=not post_dose_check and today >= check_by,
            missing_recent=not days or (today - days[-1]).days > window,
        ),
        due=due,
        lab_orders=(Lab.CALCIUM,),
        fires=today >= due,
    )


RULES: tuple[Rule, ...] = (
    Rule(Topic.DENOSUMAB_SEQUENCING_MISSING, Moment.VIEW, sequencing_missing),
    Rule(Topic.DENOSUMAB_DOSE_DUE, Moment.VIEW, dose_due),
    Rule(Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING, Moment.VIEW, hypocalcemia_monitoring),
)
