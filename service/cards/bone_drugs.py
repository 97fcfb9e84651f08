"""Composers of the bone drug cards (T2DM review sections 2.3 and 3).

The words are in ``wording/<lang>/<topic>.yaml``; a composer picks the templates a finding needs and
fills them from the finding's facts (:mod:`service.kernel.facts.bone_drugs`). Renal function and serum
calcium read as on every other card (the phrase library): the measure, its date and, when computed, the
Cockcroft–Gault inputs; whether the calcium was albumin-corrected.
"""

from __future__ import annotations

from typing import Any

from service.cards import _catalog
from service.cards._phrases import mmol, num, phrases
from service.cards._text import TopicText
from service.cards._wording import Text, TopicWording
from service.kernel.clinical import SerumCalcium
from service.kernel.facts.bone_drugs import (
    AnabolicFacts,
    HypercalcaemiaFacts,
    LabResult,
    PendingTest,
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
        "renal_short": p.renal_short(facts.renal) if facts.renal is not None else "",
        "renal_threshold": num(facts.renal_threshold, 1),
        "hypocalcaemia_renal_threshold": num(facts.hypocalcaemia_renal_threshold, 1),
    }
    kidney = [t("renal_line", renal=p.renal(facts.renal))] if facts.renal is not None else []
    if facts.dialysis:
        kidney.append(t("dialysis"))
    contraindicated = t("contraindicated_oncology" if facts.oncology else "contraindicated", **values)
    if view:
        contraindicated += t("review_active")
    parts = [p.orders(facts.orders), "\n".join(kidney), contraindicated]
    if not facts.pregnant:
        applies = facts.dialysis or (
            facts.renal is not None and facts.renal.value < facts.hypocalcaemia_renal_threshold
        )
        parts.append(t("alternative", **values) + (t("applies") if applies else ""))
    summary = ("summary_view" if view else "summary_order") + ("_dialysis" if facts.dialysis else "")
    return Text(t(summary, **values), "\n\n".join(parts))


# --- bisphosphonate-renal-function-unknown --------------------------------------------------------

_LAST_TEST = {Lab.EGFR: "last_egfr", Lab.CREATININE_CLEARANCE: "last_crcl", Lab.CREATININE: "last_creatinine"}


def _last_renal_test(test: LabResult | None, t: TopicText) -> str:
    if test is None:
        return t("last_none")
    p = phrases(t.language)
    value = p.lab(Lab.CREATININE, test.value, test.on) if test.lab is Lab.CREATININE else num(test.value, 1)
    return t(_LAST_TEST[test.lab], last_value=value, last_day=p.day(test.on))


def _pending(pending: PendingTest, t: TopicText) -> str:
    """ "Serum calcium ordered on 2026-06-12, no result yet: confirm the result before the first dose." """
    p = phrases(t.language)
    name = str(_catalog.lab(pending.lab)[p.name_key])  # type: ignore[literal-required]
    return t("pending", test=name[:1].upper() + name[1:], ordered_on=p.day(pending.ordered_on))


