"""Order-time drug safety (revision 3): an oral bisphosphonate the patient cannot take safely, and a bone
drug ordered in pregnancy.

``oral-bisphosphonate-unsuitable`` rests on T2DM review section 3 ("patients who must stay in bed: oral
forms with caution, to avoid reflux oesophagitis"; zoledronic acid suits patients who cannot take oral
drugs); ``bone-drug-in-pregnancy`` is a label safety guard. When the pregnancy card fires for a draft it is
the only card about that draft (:func:`only_pregnancy_card`, applied where the findings are assembled).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from service.kernel.clinical import WithholdReason
from service.kernel.facts.drug_safety import OralUnsuitableFacts, PregnancyDrugFacts
from service.kernel.findings import Finding, Indicator, Proposal, Topic
from service.kernel.record import ANTI_OSTEOPOROSIS, ONCOLOGY_REGIMENS, DrugClass, Lab, PatientRecord, Problem
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    bisphosphonate_preparation_tests,
    bisphosphonate_withheld,
    draft_orders,
    drafts_about,
    pregnancy_since,
    sources,
)

ZOLEDRONIC_ACID = Proposal.ZOLEDRONIC_ACID_5MG_IV

#: The withhold reasons after which the guard's missing calcium and vitamin D tests stand as suggestions of
#: their own (rules.md "Selection (r3)"): correct these first, the tests prepare the first dose.
CORRECT_FIRST = frozenset({WithholdReason.HYPOCALCAEMIA, WithholdReason.VITAMIN_D_LOW})

#: rules.md: "a draft bisphosphonate, denosumab, teriparatide, abaloparatide or romosozumab in a pregnant
#: patient"; the oncology regimens too ("bone-drug-in-pregnancy applies to them as to the osteoporosis
#: products").
PREGNANCY_DRUGS = ANTI_OSTEOPOROSIS | ONCOLOGY_REGIMENS


def guard_tests(withheld: Sequence[WithholdReason], preparation: Sequence[Lab]) -> tuple[Lab, ...]:
    """The tests a card offers as suggestions of their own when every drug it would offer is withheld.

    rules.md "Selection (r3)": only when they are withheld for hypocalcaemia or low vitamin D (the missing
    calcium and 25-OH vitamin D that prepare the first dose); withheld for any other reason, only the guard's
    creatinine/eGFR test when renal function is unknown.
    """
    if WithholdReason.RENAL_UNKNOWN in withheld:
        return (Lab.EGFR,)
    if withheld and set(withheld) <= CORRECT_FIRST:
        return tuple(lab for lab in preparation if lab is not Lab.CREATININE)
    return ()


# --- oral-bisphosphonate-unsuitable ---------------------------------------------------------------


def _oesophageal(record: PatientRecord) -> str | None:
    found = [c for c in record.conditions if c.problem is Problem.OESOPHAGEAL_DISORDER and c.active]
    if not found:
        return None
    return found[0].display or ""


def oral_bisphosphonate_unsuitable(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[OralUnsuitableFacts] | None:
    """A draft oral bisphosphonate for a patient who is bed-bound or has an oesophageal disorder: warning.

    rules.md (r3): "one suggestion that deletes the draft and, where the drug guard allows, creates
    zoledronic acid 5 mg IV once yearly". Oral means a bisphosphonate that is not intravenous (alendronate,
    risedronate, oral ibandronate). The bed-bound and oesophageal Conditions count while active. When the
    guard withholds zoledronic acid the card still deletes the draft and says why no infusion is offered;
    the guard's own tests follow rules.md "Selection (r3)" (:func:`guard_tests`).
    """
    drafts = [
        d for d in record.drafts_of(DrugClass.BISPHOSPHONATE) if DrugClass.BISPHOSPHONATE_IV not in d.classes
    ]
    if not drafts:
        return None
    bed_bound = record.has_problem(Problem.BED_BOUND)
    oesophageal = _oesophageal(record)
    if not bed_bound and oesophageal is None:
        return None
    withheld = bisphosphonate_withheld(record, now, settings, ZOLEDRONIC_ACID)
    preparation = bisphosphonate_preparation_tests(record, now, settings, ZOLEDRONIC_ACID)
    offered = not withheld
    facts = OralUnsuitableFacts(
        orders=draft_orders(drafts),
        bed_bound=bed_bound,
        oesophageal=oesophageal,
        zoledronic_acid_offered=offered,
        withheld=withheld,
        preparation=preparation if offered else (),
        iv_renal_window_days=settings.iv_bisphosphonate_renal_window_days,
    )
    return Finding(
        Topic.ORAL_BISPHOSPHONATE_UNSUITABLE,
        Indicator.WARNING,
        facts,
        delete_drafts=sources(drafts),
        proposals=(ZOLEDRONIC_ACID,) if offered else (),
        preparation=((ZOLEDRONIC_ACID, preparation),) if offered and preparation else (),
        replace_drafts=offered,
        lab_orders=() if offered else guard_tests(withheld, preparation),
    )


# --- bone-drug-in-pregnancy -----------------------------------------------------------------------


def bone_drug_in_pregnancy(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[PregnancyDrugFacts] | None:
    """A draft bisphosphonate, denosumab, anabolic or romosozumab (oncology strengths too) in pregnancy:
    critical, with a suggestion deleting the drafts (rules.md "Pregnancy (r3)", the product labels)."""
    drafts = [d for d in record.drafts if d.classes & PREGNANCY_DRUGS]
    if not drafts:
        return None
    since = pregnancy_since(record, now, settings)
    if since is None:
        return None
    facts = PregnancyDrugFacts(draft_orders(drafts), since, settings.pregnancy_window_days)
    return Finding(Topic.BONE_DRUG_IN_PREGNANCY, Indicator.CRITICAL, facts, delete_drafts=sources(drafts))


def only_pregnancy_card(findings: Sequence[Finding[Any]], record: PatientRecord) -> tuple[Finding[Any], ...]:
    """rules.md "Pregnancy (r3)": when ``bone-drug-in-pregnancy`` fires for a draft "it is the only card
    about that draft (no card offers tests or a dose to prepare a drug that is to be removed)".

    Pure: the order-time findings in, the findings with every other card about those drafts left out. A
    finding that is also about another draft stays, without the deletion of the pregnancy drafts.
    """
    pregnancy = next((f for f in findings if f.topic is Topic.BONE_DRUG_IN_PREGNANCY), None)
    if pregnancy is None:
        return tuple(findings)
    removed = frozenset(pregnancy.delete_drafts)
    kept: list[Finding[Any]] = []
    for finding in findings:
        if finding is pregnancy:
            kept.append(finding)
            continue
        about = drafts_about(finding, record)
        if about and about <= removed:
            continue
        if removed & set(finding.delete_drafts):
            finding = replace(
                finding, delete_drafts=tuple(r for r in finding.delete_drafts if r not in removed)
            )
        kept.append(finding)
    return tuple(kept)


RULES: tuple[Rule, ...] = (
    Rule(Topic.ORAL_BISPHOSPHONATE_UNSUITABLE, Moment.ORDER, oral_bisphosphonate_unsuitable),
    Rule(Topic.BONE_DRUG_IN_PREGNANCY, Moment.ORDER, bone_drug_in_pregnancy),
)
