"""Composers of the bone drug cards (T2DM review sections 2.3 and 3).

The words are in ``wording/<lang>/<topic>.yaml``; a composer picks the templates a finding needs and
fills them from the finding's facts (:mod:`service.kernel.facts.bone_drugs`). Renal function and serum
calcium read as on every other card (the phrase library): the measure, its date and, when computed, the
Cockcroft–Gault inputs; whether the calcium was albumin-corrected.
"""

from __future__ import annotations

from typing import Any

from service.cards._phrases import mmol, num, phrases
from service.cards._text import TopicText
from service.cards._wording import Text, TopicWording
from service.kernel.facts.bone_drugs import (
    AnabolicFacts,
    HypercalcaemiaFacts,
    LabResult,
    PreInfusionFacts,
    PreInfusionReason,
    RenalContraindicationFacts,
    RenalUnknownFacts,
)
from service.kernel.findings import Finding, Topic
from service.kernel.record import Lab

# --- bisphosphonate-renal-contraindication --------------------------------------------------------


def _contraindication(finding: Finding[RenalContraindicationFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    view = facts.orders.from_chart
    values = {
        "renal_short": p.renal_short(facts.renal),
        "renal_threshold": num(facts.renal_threshold, 1),
        "hypocalcaemia_renal_threshold": num(facts.hypocalcaemia_renal_threshold, 1),
    }
    kidney = t("renal_line", renal=p.renal(facts.renal)) + (t("dialysis") if facts.dialysis else "")
    contraindicated = t("contraindicated", **values) + (t("review_active") if view else "")
    parts = [p.orders(facts.orders), kidney, contraindicated, t("alternative", **values)]
    if facts.renal.value < facts.hypocalcaemia_renal_threshold or facts.dialysis:
        parts.append(t("applies", **values))
    if finding.delete_drafts:
        parts.append(t("offer_delete"))
    return Text(t("summary_view" if view else "summary_order", **values), "\n\n".join(parts))


# --- bisphosphonate-renal-function-unknown --------------------------------------------------------

_LAST_TEST = {Lab.EGFR: "last_egfr", Lab.CREATININE_CLEARANCE: "last_crcl", Lab.CREATININE: "last_creatinine"}


def _last_renal_test(test: LabResult | None, t: TopicText) -> str:
    if test is None:
        return t("last_none")
    return t(_LAST_TEST[test.lab], last_value=num(test.value, 2), last_day=phrases(t.language).day(test.on))


def _renal_unknown(finding: Finding[RenalUnknownFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    window = facts.window_days
    status = t("status", window_days=window, last_renal_test=_last_renal_test(facts.last_renal_test, t))
    if facts.dialysis:
        status += t("dialysis")
    advice = t("advice", renal_threshold=num(facts.renal_threshold, 1))
    if facts.iv:
        advice += t("advice_iv")
    summary = t("summary_iv" if facts.iv else "summary_oral", window_days=window)
    return Text(summary, "\n\n".join([p.orders(facts.orders), status, advice, t("offer")]))


# --- pre-infusion-calcium-check -------------------------------------------------------------------


def _pre_infusion_summary(facts: PreInfusionFacts, t: TopicText, drug: str) -> str:
    reasons = facts.reasons
    values: dict[str, object] = {"drug": drug}
    if facts.calcium is not None:
        values["calcium_value"] = mmol(facts.calcium.value)
    if facts.vitamin_d is not None:
        values["vitamin_d_value"] = num(facts.vitamin_d.value, 1)
    if PreInfusionReason.CALCIUM_LOW in reasons and PreInfusionReason.VITAMIN_D_LOW in reasons:
        return t("summary_both_low", **values)
    if PreInfusionReason.CALCIUM_LOW in reasons:
        return t("summary_calcium_low", **values)
    if PreInfusionReason.CALCIUM_MISSING in reasons:
        return t("summary_calcium_missing", calcium_window_days=facts.calcium_window_days, **values)
    return t("summary_vitamin_d_low", **values)


def _calcium_line(facts: PreInfusionFacts, t: TopicText) -> str:
    p = phrases(t.language)
    if facts.calcium is not None:
        text = t("calcium_line", calcium=p.calcium(facts.calcium))
        if PreInfusionReason.CALCIUM_LOW in facts.reasons:
            text += t("calcium_below", low_calcium=mmol(facts.low_calcium))
        return text
    window = facts.calcium_window_days
    last = facts.last_calcium
    if last is None:
        return t("calcium_never", calcium_window_days=window)
    return t(
        "calcium_missing",
        calcium_window_days=window,
        last_calcium=mmol(last.value),
        last_calcium_day=p.day(last.at),
    )


def _vitamin_d_line(facts: PreInfusionFacts, t: TopicText) -> str:
    vitamin_d = facts.vitamin_d
    if vitamin_d is None:
        return t("vitamin_d_none", vitamin_d_window_days=facts.vitamin_d_window_days)
    text = t(
        "vitamin_d_line",
        vitamin_d_value=num(vitamin_d.value, 1),
        vitamin_d_day=phrases(t.language).day(vitamin_d.on),
    )
    if PreInfusionReason.VITAMIN_D_LOW in facts.reasons:
        text += t("vitamin_d_low", vitamin_d_threshold=num(facts.vitamin_d_threshold, 1))
    elif facts.native_vitamin_d and vitamin_d.value < facts.vitamin_d_threshold:
        text += t("vitamin_d_repleting")
    return text


def _pre_infusion(finding: Finding[PreInfusionFacts], t: TopicText) -> Text:
    facts = finding.facts
    if facts.zoledronic_acid and facts.denosumab:
        drug = t("drug_both")
    else:
        drug = t("drug_zoledronic_acid" if facts.zoledronic_acid else "drug_denosumab")
    advice = [t("advice_check")]
    if facts.first_zoledronic_acid:
        advice.append(t("advice_first_zoledronic_acid"))
    if facts.first_antiresorptive:
        advice.append(t("advice_first_antiresorptive"))
    offer = t("offer_calcium_vitamin_d" if Lab.VITAMIN_D in finding.lab_orders else "offer_calcium")
    parts = [
        phrases(t.language).orders(facts.orders),
        _calcium_line(facts, t) + "\n\n" + _vitamin_d_line(facts, t),
        "\n".join(advice),
        offer,
    ]
    return Text(_pre_infusion_summary(facts, t, drug), "\n\n".join(parts))


# --- anabolic-duration-limit ----------------------------------------------------------------------

_DAYS_PER_MONTH = 30.4375  # the average month, for a readable approximation


def _anabolic(finding: Finding[AnabolicFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    view = facts.orders.from_chart
    values = {
        "first_drug": facts.first_drug,
        "first_date": p.day(facts.first_date),
        "days": facts.days,
        "months": int(facts.days / _DAYS_PER_MONTH),
        "limit_days": facts.limit_days,
    }
    parts = [p.orders(facts.orders), t("first_dose", **values), t("limited"), t("follow_on")]
    if finding.delete_drafts:
        parts.append(t("offer_delete"))
    return Text(t("summary_view" if view else "summary_order", **values), "\n\n".join(parts))


# --- hypercalcemia-on-therapy ---------------------------------------------------------------------


def _hypercalcaemia(finding: Finding[HypercalcaemiaFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    severe_threshold = mmol(facts.severe_threshold)
    calcium = t("calcium_line", calcium=p.calcium(facts.calcium), threshold=mmol(facts.threshold))
    advice = [t("advice_reduce")]
    if facts.anabolic:
        advice.append(t("advice_anabolic"))
    if facts.severe:
        calcium += t("calcium_severe", severe_threshold=severe_threshold)
        advice.append(t("advice_severe", severe_threshold=severe_threshold))
    summary = t("summary_severe" if facts.severe else "summary", calcium_value=mmol(facts.calcium.value))
    return Text(summary, "\n\n".join([calcium, p.orders(facts.orders), "\n".join(advice)]))


WORDING: dict[Topic, TopicWording[Any]] = {
    Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION: TopicWording(
        RenalContraindicationFacts, _contraindication, derived=frozenset({"renal_short"})
    ),
    Topic.BISPHOSPHONATE_RENAL_FUNCTION_UNKNOWN: TopicWording(
        RenalUnknownFacts, _renal_unknown, derived=frozenset({"last_value", "last_day"})
    ),
    Topic.PRE_INFUSION_CALCIUM_CHECK: TopicWording(
        PreInfusionFacts,
        _pre_infusion,
        derived=frozenset({"drug", "calcium_value", "vitamin_d_value", "vitamin_d_day", "last_calcium_day"}),
    ),
    Topic.ANABOLIC_DURATION_LIMIT: TopicWording(AnabolicFacts, _anabolic, derived=frozenset({"months"})),
    Topic.HYPERCALCEMIA_ON_THERAPY: TopicWording(
        HypercalcaemiaFacts, _hypercalcaemia, derived=frozenset({"calcium_value"})
    ),
}
