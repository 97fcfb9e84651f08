"""Composer of ``hypocalcemia-on-antiresorptive`` (T2DM review section 3 and the product labels, r3).

The card quotes the calcium that decides (total, albumin-corrected or as measured, or ionised; in the
unit the lab reported, the conversion in brackets), the antiresorptive dose and its date, and renal function; it advises repletion, a recheck
within a week and holding the next dose, and names tests already ordered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.cards._catalog import lab as orderable
from service.cards._phrases import Phrases, mmol, num, phrases
from service.cards._text import TopicText
from service.cards._wording import Text, TopicWording
from service.kernel.facts.calcium import HypocalcaemiaFacts, PendingTest
from service.kernel.findings import Finding, Topic
from service.kernel.record import Lab

#: Below this renal function (or on dialysis) calcium is replaced as the renal team advises (KDIGO).
RENAL_TEAM_BELOW = 30.0


def lab_names(p: Phrases, labs: Sequence[Any]) -> str:
    """The tests by their catalogue names in the card's language."""
    return p.join(orderable(lab)[p.name_key] for lab in labs)  # type: ignore[literal-required]


def pending_line(t: TopicText, p: Phrases, pending: Sequence[PendingTest]) -> str:
    """ "Ordered, no result yet: PTH (ordered 2026-06-10)"."""
    items = p.join(
        t("pending_item", test=lab_names(p, [o.lab]), ordered_day=p.day(o.ordered_on)) for o in pending
    )
    return t("pending", pending_tests=items)


def _hypocalcaemia(finding: Finding[HypocalcaemiaFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    ca = facts.calcium
    values = {
        "calcium_value": p.calcium_value(ca, short=True),
        "calcium": p.calcium_value(ca),
        "calcium_day": p.day(ca.at),
        "low_limit": mmol(facts.low_limit),
    }
    calcium = t("calcium_ionised" if ca.ionised else "calcium_total", **values)
    if ca.albumin_g_per_l is not None:
        measured = p.lab(Lab.CALCIUM, ca.measured, ca.at)
        calcium += t("calcium_corrected", measured=measured, albumin=num(ca.albumin_g_per_l, 1))
    if facts.severe:
        calcium += t("calcium_severe")
    dose = t(
        "dose_line", drug=facts.drug, dose_day=p.day(facts.dose_on), days_since_dose=facts.days_since_dose
    )
    if facts.oncology:
        dose += t("dose_oncology")
    if facts.dialysis:
        kidney = t("renal_dialysis")
    elif facts.renal is not None:
        kidney = t("renal_line", renal=p.renal(facts.renal))
    else:
        kidney = t("renal_unknown")
    # rules.md "No contradictions": with renal function < 30 or on dialysis, calcium as the renal team advises
    renal_team = facts.dialysis or (facts.renal is not None and facts.renal.value < RENAL_TEAM_BELOW)
    advice = t("advice_renal_team" if renal_team else "advice", recheck_days=facts.recheck_days)
    parts = [calcium, f"{dose}\n{kidney}", advice]
    if facts.pending:
        parts.append(pending_line(t, p, facts.pending))
    drug_kind = p.drug("denosumab" if facts.denosumab else "zoledronic-acid")
    summary = t("summary_severe" if facts.severe else "summary", drug_kind=drug_kind, **values)
    return Text(summary, "\n\n".join(parts))


WORDING: dict[Topic, TopicWording[Any]] = {
    Topic.HYPOCALCEMIA_ON_ANTIRESORPTIVE: TopicWording(
        HypocalcaemiaFacts,
        _hypocalcaemia,
        derived=frozenset(
            {
                "calcium_value",
                "calcium",
                "calcium_day",
                "measured",
                "albumin",
                "dose_day",
                "drug_kind",
                "pending_tests",
                "test",
                "ordered_day",
            }
        ),
    ),
}
