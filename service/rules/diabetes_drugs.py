"""Glucose-lowering drugs and bone (T2DM §1.4, §2.1, §2.2).

The review ranks glucose-lowering drugs by their effect on bone: thiazolidinediones clearly raise fracture
risk (especially in women), SGLT2 inhibitors may (take care with poor renal function), insulin and the
insulin secretagogues (sulfonylureas, glinides) cause hypoglycaemia and falls; metformin, GLP-1 RAs and DPP-4 inhibitors are bone-neutral or beneficial.
The facts each rule concludes are the types of :mod:`service.kernel.facts.diabetes_drugs`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from service.kernel.facts.diabetes_drugs import InsulinFacts, MetforminBar, Sglt2Facts, TzdFacts
from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import INSULIN_SECRETAGOGUES, DrugClass, PatientRecord, Problem, Sex
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    active,
    bone_fragility,
    chart_orders,
    draft_orders,
    egfr,
    has_t2dm,
    hypoglycaemia_history,
    latest_onset,
    on_dialysis,
    renal_function,
    sources,
)

# --- tzd-fracture-risk ----------------------------------------------------------------------------


def _with_alternatives(
    record: PatientRecord, now: datetime, settings: RuleSettings, facts: TzdFacts
) -> TzdFacts:
    """Whether the card may name metformin (rules.md r3, "No contradictions").

    "Metformin is named as an alternative only when renal function (365 days) ≥ 30 and not on dialysis
    (the product label); otherwise the cards name a GLP-1 RA or a DPP-4 inhibitor (dose-adjusted for the
    kidneys, except linagliptin)." Renal function unknown within the window is not ≥ 30: metformin is
    not named, and the card says a renal function is needed first.
    """
    threshold = settings.metformin_min_renal_function
    renal = renal_function(record, now, settings.renal_function_window_days, settings)
    bar: MetforminBar | None
    if on_dialysis(record, now, settings):
        bar = MetforminBar.DIALYSIS
    elif renal is None:
        bar = MetforminBar.RENAL_UNKNOWN
    elif renal.value < threshold:
        bar = MetforminBar.RENAL_LOW
    else:
        bar = None
    return replace(facts, metformin_bar=bar, renal=renal, metformin_threshold=threshold)


def tzd_ordered(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding[TzdFacts] | None:
    """A draft TZD: warning with bone fragility; info for a woman with T2DM and no BF; else nothing.

    Sex is the Patient's administrative gender; a patient of unknown sex without BF gets no card.
    Every TZD draft gets a delete suggestion (the card assembly makes them at-most-one).
    """
    tzd = record.drafts_of(DrugClass.TZD)
    if not tzd:
        return None
    fragility = bone_fragility(record, now)
    if fragility is not None:
        indicator = Indicator.WARNING
    elif record.patient.sex is Sex.FEMALE and has_t2dm(record):
        indicator = Indicator.INFO
    else:
        return None
    facts = _with_alternatives(record, now, settings, TzdFacts(draft_orders(tzd), fragility))
    return Finding(Topic.TZD_FRACTURE_RISK, indicator, facts, delete_drafts=sources(tzd))


def tzd_active(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding[TzdFacts] | None:
    """An active TZD order in a patient with bone fragility (patient-view): warning, with the order dates.

    EHRs leave long-term orders open, so the card shows when each order was written. No suggestion: the
    chart's order is the prescriber's to stop.
    """
    on_tzd = active(record, DrugClass.TZD)
    if not on_tzd:
        return None
    fragility = bone_fragility(record, now)
    if fragility is None:
        return None
    facts = _with_alternatives(record, now, settings, TzdFacts(chart_orders(on_tzd), fragility))
    return Finding(Topic.TZD_FRACTURE_RISK, Indicator.WARNING, facts)


# --- sglt2-fracture-caution -----------------------------------------------------------------------


def sglt2_ordered(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding[Sglt2Facts] | None:
    """A draft SGLT2 inhibitor, bone fragility, and the latest eGFR within the window below the threshold.

    rules.md says "eGFR", so creatinine clearance and Cockcroft–Gault are not used here. Without an eGFR
    in the window the rule stays quiet (the review's caution is about poor renal function, not unknown).
    """
    sglt2 = record.drafts_of(DrugClass.SGLT2_INHIBITOR)
    if not sglt2:
        return None
    fragility = bone_fragility(record, now)
    if fragility is None:
        return None
    kidney = egfr(record, now, settings.sglt2_egfr_window_days)
    if kidney is None or kidney.value >= settings.sglt2_egfr_threshold:
        return None
    facts = Sglt2Facts(draft_orders(sglt2), kidney, settings.sglt2_egfr_threshold, fragility)
    return Finding(Topic.SGLT2_FRACTURE_CAUTION, Indicator.INFO, facts)


# --- insulin-hypoglycemia-fall-risk ---------------------------------------------------------------


def insulin_ordered(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[InsulinFacts] | None:
    """A draft insulin, or (r3) a draft sulfonylurea or glinide (the insulin secretagogues), and (age ≥ the
    older-adult age with BF, or any history of hypoglycaemia).

    Age is completed years on today's date; without a birth date only the hypoglycaemia history counts.
    A hypoglycaemia Condition counts whatever its clinical status: a history is what raises the risk.
    A combination product (e.g. glimepiride with metformin) counts by its secretagogue ingredient.
    """
    insulin = record.drafts_of(DrugClass.INSULIN)
    secretagogues = [m for m in record.drafts if INSULIN_SECRETAGOGUES & m.classes and m not in insulin]
    if not (insulin or secretagogues):
        return None
    age = record.patient.age_on(now.date())
    fragility = bone_fragility(record, now)
    older_with_fragility = age is not None and age >= settings.older_adult_age_years and fragility is not None
    hypoglycaemia = hypoglycaemia_history(record)
    if not (older_with_fragility or hypoglycaemia):
        return None
    facts = InsulinFacts(
        orders=draft_orders([*insulin, *secretagogues]),
        age=age,
        older_age_years=settings.older_adult_age_years,
        older_with_fragility=older_with_fragility,
        hypoglycaemia=hypoglycaemia,
        hypoglycaemia_onset=latest_onset(record, Problem.HYPOGLYCAEMIA) if hypoglycaemia else None,
        fragility=fragility,
        insulin=bool(insulin),
        secretagogue=bool(secretagogues),
    )
    return Finding(Topic.INSULIN_HYPOGLYCEMIA_FALL_RISK, Indicator.WARNING, facts)


RULES: tuple[Rule, ...] = (
    Rule(Topic.TZD_FRACTURE_RISK, Moment.ORDER, tzd_ordered),
    Rule(Topic.TZD_FRACTURE_RISK, Moment.VIEW, tzd_active),
    Rule(Topic.SGLT2_FRACTURE_CAUTION, Moment.ORDER, sglt2_ordered),
    Rule(Topic.INSULIN_HYPOGLYCEMIA_FALL_RISK, Moment.ORDER, insulin_ordered),
)
