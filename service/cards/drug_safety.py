"""Composers of the order-time drug-safety cards of revision 3: an oral bisphosphonate the patient cannot
take safely (T2DM review section 3) and a bone drug ordered in pregnancy (the product labels).

The words are in ``wording/<lang>/<topic>.yaml``; the drug guard's reasons for withholding an offer are
worded once per topic file (``withheld_<reason>``) and read by :func:`withheld_reasons`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from service.cards._catalog import lab as lab_orderable
from service.cards._phrases import phrases
from service.cards._text import TopicText
from service.cards._wording import Text, TopicWording
from service.kernel.clinical import WithholdReason
from service.kernel.facts.drug_safety import OralUnsuitableFacts, PregnancyDrugFacts
from service.kernel.findings import Finding, Topic
from service.kernel.record import Lab


def withheld_reasons(reasons: Iterable[WithholdReason], t: TopicText) -> str:
    """The drug guard's reasons, each once, in one list for one sentence."""
    seen: list[WithholdReason] = []
    for reason in reasons:
        if reason not in seen:
            seen.append(reason)
    return phrases(t.language).join(t(f"withheld_{r.value.replace('-', '_')}") for r in seen)


def lab_names(labs: Iterable[Lab], language: str) -> str:
    p = phrases(language)
    return p.join(lab_orderable(lab)[p.name_key] for lab in labs)  # type: ignore[literal-required]


# --- oral-bisphosphonate-unsuitable ---------------------------------------------------------------


def _oral_unsuitable(finding: Finding[OralUnsuitableFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    if facts.bed_bound and facts.oesophageal is not None:
        why = t("why_both")
    else:
        why = t("why_bed_bound" if facts.bed_bound else "why_oesophageal")
    found = []
    if facts.bed_bound:
        found.append(t("bed_bound"))
    if facts.oesophageal is not None:
        found.append(
            t("oesophageal", oesophageal=facts.oesophageal) if facts.oesophageal else t("oesophageal_coded")
        )
    parts = [p.orders(facts.orders), ("" if t.language == "zh" else " ").join(found), t("reason")]
    if facts.zoledronic_acid_offered:
        offer = t("offer_replace")
        if Lab.CREATININE in facts.preparation:
            offer += t("offer_creatinine", iv_renal_window_days=facts.iv_renal_window_days)
        others = [lab for lab in facts.preparation if lab is not Lab.CREATININE]
        if others:
            offer += t("offer_tests", tests=lab_names(others, t.language))
        parts.append(offer)
        summary = t("summary_offer", why=why)
    else:
        parts.append(t("withheld", reasons=withheld_reasons(facts.withheld, t)) + t("offer_delete"))
        summary = t("summary_delete", why=why)
    return Text(summary, "\n\n".join(parts))


# --- bone-drug-in-pregnancy -----------------------------------------------------------------------


def _pregnancy(finding: Finding[PregnancyDrugFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    values = {"pregnant_since": p.day(facts.pregnant_since), "window_days": facts.window_days}
    parts = [p.orders(facts.orders), t("pregnant", **values), t("advice"), t("offer_delete")]
    return Text(t("summary"), "\n\n".join(parts))


WORDING: dict[Topic, TopicWording[Any]] = {
    Topic.ORAL_BISPHOSPHONATE_UNSUITABLE: TopicWording(
        OralUnsuitableFacts, _oral_unsuitable, derived=frozenset({"why", "reasons", "tests"})
    ),
    Topic.BONE_DRUG_IN_PREGNANCY: TopicWording(PregnancyDrugFacts, _pregnancy),
}
