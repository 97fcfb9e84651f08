"""Composers of the glucose-lowering drug cards (T2DM review sections 1.4, 2.1, 2.2).

The words are in ``wording/<lang>/<topic>.yaml``; a composer picks the templates a finding needs and
fills them from the finding's facts (:mod:`service.kernel.facts.diabetes_drugs`).
"""

from __future__ import annotations

from typing import Any

from service.cards._phrases import num, phrases
from service.cards._text import TopicText
from service.cards._wording import Text, TopicWording
from service.kernel.facts.diabetes_drugs import InsulinFacts, Sglt2Facts, TzdFacts
from service.kernel.findings import Finding, Topic


def _tzd(finding: Finding[TzdFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    view = facts.orders.from_chart
    parts = [p.orders(facts.orders)]
    if facts.fragility is None:  # a woman with T2DM and no bone fragility: information only
        summary = t("summary_info")
        parts.append(t("why_info"))
    else:
        summary = t("summary_view" if view else "summary_order")
        parts += [p.fragility_block(facts.fragility), t("why")]
    lead = t("lead_view" if view else "lead_order")
    bar = facts.metformin_bar
    if bar is None:
        parts.append(lead + "\n" + t("alternatives"))
    else:
        threshold = num(facts.metformin_threshold, 1)
        renal = p.renal(facts.renal) if facts.renal is not None else ""
        why_not = t(f"no_metformin_{bar.value.replace('-', '_')}", renal=renal, metformin_threshold=threshold)
        parts.append(lead + "\n" + t("alternatives_renal") + "\n\n" + why_not)
    return Text(summary, "\n\n".join(parts))


def _sglt2(finding: Finding[Sglt2Facts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    values = {
        "egfr": num(facts.egfr.value, 1),
        "egfr_day": p.day(facts.egfr.at),
        "egfr_threshold": num(facts.egfr_threshold, 1),
    }
    parts = [
        p.orders(facts.orders),
        t("egfr_line", **values),
        p.fragility_block(facts.fragility),
        t("indication"),
    ]
    return Text(t("summary", **values), "\n\n".join(parts))


def _insulin(finding: Finding[InsulinFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    reasons: list[str] = []
    if facts.older_with_fragility:
        reasons.append(t("older_with_fragility", age=facts.age, older_age_years=facts.older_age_years))
    if facts.hypoglycaemia:
        onset = facts.hypoglycaemia_onset
        reasons.append(
            t("hypoglycaemia_on", hypoglycaemia_onset=p.day(onset)) if onset else t("hypoglycaemia")
        )
    parts = [p.orders(facts.orders), t("why_heading") + "\n" + "\n".join(reasons)]
    if facts.fragility is not None:
        parts.append(p.fragility_block(facts.fragility))
    if facts.insulin and facts.secretagogue:
        summary, risk = t("summary_both"), t("risk") + " " + t("risk_secretagogue")
    elif facts.secretagogue:
        summary, risk = t("summary_secretagogue"), t("risk_secretagogue")
    else:
        summary, risk = t("summary"), t("risk")
    parts += [risk, t("advice")]
    return Text(summary, "\n\n".join(parts))


WORDING: dict[Topic, TopicWording[Any]] = {
    Topic.TZD_FRACTURE_RISK: TopicWording(TzdFacts, _tzd),
    Topic.SGLT2_FRACTURE_CAUTION: TopicWording(Sglt2Facts, _sglt2, derived=frozenset({"egfr_day"})),
    Topic.INSULIN_HYPOGLYCEMIA_FALL_RISK: TopicWording(InsulinFacts, _insulin),
}
