"""Bone drugs: bisphosphonates and renal function, calcium before antiresorptives, anabolic therapy (T2DM §3).

The facts each rule concludes are the types of :mod:`service.kernel.facts.bone_drugs`: the orders the
card is about (drafts at order time, chart orders with their dates at patient-view), and the renal
function, serum calcium or treatment span that makes the card fire, with their evidence.
"""

from __future__ import annotations

from datetime import datetime

from service.kernel.clinical import DrugOrders
from service.kernel.facts.bone_drugs import (
    AnabolicFacts,
    HypercalcaemiaFacts,
    LabResult,
    PreInfusionFacts,
    PreInfusionReason,
    RenalContraindicationFacts,
    RenalUnknownFacts,
)
from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import DrugClass, Lab, MedicationExposure, PatientRecord, Problem
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    active,
    chart_orders,
    days_since,
    draft_orders,
    first_exposure,
    last_result,
    latest,
    renal_function,
    serum_calcium,
    sources,
)

_RENAL_TESTS = frozenset({Lab.EGFR, Lab.CREATININE_CLEARANCE, Lab.CREATININE})
_ANTIRESORPTIVES = (DrugClass.BISPHOSPHONATE, DrugClass.DENOSUMAB)
_HYPERCALCAEMIC = frozenset(
    {DrugClass.CALCIUM_SUPPLEMENT, DrugClass.NATIVE_VITAMIN_D, DrugClass.ACTIVE_VITAMIN_D, DrugClass.ANABOLIC}
)


# --- bisphosphonate-renal-contraindication --------------------------------------------------------


def _contraindicated(
    orders: DrugOrders, record: PatientRecord, now: datetime, settings: RuleSettings
) -> RenalContraindicationFacts | None:
    renal = renal_function(record, now, settings.renal_function_window_days)
    if renal is None or renal.value >= settings.bisphosphonate_min_renal_function:
        return None
    return RenalContraindicationFacts(
        orders=orders,
        renal=renal,
        dialysis=record.has_problem(Problem.DIALYSIS),
        renal_threshold=settings.bisphosphonate_min_renal_function,
        hypocalcaemia_renal_threshold=settings.denosumab_hypocalcemia_renal_threshold,
    )


