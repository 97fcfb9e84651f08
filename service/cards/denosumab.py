"""Composers of the denosumab cards (T2DM review section 3; the denosumab product label).

The words are in ``wording/<lang>/<topic>.yaml``; a composer picks the templates a finding needs and
fills them from the finding's facts (:mod:`service.kernel.facts.denosumab`). Renal function and serum
calcium read as on every other card (the phrase library).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from service.cards._phrases import phrases
from service.cards._text import TopicText
from service.cards._wording import Text, TopicWording
from service.kernel.facts.denosumab import DoseDueFacts, HypocalcemiaFacts, SequencingFacts
from service.kernel.findings import Finding, Topic


def _due(finding: Finding[Any]) -> date:
    assert finding.due is not None, "a denosumab finding is time-bound: it always has a due date"
    return finding.due


def _sequencing(finding: Finding[SequencingFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    last = {"last_dose": p.day(facts.last_dose)}
    parts = [
        t(
            "last_dose_stopped" if facts.discontinued else "last_dose_overdue",
            name=facts.name,
            days_since=facts.days_since,
            **last,
        ),
        t("rebound"),
    ]
    renal = facts.renal
    if facts.renal_low:
        assert renal is not None
        summary = t("summary_keep", renal_short=p.renal_short(renal), **last)
        parts += [t("renal_low", renal=p.renal(renal)), t("keep_denosumab")]
    else:
        summary = t("summary_sequence", **last)
        check = t("renal_latest", renal=p.renal(renal)) if renal is not None else t("renal_unknown")
        assert finding.proposal_start is not None, "the rule always says when the bisphosphonate starts"
        parts += [t("recommend", start=p.day(finding.proposal_start), renal_check=check), t("offer")]
    return Text(summary, "\n\n".join(parts))


def _dose_due(finding: Finding[DoseDueFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    values = {"last_dose": p.day(facts.last_dose), "due": p.day(_due(finding))}
    parts = [
        t("last_dose", name=facts.name, days_since=facts.days_since, **values),
        t("recommend", window_end=p.day(facts.window_end)),
    ]
    if facts.renal_low and facts.renal is not None:
        parts.append(t("renal_low", renal=p.renal(facts.renal)))
    return Text(t("summary", **values), "\n\n".join(parts))


def _hypocalcemia(finding: Finding[HypocalcemiaFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    last = p.day(facts.last_dose)
    missing: list[str] = []
    if facts.missing_post_dose:
        missing.append(
            t("missing_post_dose", check_from=p.day(facts.check_from), check_by=p.day(facts.check_by))
        )
    if facts.missing_recent:
        missing.append(t("missing_recent", window_days=facts.window_days))
    ca = facts.calcium
    latest = t("calcium_latest", calcium=p.calcium(ca)) if ca is not None else t("calcium_never")
    parts = [
        t("renal_and_dose", renal=p.renal(facts.renal), name=facts.name, last_dose=last),
        t("missing", missing=p.join(missing) if missing else t("missing_none"), latest=latest),
        t("recommend"),
    ]
    return Text(t("summary", renal_short=p.renal_short(facts.renal), last_dose=last), "\n\n".join(parts))


WORDING: dict[Topic, TopicWording[Any]] = {
    Topic.DENOSUMAB_SEQUENCING_MISSING: TopicWording(
        SequencingFacts, _sequencing, derived=frozenset({"renal_short", "start", "renal_check"})
    ),
    Topic.DENOSUMAB_DOSE_DUE: TopicWording(DoseDueFacts, _dose_due, derived=frozenset({"due"})),
    Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING: TopicWording(
        HypocalcemiaFacts, _hypocalcemia, derived=frozenset({"renal_short", "missing", "latest"})
    ),
}
