"""Composers of the denosumab cards (T2DM review section 3; the denosumab product label), revision 3.

The words are in ``wording/<lang>/<topic>.yaml``; a composer picks the templates a finding needs and
fills them from the finding's facts (:mod:`service.kernel.facts.denosumab`). Renal function and serum
calcium read as on every other card (the phrase library); dates the card asks to act on are relative to
today ("now", "in 43 days").
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from service.cards._phrases import Phrases, phrases
from service.cards._text import TopicText
from service.cards._wording import Text, TopicWording
from service.kernel.clinical import SerumCalcium
from service.kernel.facts.denosumab import Course, DoseDueFacts, HypocalcemiaFacts, SequencingFacts
from service.kernel.findings import Finding, Proposal, Topic
from service.kernel.record import Lab

_GLOSSARY = {
    Proposal.ZOLEDRONIC_ACID_5MG_IV: "zoledronic-acid",
    Proposal.ALENDRONATE_70MG_WEEKLY: "alendronate",
}


def _due(finding: Finding[Any]) -> date:
    assert finding.due is not None, "a denosumab finding is time-bound: it always has a due date"
    return finding.due


def _kidney(c: Course, t: TopicText, p: Phrases) -> str:
    """For a sentence: "on dialysis", or "eGFR 28 mL/min/1.73 m²"."""
    if c.dialysis or c.renal is None:
        return t("dialysis")
    return p.renal_short(c.renal)


def _renal(c: Course, t: TopicText, p: Phrases) -> str:
    if c.dialysis:
        return t("renal_dialysis", renal=p.renal(c.renal)) if c.renal is not None else t("dialysis")
    return p.renal(c.renal) if c.renal is not None else p.day(None)


def _calcium(ca: SerumCalcium, t: TopicText, p: Phrases) -> str:
    if ca.ionised:
        return t("ionised", value=p.calcium_value(ca), day=p.day(ca.at))
    return p.calcium(ca)


def _orders(c: Course, t: TopicText, p: Phrases) -> list[str]:
    """The orders that are not what they seem: renewals after D, bisphosphonates left open."""
    lines = [t("renewed", ordered=p.day(o.ordered)) for o in c.renewed]
    lines += [t("open_order", name=o.name, ordered=p.day(o.ordered)) for o in c.open_bisphosphonates]
    return lines


def _course(c: Course, t: TopicText, p: Phrases) -> dict[str, object]:
    return {"name": p.drug_named(c.name), "last_dose": p.day(c.last_dose), "days_since": c.days_since}


def _sequencing(finding: Finding[SequencingFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    c = facts.course
    values = _course(c, t, p)
    assert finding.proposal_start is not None, "the rule always says when the bisphosphonate starts"
    start = p.relative_day(finding.proposal_start, finding.proposal_start - timedelta(days=facts.start_in))
    parts = [t("last_dose", **values), *_orders(c, t, p), t("rebound")]
    if c.pregnant:
        summary = t("summary_pregnant", **values)
        parts.append(t("pregnant"))
        return Text(summary, "\n\n".join(parts))
    kidney = _kidney(c, t, p)
    if c.renal is not None or c.dialysis:
        parts.append(t("renal", renal=_renal(c, t, p)))
    if facts.renal_low:
        summary = t("summary_specialist", kidney=kidney, **values)
        parts.append(t("specialist", kidney=kidney))
        return Text(summary, "\n\n".join(parts))
    offered = finding.proposals
    if len(offered) == 2:
        summary = t("summary", start=start, **values)
        parts.append(t("recommend", start=start))
    elif offered:
        summary = t("summary", start=start, **values)
        parts.append(t("recommend_one", drug=p.drug(_GLOSSARY[offered[0]]), start=start))
    else:
        summary = t("summary_withheld", **values)
        parts.append(t("recommend_none", start=start))
    if facts.calcium is not None:
        parts.append(t("hypocalcaemia", calcium=_calcium(facts.calcium, t, p)))
    if facts.vitamin_d is not None:
        parts.append(t("vitamin_d_low", vitamin_d=p.lab(Lab.VITAMIN_D, facts.vitamin_d)))
    for w in facts.withheld:
        reasons = p.join(t(f"why_{r.value}", oncology=c.oncology or "") for r in w.reasons)
        if offered:
            parts.append(t("not_offered", drug=p.drug(_GLOSSARY[w.drug]), reasons=reasons))
    if not offered:
        reasons = p.join(
            dict.fromkeys(
                t(f"why_{r.value}", oncology=c.oncology or "") for w in facts.withheld for r in w.reasons
            )
        )
        parts.append(t("none_offered", reasons=reasons))
    if facts.creatinine_first:
        parts.append(t("creatinine_first"))
    if facts.neuropathy:
        parts.append(t("neuropathy"))
    parts.append(t("monitor"))
    return Text(summary, "\n\n".join(parts))


def _dose_due(finding: Finding[DoseDueFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    c = facts.course
    values = {**_course(c, t, p), "due": p.day(_due(finding)), "overdue_days": facts.overdue_days or 0}
    overdue = facts.overdue_days is not None
    parts = [t("last_dose_overdue" if overdue else "last_dose", **values), *_orders(c, t, p)]
    if c.pregnant:
        parts.append(t("pregnant"))
        if facts.rebound:
            parts.append(t("rebound"))
        return Text(t("summary_pregnant", **values), "\n\n".join(parts))
    kidney = _kidney(c, t, p)
    if c.oncology is not None:
        summary = t("summary", **values)
        parts.append(t("oncology", oncology=c.oncology))
    elif facts.calcium is not None:
        summary = t("summary_hypocalcaemia", **values)
        parts.append(t("recommend_hypocalcaemia", calcium=_calcium(facts.calcium, t, p)))
    else:
        summary = t("summary_overdue" if overdue else "summary", **values)
        parts.append(t("recommend"))
    if facts.boxed:
        parts.append(t("boxed", kidney=kidney))
    if facts.rebound:
        parts.append(t("rebound"))
    parts.append(t("stop_specialist", kidney=kidney) if facts.renal_low else t("stop_bisphosphonate"))
    return Text(summary, "\n\n".join(parts))


def _hypocalcemia(finding: Finding[HypocalcemiaFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    c = facts.course
    values = _course(c, t, p)
    ca = facts.calcium
    latest = t("calcium_latest", calcium=_calcium(ca, t, p)) if ca is not None else t("calcium_never")
    parts = [
        t("renal_and_dose", renal=_renal(c, t, p), **values),
        t(
            "missing_weekly" if facts.weekly else "missing_monthly",
            window_days=facts.window_days,
            latest=latest,
        ),
        t("recommend"),
    ]
    summary = t("summary", kidney=_kidney(c, t, p), last_dose=p.day(c.last_dose))
    return Text(summary, "\n\n".join(parts))


_COURSE = frozenset({"name", "last_dose", "days_since", "ordered", "renal", "kidney", "value", "day"})

WORDING: dict[Topic, TopicWording[Any]] = {
    Topic.DENOSUMAB_SEQUENCING_MISSING: TopicWording(
        SequencingFacts,
        _sequencing,
        derived=_COURSE | {"start", "drug", "reasons", "oncology"},
    ),
    Topic.DENOSUMAB_DOSE_DUE: TopicWording(
        DoseDueFacts, _dose_due, derived=_COURSE | {"due", "overdue_days", "oncology"}
    ),
    Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING: TopicWording(
        HypocalcemiaFacts, _hypocalcemia, derived=_COURSE | {"window_days", "latest"}
    ),
}
