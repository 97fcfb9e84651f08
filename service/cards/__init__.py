"""Findings → CDS Hooks cards: wording in English or Chinese, the citation, FHIR suggestions.

Each topic's text is a data file per language (``wording/<lang>/<topic>.yaml``), filled by its area
module's composer (``WORDING``: topic → :class:`TopicWording`); this module only assembles the card, so
every card has the same source, citation, uuid and override reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from cds_hooks.models import Card, Coding, Source, Suggestion
from service.cards import _suggestions
from service.cards._phrases import phrases
from service.cards._text import LANGUAGES, topic_text
from service.cards._wording import Text, TopicWording, Wording
from service.kernel.findings import TOPIC_SYSTEM, Finding, Indicator, Topic
from service.kernel.record import PatientRecord

SOURCE_LABEL = "Bone Health CDS"
OVERRIDE_SYSTEM = "urn:bone-health-cds:override-reason"
_OVERRIDES = {
    "en": (
        ("benefit-outweighs-risk", "Benefit outweighs risk for this patient"),
        ("patient-declined", "Patient declined"),
        ("already-addressed", "Already addressed elsewhere"),
        ("data-not-current", "Chart data not current"),
    ),
    "zh": (
        ("benefit-outweighs-risk", "对该患者获益大于风险"),
        ("patient-declined", "患者拒绝"),
        ("already-addressed", "已在其他地方处理"),
        ("data-not-current", "病历数据不是最新"),
    ),
}


@cache
def wording() -> dict[Topic, TopicWording[Any] | Wording]:
    """Every topic's wording, gathered from the area modules."""
    from service.cards import bone_drugs, denosumab, diabetes_drugs, monitoring, screening

    merged: dict[Topic, TopicWording[Any] | Wording] = {}
    for module in (diabetes_drugs, bone_drugs, denosumab, monitoring, screening):
        merged.update(module.WORDING)
    return merged


def render(finding: Finding[Any], record: PatientRecord, now: datetime, language: str = "en") -> Card:
    """One card for one finding."""
    lang = language if language in LANGUAGES else LANGUAGES[0]
    text, title, citations = _words(finding, record, lang)
    suggestions = _suggest(finding, record, now, lang)
    card = Card(
        summary=text.summary,
        indicator=finding.indicator.value,
        detail=f"{text.detail}\n\n{citations}",
        source=Source(
            label=SOURCE_LABEL,
            topic=Coding(
                system=TOPIC_SYSTEM,
                code=finding.topic.value,
                display=title,
            ),
        ),
        suggestions=suggestions,
        selection_behavior=_selection_behavior(finding) if suggestions else None,
        override_reasons=(
            [Coding(system=OVERRIDE_SYSTEM, code=c, display=d) for c, d in _OVERRIDES[lang]]
            if finding.indicator in (Indicator.WARNING, Indicator.CRITICAL)
            else []
        ),
    )
    return card


def topic_title(topic: Topic, lang: str = "en") -> str:
    """The topic's display name in a language (``source.topic.display``)."""
    words = wording()[topic]
    if isinstance(words, TopicWording):
        return topic_text(topic.value, lang).title
    return words.title_zh if lang == "zh" else words.title_en


def topic_citations(topic: Topic, lang: str = "en") -> tuple[str, ...]:
    """The sources the topic's cards cite, one line each."""
    words = wording()[topic]
    if isinstance(words, TopicWording):
        return tuple(phrases(lang).citation(s) for s in topic_text(topic.value, lang).sources)
    return tuple(c.render(lang) for c in words.citations)


def _words(finding: Finding[Any], record: PatientRecord, lang: str) -> tuple[Text, str, str]:
    """The card's text, its topic's title and its citation line, in the card's language."""
    words = wording()[finding.topic]
    if isinstance(words, TopicWording):
        data = topic_text(finding.topic.value, lang)
        cite = phrases(lang).citation
        return words.compose(finding, data), data.title, " ".join(cite(s) for s in data.sources)
    text = words.compose(finding, record, lang)
    title = words.title_zh if lang == "zh" else words.title_en
    return text, title, " ".join(c.render(lang) for c in words.citations)


def _selection_behavior(finding: Finding[Any]) -> str:
    """Alternatives (one draft to delete, one bisphosphonate to start) are at-most-one; tests are any."""
    return "at-most-one" if finding.proposals or finding.delete_drafts else "any"


def _suggest(finding: Finding[Any], record: PatientRecord, now: datetime, lang: str) -> list[Suggestion]:
    patient_id = record.patient.id
    reason = finding.topic.value
    suggestions: list[Suggestion] = []
    names = {d.source: d.name for d in record.drafts}
    if finding.delete_drafts:
        refs = list(finding.delete_drafts)
        suggestions.append(_suggestions.delete_drafts(refs, [names.get(r, r) for r in refs], lang))
    for lab in finding.lab_orders:
        suggestions.append(_suggestions.order_lab(lab, patient_id, now, lang, reason))
    for order in finding.service_orders:
        suggestions.append(_suggestions.order_service(order, patient_id, now, lang, reason))
    start = finding.proposal_start
    if start is None and isinstance(finding.facts, Mapping):  # facts still kept as a plain mapping
        start = finding.facts.get("start")
    for proposal in finding.proposals:
        day = start if isinstance(start, date) else now.date()
        suggestions.append(_suggestions.propose_medication(proposal, patient_id, now, day, lang, reason))
    return suggestions
