"""The rule catalogue of rules.md: pure functions of (record, now, settings) → finding or None.

Each clinical area is one module exposing ``RULES``. A rule runs at a *moment*: ``ORDER`` (the
order-select and order-sign hooks, reading draft orders) or ``VIEW`` (patient-view and the scheduled
scans, reading the chart). Time-bound topics are evaluated at every moment so their reminders stay
current, but they show cards only at ``VIEW``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.kernel.findings import TIME_BOUND_TOPICS, Finding
from service.kernel.record import PatientRecord
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule

__all__ = ["Evaluation", "Moment", "Rule", "all_rules", "evaluate"]


def all_rules() -> tuple[Rule, ...]:
    """Every rule, in the order cards are shown (most severe areas first)."""
    from service.rules import bone_drugs, denosumab, diabetes_drugs, monitoring, screening

    return (
        *diabetes_drugs.RULES,
        *bone_drugs.RULES,
        *denosumab.RULES,
        *monitoring.RULES,
        *screening.RULES,
    )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What one evaluation concludes: findings to show as cards, findings that schedule reminders."""

    cards: tuple[Finding, ...]
    reminders: tuple[Finding, ...]


def evaluate(record: PatientRecord, now: datetime, settings: RuleSettings, moment: Moment) -> Evaluation:
    """Run every rule of ``moment`` (and the time-bound rules, for reminders) on one record.

    Deceased patients get no cards and no reminders (rules.md "Shared definitions").
    One finding per topic at most: each rule returns a single finding.
    """
    if record.patient.deceased:
        return Evaluation((), ())
    cards: list[Finding] = []
    reminders: list[Finding] = []
    seen: set[str] = set()
    for rule in all_rules():
        time_bound = rule.topic in TIME_BOUND_TOPICS
        if rule.moment is not moment and not (time_bound and rule.moment is Moment.VIEW):
            continue
        finding = rule.check(record, now, settings)
        if finding is None:
            continue
        if time_bound and finding.due is not None:
            reminders.append(finding)
        if rule.moment is moment and finding.fires and finding.topic not in seen:
            seen.add(finding.topic)
            cards.append(finding)
    return Evaluation(tuple(cards), tuple(reminders))
