"""Findings → CDS Hooks cards: wording in English or Chinese, the citation, FHIR suggestions.

Each topic's text is a data file per language (``wording/<lang>/<topic>.yaml``), filled by its area
module's composer (``WORDING``: topic → :class:`TopicWording`); this module only assembles the card, so
every card has the same source, citation, uuid and override reasons.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from cds_hooks.models import Card, Coding, Link, Source, Suggestion
from service.cards import _suggestions
from service.cards._phrases import Phrases, phrases, quoting
from service.cards._text import LANGUAGES, topic_text
from service.cards._wording import TopicWording
from service.kernel.findings import OVERRIDE_SYSTEM, TOPIC_SYSTEM, Finding, OverrideReason, Topic
from service.kernel.record import PatientRecord

#: The reasons a clinician may give for overriding a card, in the order every card offers them.
OVERRIDE_REASONS: tuple[str, ...] = tuple(r.value for r in OverrideReason)
RULE_PAGES = "/rules"


@cache
def wording() -> dict[Topic, TopicWording[Any]]:
    """Every topic's wording, gathered from the area modules."""
    from service.cards import (
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

    merged: dict[Topic, TopicWording[Any]] = {}
    areas = (diabetes_drugs, bone_drugs, drug_safety, denosumab, monitoring, screening, treatment_gap)
    for module in (*areas, calcium, glycaemia, ckd_mbd):
        merged.update(module.WORDING)
    return merged


def render(
    finding: Finding[Any], record: PatientRecord, now: datetime, language: str = "en", base_url: str = ""
) -> Card:
    """One card for one finding; ``base_url`` is where this service is reached (for the rule page link)."""
    lang = language if language in LANGUAGES else LANGUAGES[0]
    data, p = topic_text(finding.topic.value, lang), phrases(lang)
    with quoting(record):  # lab values in the units the record's results were reported in
        text = wording()[finding.topic].compose(finding, data)
    page = f"{base_url}{RULE_PAGES}/{finding.topic.value}"
    first = data.sources[0]
    card = Card(
        summary=text.summary,
        indicator=finding.indicator.value,
        detail=f"{text.detail}\n\n{_goals_of_care(finding, p)}{p.source_line(data.sources)}",
        source=Source(
            label=p.source_label(first),
            url=p.source_url(first) or (page if base_url else None),
            topic=Coding(system=TOPIC_SYSTEM, code=finding.topic.value, display=data.title),
        ),
        suggestions=(suggestions := _suggest(finding, record, now, lang)),
        selection_behavior=_selection_behavior(finding) if suggestions else None,
        override_reasons=[
            Coding(system=OVERRIDE_SYSTEM, code=c, display=p(f"override.{c}")) for c in OVERRIDE_REASONS
        ],
        links=[Link(label=p("links.rule_page"), url=page, type="absolute")] if base_url else [],
    )
    return card


def topic_title(topic: Topic, lang: str = "en") -> str:
    """The topic's display name in a language (``source.topic.display``)."""
    return topic_text(topic.value, lang).title


def topic_citations(topic: Topic, lang: str = "en") -> tuple[str, ...]:
    """The sources the topic's cards cite, one line each."""
    return tuple(phrases(lang).source_label(s) for s in topic_text(topic.value, lang).sources)


def _goals_of_care(finding: Finding[Any], p: Phrases) -> str:
    """rules.md (r3): in palliative or hospice care the cards that still show say "weigh treatment against
    the goals of care"."""
    return f"{p('goals_of_care')}\n\n" if finding.goals_of_care else ""


def _selection_behavior(finding: Finding[Any]) -> str:
    """Alternatives (one draft to delete, one bisphosphonate to start) are at-most-one; tests, or a delete
    with tests, are any (rules.md r3 "Selection")."""
    tests = finding.lab_orders or finding.service_orders
    return "at-most-one" if finding.proposals or (finding.delete_drafts and not tests) else "any"


def _suggest(finding: Finding[Any], record: PatientRecord, now: datetime, lang: str) -> list[Suggestion]:
    p = phrases(lang)
    patient_id = record.patient.id
    reason = finding.topic.value
    suggestions: list[Suggestion] = []
    names = {d.source: d.name for d in record.drafts}
    refs = list(finding.delete_drafts)
    if refs and not (finding.replace_drafts and finding.proposals):
        suggestions.append(_suggestions.delete_drafts(refs, [names.get(r, r) for r in refs], p))
    for lab in finding.lab_orders:
        suggestions.append(_suggestions.order_lab(lab, patient_id, now, p, reason))
    for order in finding.service_orders:
        suggestions.append(_suggestions.order_service(order, patient_id, now, p, reason))
    day = finding.proposal_start or now.date()
    preparation = dict(finding.preparation)
    for proposal in finding.proposals:
        offer = _suggestions.propose_medication(proposal, patient_id, now, day, p, reason)
        if preparation.get(proposal):
            offer = _suggestions.prepared(offer, preparation[proposal], patient_id, now, p, reason)
        if finding.replace_drafts and refs:
            offer = _suggestions.replacing(offer, refs, [names.get(r, r) for r in refs], p)
        if finding.recommended is proposal:
            offer = offer.model_copy(update={"is_recommended": True})
        suggestions.append(offer)
    return suggestions
