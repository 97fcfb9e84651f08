"""The rule catalogue of rules.md: pure functions of (record, now, settings) → finding or None.

Each clinical area is one module exposing ``RULES``. A rule runs at a *moment*: ``ORDER`` (the
order-select and order-sign hooks, reading draft orders) or ``VIEW`` (patient-view and the scheduled
scans, reading the chart). Time-bound topics are evaluated at every moment so their reminders stay
current, but they show cards only at ``VIEW``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from service.kernel.findings import TIME_BOUND_TOPICS, Finding, Topic
from service.kernel.record import PatientRecord
from service.kernel.thresholds import RuleSettings
from service.rules import precedence
from service.rules._registry import Moment, Rule
from service.rules.definitions import adult, in_palliative_care

__all__ = ["PALLIATIVE_VIEW_TOPICS", "Evaluation", "Moment", "Rule", "all_rules", "evaluate"]

#: rules.md "Exclusions (r3)": in palliative or hospice care, the patient-view topics that still fire
#: ("acute harm from a drug or a calcium level"), with no suggestions and the goals-of-care line. Codes,
#: not ``Topic`` members, so that a topic still to come is named here already.
PALLIATIVE_VIEW_TOPICS: frozenset[str] = frozenset(
    {
        "bisphosphonate-renal-contraindication",
        "hypocalcemia-on-antiresorptive",
        "hypercalcemia-on-therapy",
    }
)


def all_rules() -> tuple[Rule, ...]:
    """Every rule, in the order cards are shown (most severe areas first)."""
    from service.rules import (
        bone_drugs,
        calcium,
        ckd_mbd,
        denosumab,
        diabetes_drugs,
        drug_safety,
        glycaemia,
        monitoring,
        screening,
        treatment_gap,
    )

    return (
        *diabetes_drugs.RULES,
        *bone_drugs.RULES,
        *drug_safety.RULES,
        *denosumab.RULES,
        *treatment_gap.RULES,
        *monitoring.RULES,
        *screening.RULES,
        *calcium.RULES,
        *glycaemia.RULES,
        *ckd_mbd.RULES,
    )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What one evaluation concludes: findings to show as cards, findings that schedule reminders."""

    cards: tuple[Finding, ...]
    reminders: tuple[Finding, ...]


def evaluate(record: PatientRecord, now: datetime, settings: RuleSettings, moment: Moment) -> Evaluation:
    """Run every rule of ``moment`` (and the time-bound rules, for reminders) on one record.

    Deceased patients get no cards and no reminders (rules.md "Shared definitions"). Exclusions (r3):
    under 18, no patient-view card and no reminder (the order-time rules still fire); in palliative or
    hospice care, no reminder, and at patient-view only the topics of :data:`PALLIATIVE_VIEW_TOPICS`,
    with no suggestions and ``goals_of_care`` set. No reminder means the reconciliation cancels the
    pending ones, as for a deceased patient. One finding per topic at most: each rule returns a single
    finding. Pregnancy (r3): at order time, a draft that ``bone-drug-in-pregnancy`` deletes is the subject
    of no other card (:func:`service.rules.drug_safety.only_pregnancy_card`).
    """
    if record.patient.deceased:
        return Evaluation((), ())
    minor = not adult(record, now, settings)
    palliative = in_palliative_care(record, now, settings)
    if minor and moment is Moment.VIEW:
        return Evaluation((), ())
    reminders_allowed = not (minor or palliative)
    cards: list[Finding] = []
    reminders: list[Finding] = []
    found: dict[Topic, Finding] = {}  # every finding made, shown or not: the topics' precedence reads it
    seen: set[str] = set()
    for rule in all_rules():
        time_bound = rule.topic in TIME_BOUND_TOPICS
        shows = rule.moment is moment
        if palliative and shows and moment is Moment.VIEW and rule.topic.value not in PALLIATIVE_VIEW_TOPICS:
            shows = False
        reminds = reminders_allowed and time_bound and rule.moment is Moment.VIEW
        if not (shows or reminds):
            continue
        finding = rule.check(record, now, settings)
        if finding is None:
            continue
        found.setdefault(finding.topic, finding)
        if reminds and finding.due is not None:
            reminders.append(finding)
        if shows and finding.fires and finding.topic not in seen:
            seen.add(finding.topic)
            cards.append(_for_goals_of_care(finding) if palliative and moment is Moment.VIEW else finding)
    cards = precedence.standing(cards, found)
    if moment is Moment.ORDER:
        from service.rules.drug_safety import only_pregnancy_card

        return Evaluation(only_pregnancy_card(cards, record), tuple(reminders))
    return Evaluation(tuple(cards), tuple(reminders))


def _for_goals_of_care(finding: Finding) -> Finding:
    """A palliative-care card: no suggestions, and the goals-of-care line (rules.md "Exclusions (r3)")."""
    return replace(
        finding, lab_orders=(), service_orders=(), proposals=(), delete_drafts=(), goals_of_care=True
    )