def _renal_unknown(finding: Finding[RenalUnknownFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    window = facts.window_days
    status = t("status", window_days=window, last_renal_test=_last_renal_test(facts.last_renal_test, t))
    advice = t("advice", renal_threshold=num(facts.renal_threshold, 1))
    if facts.iv:
        advice += t("advice_iv")
    parts = [p.orders(facts.orders), status, advice]
    if facts.pending is not None:
        parts.append(_pending(facts.pending, t))
        summary = t("summary_pending")
    else:
        summary = t("summary_iv" if facts.iv else "summary_oral", window_days=window)
    return Text(summary, "\n\n".join(parts))


# --- pre-infusion-calcium-check -------------------------------------------------------------------


def _calcium_kind(calcium: SerumCalcium | None, t: TopicText) -> str:
    return t("kind_ionised" if calcium is not None and calcium.ionised else "kind_total")


def _pre_infusion_summary(facts: PreInfusionFacts, t: TopicText, drug: str) -> str:
    reasons = facts.reasons
    values: dict[str, object] = {"drug": drug, "calcium_kind": _calcium_kind(facts.calcium, t)}
    p = phrases(t.language)
    if facts.calcium is not None:
        values["calcium_value"] = p.calcium_value(facts.calcium, short=True)
    if facts.vitamin_d is not None:
        values["vitamin_d_value"] = p.lab_short(Lab.VITAMIN_D, facts.vitamin_d.value, facts.vitamin_d.on)
    if PreInfusionReason.HYPOCALCAEMIA in reasons and PreInfusionReason.VITAMIN_D_LOW in reasons:
        return t("summary_both_low", **values)
    if PreInfusionReason.HYPOCALCAEMIA in reasons:
        return t("summary_calcium_low", **values)
    if PreInfusionReason.ADVANCED_CKD in reasons:
        if facts.dialysis or facts.renal is None:
            return t("summary_ckd_dialysis")
        return t("summary_ckd", renal_short=p.renal_short(facts.renal))
    if PreInfusionReason.CALCIUM_MISSING in reasons:
        return t("summary_calcium_missing", calcium_window_days=facts.calcium_window_days, **values)
    return t("summary_vitamin_d_low", **values)


def _calcium_line(facts: PreInfusionFacts, t: TopicText) -> str:
    p = phrases(t.language)
    if facts.calcium is not None:
        text = t("calcium_line", calcium=p.calcium(facts.calcium))
        if PreInfusionReason.HYPOCALCAEMIA in facts.reasons:
            text += t("calcium_below", low_calcium=mmol(facts.low_calcium))
            if facts.severe:
                text += t("calcium_severe")
        return text
    window = facts.calcium_window_days
    last = facts.last_calcium
    if last is None:
        return t("calcium_never", calcium_window_days=window)
    return t(
        "calcium_missing",
        calcium_window_days=window,
        last_calcium=p.calcium_value(last),
        last_calcium_day=p.day(last.at),
    )


def _vitamin_d_line(facts: PreInfusionFacts, t: TopicText) -> str:
    vitamin_d = facts.vitamin_d
    if vitamin_d is None:
        return t("vitamin_d_none", vitamin_d_window_days=facts.vitamin_d_window_days)
    text = t(
        "vitamin_d_line",
        vitamin_d_value=phrases(t.language).lab(Lab.VITAMIN_D, vitamin_d.value, vitamin_d.on),
        vitamin_d_day=phrases(t.language).day(vitamin_d.on),
    )
    if PreInfusionReason.VITAMIN_D_LOW in facts.reasons:
        text += t("vitamin_d_low", vitamin_d_threshold=num(facts.vitamin_d_threshold, 1))
    elif facts.native_vitamin_d and vitamin_d.value < facts.vitamin_d_threshold:
        text += t("vitamin_d_repleting")
    return text


def _pre_infusion(finding: Finding[PreInfusionFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    if facts.zoledronic_acid and facts.denosumab:
        drug = t("drug_both")
    else:
        drug = t("drug_zoledronic_acid" if facts.zoledronic_acid else "drug_denosumab")
    values = [_calcium_line(facts, t), _vitamin_d_line(facts, t)]
    ckd = PreInfusionReason.ADVANCED_CKD in facts.reasons
    if ckd:
        renal = facts.renal
        values.append(
            t("renal_dialysis") if facts.dialysis or renal is None else t("renal_line", renal=p.renal(renal))
        )
    hypocalcaemia = PreInfusionReason.HYPOCALCAEMIA in facts.reasons
    advice = []
    if hypocalcaemia:
        advice.append(t("advice_hypocalcaemia"))
    elif not ckd:  # the advanced-CKD line names the calcium check
        advice.append(t("advice_check"))
    if ckd:
        advice.append(
            t(
                "advice_ckd",
                ckd_renal_threshold=num(facts.ckd_renal_threshold, 1),
                ckd_window_days=facts.ckd_window_days,
            )
        )
        if not facts.missing and not facts.pending:
            advice.append(t("advice_ckd_complete"))
    if facts.first_zoledronic_acid:
        advice.append(t("advice_first_zoledronic_acid"))
    if facts.first_antiresorptive:
        advice.append(t("advice_first_antiresorptive"))
    parts = [p.orders(facts.orders), "\n".join(values), "\n".join(advice)]
    parts += [_pending(pending, t) for pending in facts.pending]
    return Text(_pre_infusion_summary(facts, t, drug), "\n\n".join(parts))


# --- anabolic-duration-limit ----------------------------------------------------------------------

_DAYS_PER_MONTH = 30.4375  # the average month, for a readable approximation


def _anabolic(finding: Finding[AnabolicFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    view = facts.orders.from_chart
    courses = p.join(
        t("course_running", first=p.day(c.first))
        if c.running
        else t("course", first=p.day(c.first), last=p.day(c.last))
        for c in facts.courses
    )
    values = {
        "days": facts.days,
        "months": int(facts.days / _DAYS_PER_MONTH),
        "limit_days": facts.limit_days,
        "course_list": courses,
    }
    parts = [p.orders(facts.orders), t("time", **values), t("limited", gap_days=facts.gap_days)]
    parts.append(t("follow_on_pregnancy" if facts.pregnant else "follow_on"))
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
    summary = t(
        "summary_severe" if facts.severe else "summary",
        calcium_kind=_calcium_kind(facts.calcium, t),
        calcium_value=p.calcium_value(facts.calcium, short=True),
    )
    return Text(summary, "\n\n".join([calcium, p.orders(facts.orders), "\n".join(advice)]))


WORDING: dict[Topic, TopicWording[Any]] = {
    Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION: TopicWording(
        RenalContraindicationFacts, _contraindication, derived=frozenset({"renal_short"})
    ),
    Topic.BISPHOSPHONATE_RENAL_FUNCTION_UNKNOWN: TopicWording(
        RenalUnknownFacts, _renal_unknown, derived=frozenset({"last_value", "last_day", "test", "ordered_on"})
    ),
    Topic.PRE_INFUSION_CALCIUM_CHECK: TopicWording(
        PreInfusionFacts,
        _pre_infusion,
        derived=frozenset(
            {
                "drug",
                "calcium_kind",
                "calcium_value",
                "vitamin_d_value",
                "vitamin_d_day",
                "last_calcium_day",
                "renal_short",
                "test",
                "ordered_on",
            }
        ),
    ),
    Topic.ANABOLIC_DURATION_LIMIT: TopicWording(
        AnabolicFacts, _anabolic, derived=frozenset({"months", "course_list", "first", "last"})
    ),
    Topic.HYPERCALCEMIA_ON_THERAPY: TopicWording(
        HypercalcaemiaFacts, _hypercalcaemia, derived=frozenset({"calcium_kind", "calcium_value"})
    ),
}
