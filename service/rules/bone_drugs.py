"""Bone drugs: bisphosphonates and renal function, calcium before antiresorptives, anabolic therapy (T2DM §3).

Facts these rules put in a finding (the card wording quotes them):

- ``drugs``: names of the draft (ORDER) or active (VIEW) orders the card is about; ``ordered``: for
  VIEW rules, their order dates (``date | None`` each, same order).
- renal function (see :func:`renal_facts`): ``renal``, ``renal_kind`` ("egfr" | "crcl" |
  "crcl-cockcroft-gault"), ``renal_date``; the other measure when both exist (``renal_other``,
  ``renal_other_kind``, ``renal_other_date``); the Cockcroft–Gault inputs when it was computed
  (``cg_creatinine`` mg/dL, ``cg_creatinine_date``, ``cg_weight`` kg, ``cg_weight_date``, ``cg_age``,
  ``cg_sex``); for the contraindication, ``dialysis`` (an active dialysis Condition), ``renal_threshold``
  (35) and ``hypocalcaemia_renal_threshold`` (30, denosumab's boxed warning).
- ``bisphosphonate-renal-function-unknown``: ``iv``, ``window_days``, ``dialysis``, ``renal_threshold``, and the last kidney test ever
  (``last_renal_lab``, ``last_renal_value``, ``last_renal_date``, absent when there is none).
- ``pre-infusion-calcium-check``: ``reasons`` ("calcium-missing", "calcium-low", "vitamin-d-low"),
  calcium (``calcium``, ``calcium_measured``, ``calcium_albumin``, ``calcium_date``; or ``last_calcium``
  and ``last_calcium_date`` when none is recent), ``vitamin_d``/``vitamin_d_date``, ``native_vitamin_d``,
  ``zoledronic_acid``, ``denosumab``, ``first_zoledronic_acid``, ``first_antiresorptive``, and the
  settings quoted (``calcium_window_days``, ``low_calcium``, ``vitamin_d_threshold``,
  ``vitamin_d_window_days``).
- ``anabolic-duration-limit``: ``first_drug``, ``first_date``, ``days``, ``limit_days``.
- ``hypercalcemia-on-therapy``: calcium as above, ``threshold``, ``severe_threshold``, ``anabolic``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import DrugClass, Lab, MedicationExposure, PatientRecord, Problem
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    SerumCalcium,
    active,
    days_since,
    first_exposure,
    last_result,
    latest,
    renal_function,
    serum_calcium,
)

_RENAL_TESTS = frozenset({Lab.EGFR, Lab.CREATININE_CLEARANCE, Lab.CREATININE})
_ANTIRESORPTIVES = (DrugClass.BISPHOSPHONATE, DrugClass.DENOSUMAB)
_HYPERCALCAEMIC = frozenset(
    {DrugClass.CALCIUM_SUPPLEMENT, DrugClass.NATIVE_VITAMIN_D, DrugClass.ACTIVE_VITAMIN_D, DrugClass.ANABOLIC}
)


def _names(exposures: Iterable[MedicationExposure]) -> tuple[str, ...]:
    return tuple(m.name for m in exposures)


def _sources(exposures: Iterable[MedicationExposure]) -> tuple[str, ...]:
    return tuple(m.source for m in exposures)


def _ordered(exposures: Iterable[MedicationExposure]) -> tuple[Any, ...]:
    return tuple(m.at.date() if m.at is not None else None for m in exposures)


def renal_facts(record: PatientRecord, now: datetime, window_days: int) -> dict[str, Any] | None:
    """The renal function a card quotes: which measure, its date, and how it was obtained; None if unknown."""
    kidney = renal_function(record, now, window_days)
    if kidney is None:
        return None
    facts: dict[str, Any] = {"renal": kidney.value, "renal_kind": kidney.kind, "renal_date": kidney.at.date()}
    if kidney.kind == "crcl-cockcroft-gault":
        creatinine = latest(record, Lab.CREATININE, now, window_days)
        weight = latest(record, Lab.BODY_WEIGHT, now, window_days)
        if creatinine is not None and weight is not None:
            facts.update(
                cg_creatinine=creatinine.value,
                cg_creatinine_date=creatinine.at.date(),
                cg_weight=weight.value,
                cg_weight_date=weight.at.date(),
                cg_age=record.patient.age_on(now.date()),
                cg_sex=record.patient.sex.value,
            )
        return facts
    other_lab = Lab.CREATININE_CLEARANCE if kidney.kind == "egfr" else Lab.EGFR
    other = latest(record, other_lab, now, window_days)
    if other is not None and other.value is not None:
        facts.update(
            renal_other=other.value,
            renal_other_kind="crcl" if other_lab is Lab.CREATININE_CLEARANCE else "egfr",
            renal_other_date=other.at.date(),
        )
    return facts


def _calcium_facts(calcium: SerumCalcium) -> dict[str, Any]:
    return {
        "calcium": calcium.value,
        "calcium_measured": calcium.measured,
        "calcium_albumin": calcium.albumin_g_per_l,
        "calcium_date": calcium.at.date(),
    }


# --- bisphosphonate-renal-contraindication --------------------------------------------------------


def _contraindicated(record: PatientRecord, now: datetime, settings: RuleSettings) -> dict[str, Any] | None:
    facts = renal_facts(record, now, settings.renal_function_window_days)
    if facts is None or facts["renal"] >= settings.bisphosphonate_min_renal_function:
        return None
    facts.update(
        dialysis=record.has_problem(Problem.DIALYSIS),
        renal_threshold=settings.bisphosphonate_min_renal_function,
        hypocalcaemia_renal_threshold=settings.denosumab_hypocalcemia_renal_threshold,
    )
    return facts


def bisphosphonate_renal_ordered(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding | None:
    """A draft bisphosphonate and renal function (the stricter of CrCl and eGFR, 365 days) below 35: critical.

    Dialysis alone does not fire this rule: rules.md asks for a value below 35. A dialysis patient
    without a recent value gets ``bisphosphonate-renal-function-unknown`` instead (which says dialysis).
    """
    drafts = record.drafts_of(DrugClass.BISPHOSPHONATE)
    if not drafts:
        return None
    facts = _contraindicated(record, now, settings)
    if facts is None:
        return None
    facts["drugs"] = _names(drafts)
    return Finding(
        Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION, Indicator.CRITICAL, facts, delete_drafts=_sources(drafts)
    )


def bisphosphonate_renal_active(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding | None:
    """An active bisphosphonate order (patient-view) and renal function below 35: critical, no suggestion."""
    on_drug = active(record, DrugClass.BISPHOSPHONATE)
    if not on_drug:
        return None
    facts = _contraindicated(record, now, settings)
    if facts is None:
        return None
    facts.update(drugs=_names(on_drug), ordered=_ordered(on_drug))
    return Finding(Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION, Indicator.CRITICAL, facts)


# --- bisphosphonate-renal-function-unknown --------------------------------------------------------


def _renal_window(draft: MedicationExposure, settings: RuleSettings) -> int:
    """IV zoledronic acid and ibandronate need a creatinine before each dose (label); oral ones yearly."""
    if DrugClass.BISPHOSPHONATE_IV in draft.classes:
        return settings.iv_bisphosphonate_renal_window_days
    return settings.renal_function_window_days


def bisphosphonate_renal_unknown(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding | None:
    """A draft bisphosphonate with no renal function in its window (365 days oral, 30 days IV): warning.

    "Renal function" is rules.md's: CrCl, eGFR, or Cockcroft–Gault from a creatinine in the window.
    With several drafts, the card names those that lack a recent value; the IV window wins if any is IV.
    """
    lacking = [
        d
        for d in record.drafts_of(DrugClass.BISPHOSPHONATE)
        if renal_function(record, now, _renal_window(d, settings)) is None
    ]
    if not lacking:
        return None
    iv = any(DrugClass.BISPHOSPHONATE_IV in d.classes for d in lacking)
    facts: dict[str, Any] = {
        "drugs": _names(lacking),
        "iv": iv,
        "window_days": min(_renal_window(d, settings) for d in lacking),
        "dialysis": record.has_problem(Problem.DIALYSIS),
        "renal_threshold": settings.bisphosphonate_min_renal_function,
    }
    last = last_result(record, _RENAL_TESTS, now)
    if last is not None:
        facts.update(
            last_renal_lab=last.lab.value, last_renal_value=last.value, last_renal_date=last.at.date()
        )
    return Finding(
        Topic.BISPHOSPHONATE_RENAL_FUNCTION_UNKNOWN, Indicator.WARNING, facts, lab_orders=(Lab.EGFR,)
    )


# --- pre-infusion-calcium-check -------------------------------------------------------------------


def pre_infusion_calcium(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding | None:
    """A draft zoledronic acid or denosumab with calcium unknown (30 days) or low, or vitamin D deficient.

    Vitamin D counts as deficient only when a 25-OH vitamin D within 365 days is below the threshold and no
    native vitamin D is active; a native vitamin D drafted in the same order set counts as active (the
    prescriber is already repleting). "First" infusion or antiresorptive means no exposure of that drug
    (zoledronic acid) or of any antiresorptive (bisphosphonate, denosumab) anywhere in the chart.
    """
    drafts = [d for d in record.drafts if {DrugClass.ZOLEDRONIC_ACID, DrugClass.DENOSUMAB} & d.classes]
    if not drafts:
        return None
    reasons: list[str] = []
    facts: dict[str, Any] = {"drugs": _names(drafts)}
    calcium = serum_calcium(record, now, settings, settings.pre_infusion_calcium_window_days)
    if calcium is None:
        reasons.append("calcium-missing")
        last = serum_calcium(record, now, settings)
        if last is not None:
            facts.update(last_calcium=last.value, last_calcium_date=last.at.date())
    else:
        facts.update(_calcium_facts(calcium))
        if calcium.value < settings.low_calcium_mmol_per_l:
            reasons.append("calcium-low")
    vitamin_d = latest(record, Lab.VITAMIN_D, now, settings.vitamin_d_window_days)
    native_d = bool(
        active(record, DrugClass.NATIVE_VITAMIN_D) or record.drafts_of(DrugClass.NATIVE_VITAMIN_D)
    )
    if vitamin_d is not None and vitamin_d.value is not None:
        facts.update(vitamin_d=vitamin_d.value, vitamin_d_date=vitamin_d.at.date())
        if vitamin_d.value < settings.vitamin_d_deficient_ng_per_ml and not native_d:
            reasons.append("vitamin-d-low")
    if not reasons:
        return None
    zoledronic = any(DrugClass.ZOLEDRONIC_ACID in d.classes for d in drafts)
    facts.update(
        reasons=tuple(reasons),
        calcium_window_days=settings.pre_infusion_calcium_window_days,
        low_calcium=settings.low_calcium_mmol_per_l,
        vitamin_d_threshold=settings.vitamin_d_deficient_ng_per_ml,
        vitamin_d_window_days=settings.vitamin_d_window_days,
        native_vitamin_d=native_d,
        zoledronic_acid=zoledronic,
        denosumab=any(DrugClass.DENOSUMAB in d.classes for d in drafts),
        first_zoledronic_acid=zoledronic and not record.exposures(DrugClass.ZOLEDRONIC_ACID),
        first_antiresorptive=not any(record.exposures(cls) for cls in _ANTIRESORPTIVES),
    )
    labs = (Lab.CALCIUM,) if vitamin_d is not None else (Lab.CALCIUM, Lab.VITAMIN_D)
    return Finding(Topic.PRE_INFUSION_CALCIUM_CHECK, Indicator.WARNING, facts, lab_orders=labs)


# --- anabolic-duration-limit ----------------------------------------------------------------------


def _anabolic_span(record: PatientRecord, now: datetime, settings: RuleSettings) -> dict[str, Any] | None:
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
    return {
        "first_drug": first_drug,
        "first_date": first.date(),
        "days": days,
        "limit_days": settings.anabolic_max_days,
    }


def anabolic_ordered(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding | None:
    """A draft teriparatide/abaloparatide when anabolic therapy began ≥ the limit ago: warning, delete draft."""
    drafts = record.drafts_of(DrugClass.ANABOLIC)
    if not drafts:
        return None
    facts = _anabolic_span(record, now, settings)
    if facts is None:
        return None
    facts["drugs"] = _names(drafts)
    return Finding(Topic.ANABOLIC_DURATION_LIMIT, Indicator.WARNING, facts, delete_drafts=_sources(drafts))


def anabolic_active(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding | None:
    """An active teriparatide/abaloparatide order (patient-view) past the limit: warning, no suggestion."""
    on_drug = active(record, DrugClass.ANABOLIC)
    if not on_drug:
        return None
    facts = _anabolic_span(record, now, settings)
    if facts is None:
        return None
    facts.update(drugs=_names(on_drug), ordered=_ordered(on_drug))
    return Finding(Topic.ANABOLIC_DURATION_LIMIT, Indicator.WARNING, facts)


# --- hypercalcemia-on-therapy ---------------------------------------------------------------------


def hypercalcemia_on_therapy(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding | None:
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
    facts: dict[str, Any] = {
        **_calcium_facts(calcium),
        "drugs": _names(therapies),
        "ordered": _ordered(therapies),
        "threshold": settings.hypercalcemia_mmol_per_l,
        "severe_threshold": settings.severe_hypercalcemia_mmol_per_l,
        "anabolic": any(DrugClass.ANABOLIC in m.classes for m in therapies),
    }
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
