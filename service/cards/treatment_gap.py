"""Composer of ``osteoporosis-untreated`` (revision 3; T2DM review sections 3 and 4).

The words are in ``wording/<lang>/osteoporosis-untreated.yaml``: the evidence of osteoporosis (the
fracture and its date, the T-score and its site), the advice and, in one sentence, why the drug guard holds
an offer back; the suggestions themselves say what the card offers.
"""

from __future__ import annotations

from typing import Any

from service.cards._phrases import phrases
from service.cards._text import TopicText
from service.cards._wording import Text, TopicWording
from service.cards.drug_safety import withheld_reasons
from service.kernel.facts.treatment_gap import UntreatedFacts
from service.kernel.findings import Finding, Proposal, Topic

_SENTENCE_SPACE = {"zh": ""}  # between sentences: Chinese text needs no space
_GLOSSARY = {
    Proposal.ZOLEDRONIC_ACID_5MG_IV: "zoledronic-acid",
    Proposal.ALENDRONATE_70MG_WEEKLY: "alendronate",
}


def _offers(finding: Finding[UntreatedFacts], t: TopicText) -> list[str]:
    facts, p = finding.facts, phrases(t.language)
    if facts.specialist:
        return [t("specialist", specialist_age=facts.specialist_age)]
    lines = []
    if finding.recommended is Proposal.ZOLEDRONIC_ACID_5MG_IV:
        lines.append(t("recommended_neuropathy"))
    if facts.low_vitamin_d:
        lines.append(t("alendronate_vitamin_d"))
    if facts.withheld:
        reasons = withheld_reasons((r for w in facts.withheld for r in w.reasons), t)
        if facts.offered:
            drug = p.drug(_GLOSSARY[facts.withheld[0].drug])
            lines.append(t("withheld_one", drug=drug[:1].upper() + drug[1:], reasons=reasons))
        else:
            lines.append(t("withheld_all", reasons=reasons))
    return lines


def _untreated(finding: Finding[UntreatedFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    bf = facts.fragility
    evidence = t("evidence", evidence=p.fragility_inline(bf))
    if bf.confirm_low_trauma:
        evidence += t("confirm_low_trauma")
    holiday = facts.holiday
    if holiday is not None:
        evidence += t("holiday", holiday_drug=holiday.drug, holiday_ended=p.day(holiday.ended))
    kidney = facts.dialysis or (
        facts.renal is not None and facts.renal.value < facts.kidney_calcium_threshold
    )
    if facts.high_calcium:
        supplements = t("supplements_high_calcium")
    elif kidney:
        supplements = t("supplements_kidney")
    else:
        supplements = t("supplements")
    space = _SENTENCE_SPACE.get(t.language, " ")
    advice = t("advice") + space + supplements
    parts = [evidence, advice, space.join(_offers(finding, t))]
    if holiday is not None:
        summary = t("summary_holiday")
    else:
        summary = t("summary_recent_fracture" if facts.recent_fracture else "summary")
    return Text(summary, "\n\n".join(x for x in parts if x))


WORDING: dict[Topic, TopicWording[Any]] = {
    Topic.OSTEOPOROSIS_UNTREATED: TopicWording(
        UntreatedFacts,
        _untreated,
        derived=frozenset({"evidence", "holiday_drug", "holiday_ended", "drug", "reasons"}),
    ),
}