def bisphosphonate_renal_ordered(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[RenalContraindicationFacts] | None:
    """A draft bisphosphonate and renal function (the stricter of CrCl and eGFR, 365 days) below 35: critical.

    Dialysis alone does not fire this rule: rules.md asks for a value below 35. A dialysis patient
    without a recent value gets ``bisphosphonate-renal-function-unknown`` instead (which says dialysis).
    """
    drafts = record.drafts_of(DrugClass.BISPHOSPHONATE)
    if not drafts:
        return None
    facts = _contraindicated(draft_orders(drafts), record, now, settings)
    if facts is None:
        return None
    return Finding(
        Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION, Indicator.CRITICAL, facts, delete_drafts=sources(drafts)
    )


def bisphosphonate_renal_active(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[RenalContraindicationFacts] | None:
    """An active bisphosphonate order (patient-view) and renal function below 35: critical, no suggestion."""
    on_drug = active(record, DrugClass.BISPHOSPHONATE)
    if not on_drug:
        return None
    facts = _contraindicated(chart_orders(on_drug), record, now, settings)
    if facts is None:
        return None
    return Finding(Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION, Indicator.CRITICAL, facts)


# --- bisphosphonate-renal-function-unknown --------------------------------------------------------


def _renal_window(draft: MedicationExposure, settings: RuleSettings) -> int:
    """IV zoledronic acid and ibandronate need a creatinine before each dose (label); oral ones yearly."""
    if DrugClass.BISPHOSPHONATE_IV in draft.classes:
        return settings.iv_bisphosphonate_renal_window_days
    return settings.renal_function_window_days


def bisphosphonate_renal_unknown(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[RenalUnknownFacts] | None:
    """A draft bisphosphonate with no renal function in its window (365 days oral, 30 days IV): warning.

    "Renal function" is rules.md's: CrCl, eGFR, or Cockcroft–Gault from a creatinine in the window.
    With several drafts, the card names those that lack a recent value; the IV window wins if any is IV.
    The card quotes the last kidney test ever taken, when it has a value.
    """
    lacking = [
        d
        for d in record.drafts_of(DrugClass.BISPHOSPHONATE)
        if renal_function(record, now, _renal_window(d, settings)) is None
    ]
    if not lacking:
        return None
    last = last_result(record, _RENAL_TESTS, now)
    facts = RenalUnknownFacts(
        orders=draft_orders(lacking),
        iv=any(DrugClass.BISPHOSPHONATE_IV in d.classes for d in lacking),
        window_days=min(_renal_window(d, settings) for d in lacking),
        dialysis=record.has_problem(Problem.DIALYSIS),
        renal_threshold=settings.bisphosphonate_min_renal_function,
        last_renal_test=(
            LabResult(last.lab, last.value, last.at.date())
            if last is not None and last.value is not None
            else None
        ),
    )
    return Finding(
        Topic.BISPHOSPHONATE_RENAL_FUNCTION_UNKNOWN, Indicator.WARNING, facts, lab_orders=(Lab.EGFR,)
    )


# --- pre-infusion-calcium-check -------------------------------------------------------------------


def pre_infusion_calcium(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[PreInfusionFacts] | None:
    """A draft zoledronic acid or denosumab with calcium unknown (30 days) or low, or vitamin D deficient.

    Vitamin D counts as deficient only when a 25-OH vitamin D within 365 days is below the threshold and no
    native vitamin D is active; a native vitamin D drafted in the same order set counts as active (the
    prescriber is already repleting). "First" infusion or antiresorptive means no exposure of that drug
    (zoledronic acid) or of any antiresorptive (bisphosphonate, denosumab) anywhere in the chart.
    """
    drafts = [d for d in record.drafts if {DrugClass.ZOLEDRONIC_ACID, DrugClass.DENOSUMAB} & d.classes]
    if not drafts:
        return None
    reasons: list[PreInfusionReason] = []
    calcium = serum_calcium(record, now, settings, settings.pre_infusion_calcium_window_days)
    last_calcium = None
    if calcium is None:
        reasons.append(PreInfusionReason.CALCIUM_MISSING)
        last_calcium = serum_calcium(record, now, settings)
    elif calcium.value < settings.low_calcium_mmol_per_l:
        reasons.append(PreInfusionReason.CALCIUM_LOW)
    measured_d = latest(record, Lab.VITAMIN_D, now, settings.vitamin_d_window_days)
    native_d = bool(
        active(record, DrugClass.NATIVE_VITAMIN_D) or record.drafts_of(DrugClass.NATIVE_VITAMIN_D)
    )
    vitamin_d = None
    if measured_d is not None and measured_d.value is not None:
        vitamin_d = LabResult(Lab.VITAMIN_D, measured_d.value, measured_d.at.date())
        if vitamin_d.value < settings.vitamin_d_deficient_ng_per_ml and not native_d:
            reasons.append(PreInfusionReason.VITAMIN_D_LOW)
    if not reasons:
        return None
    zoledronic = any(DrugClass.ZOLEDRONIC_ACID in d.classes for d in drafts)
    facts = PreInfusionFacts(
        orders=draft_orders(drafts),
        reasons=tuple(reasons),
        calcium=calcium,
        last_calcium=last_calcium,
        vitamin_d=vitamin_d,
        native_vitamin_d=native_d,
        zoledronic_acid=zoledronic,
        denosumab=any(DrugClass.DENOSUMAB in d.classes for d in drafts),
        first_zoledronic_acid=zoledronic and not record.exposures(DrugClass.ZOLEDRONIC_ACID),
        first_antiresorptive=not any(record.exposures(cls) for cls in _ANTIRESORPTIVES),
        calcium_window_days=settings.pre_infusion_calcium_window_days,
        low_calcium=settings.low_calcium_mmol_per_l,
        vitamin_d_threshold=settings.vitamin_d_deficient_ng_per_ml,
        vitamin_d_window_days=settings.vitamin_d_window_days,
    )
    labs = (Lab.CALCIUM,) if measured_d is not None else (Lab.CALCIUM, Lab.VITAMIN_D)
    return Finding(Topic.PRE_INFUSION_CALCIUM_CHECK, Indicator.WARNING, facts, lab_orders=labs)


# --- anabolic-duration-limit ----------------------------------------------------------------------


def _anabolic_span(
    orders: DrugOrders, record: PatientRecord, now: datetime, settings: RuleSettings
) -> AnabolicFacts | None:
    """Days from the first recorded anabolic exposure to now, when it reaches the limit.

    rules.md measures the span, not the cumulative dose days: an interrupted course counts from its
    first dose. The card shows that date so the clinician can judge.
    """
    first = first_exposure(record, DrugClass.ANABOLIC)
    if first is None:
        return None
    days = days_since(first, now)
    if days < settings.anabolic_max_days:
        return None
    first_drug = next(m.name for m in record.exposures(DrugClass.ANABOLIC) if m.at == first)
    return AnabolicFacts(orders, first_drug, first.date(), days, settings.anabolic_max_days)


def anabolic_ordered(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[AnabolicFacts] | None:
    """A draft teriparatide/abaloparatide when anabolic therapy began ≥ the limit ago: warning, delete draft."""
    drafts = record.drafts_of(DrugClass.ANABOLIC)
    if not drafts:
        return None
    facts = _anabolic_span(draft_orders(drafts), record, now, settings)
    if facts is None:
        return None
    return Finding(Topic.ANABOLIC_DURATION_LIMIT, Indicator.WARNING, facts, delete_drafts=sources(drafts))


def anabolic_active(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[AnabolicFacts] | None:
    """An active teriparatide/abaloparatide order (patient-view) past the limit: warning, no suggestion."""
    on_drug = active(record, DrugClass.ANABOLIC)
    if not on_drug:
        return None
    facts = _anabolic_span(chart_orders(on_drug), record, now, settings)
    if facts is None:
        return None
    return Finding(Topic.ANABOLIC_DURATION_LIMIT, Indicator.WARNING, facts)


# --- hypercalcemia-on-therapy ---------------------------------------------------------------------


def hypercalcemia_on_therapy(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[HypercalcaemiaFacts] | None:
    """Active calcium, vitamin D (native or active) or anabolic, and the latest serum calcium (92 days) high.

    Calcium is albumin-corrected when an albumin of the same day exists. Above the severe threshold the
    card is critical.
    """
    therapies = [m for m in record.medications if m.active and _HYPERCALCAEMIC & m.classes]
    if not therapies:
        return None
    calcium = serum_calcium(record, now, settings, settings.hypercalcemia_window_days)
    if calcium is None or calcium.value <= settings.hypercalcemia_mmol_per_l:
        return None
    severe = calcium.value > settings.severe_hypercalcemia_mmol_per_l
    facts = HypercalcaemiaFacts(
        orders=chart_orders(therapies),
        calcium=calcium,
        threshold=settings.hypercalcemia_mmol_per_l,
        severe_threshold=settings.severe_hypercalcemia_mmol_per_l,
        severe=severe,
        anabolic=any(DrugClass.ANABOLIC in m.classes for m in therapies),
    )
    indicator = Indicator.CRITICAL if severe else Indicator.WARNING
    return Finding(Topic.HYPERCALCEMIA_ON_THERAPY, indicator, facts)


RULES: tuple[Rule, ...] = (
    Rule(Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION, Moment.ORDER, bisphosphonate_renal_ordered),
    Rule(Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION, Moment.VIEW, bisphosphonate_renal_active),
    Rule(Topic.BISPHOSPHONATE_RENAL_FUNCTION_UNKNOWN, Moment.ORDER, bisphosphonate_renal_unknown),
    Rule(Topic.PRE_INFUSION_CALCIUM_CHECK, Moment.ORDER, pre_infusion_calcium),
    Rule(Topic.ANABOLIC_DURATION_LIMIT, Moment.ORDER, anabolic_ordered),
    Rule(Topic.ANABOLIC_DURATION_LIMIT, Moment.VIEW, anabolic_active),
    Rule(Topic.HYPERCALCEMIA_ON_THERAPY, Moment.VIEW, hypercalcemia_on_therapy),
)
