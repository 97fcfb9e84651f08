"""Glucose-lowering drugs and bone (T2DM §1.4, §2.1, §2.2).

The seed ranks glucose-lowering drugs by their effect on bone: thiazolidinediones clearly raise fracture
risk (especially in women), SGLT2 inhibitors may (take care with poor renal function), insulin causes
hypoglycaemia and falls; metformin, GLP-1 RAs and DPP-4 inhibitors are bone-neutral or beneficial.

Facts these rules put in a finding (the card wording quotes them):

- ``drugs``: names of the draft (ORDER) or active (VIEW) orders the card is about, as the EHR shows them.
- ``ordered``: for the VIEW rule, the order dates of those active orders (``date | None`` each, same order).
- ``female_t2dm``: True when the TZD card fires only because the patient is a woman with T2DM.
- bone fragility (present whenever the patient has BF, see :func:`fragility_facts`):
  ``fragility`` (reason codes of ``bone_fragility``), ``osteoporosis_onset``, ``fracture_onset``,
  ``t_score``/``t_score_site``/``t_score_date``, ``anti_op_drug``/``anti_op_date``.
- ``egfr``/``egfr_date``/``egfr_threshold``: the eGFR the SGLT2 card is about, and the cut-off.
- ``age``, ``older_age_years``, ``older_with_fragility``, ``hypoglycaemia``, ``hypoglycaemia_onset``: the
  insulin card's reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import (
    ANTI_OSTEOPOROSIS,
    DrugClass,
    MedicationExposure,
    PatientRecord,
    Problem,
    Sex,
)
from service.kernel.thresholds import RuleSettings
from service.rules._common import active, bone_fragility, egfr, has_t2dm, hypoglycaemia_history
from service.rules._registry import Moment, Rule


def _names(exposures: Iterable[MedicationExposure]) -> tuple[str, ...]:
    return tuple(m.name for m in exposures)


def _sources(exposures: Iterable[MedicationExposure]) -> tuple[str, ...]:
    return tuple(m.source for m in exposures)


def _onsets(record: PatientRecord, problem: Problem, *, active_only: bool) -> list[date | None]:
    return [c.onset for c in record.conditions if c.problem is problem and (c.active or not active_only)]


def fragility_facts(record: PatientRecord, now: datetime) -> dict[str, Any] | None:
    """Why the patient counts as having bone fragility, with the dates a card quotes; None without BF.

    The osteoporosis date is the earliest onset of an active osteoporosis Condition, the fracture date the
    latest of any fragility fracture, and the anti-osteoporosis drug the most recent one on the chart.
    """
    bf = bone_fragility(record, now)
    if bf is None:
        return None
    facts: dict[str, Any] = {"fragility": bf.reasons}
    if "osteoporosis" in bf.reasons:
        known = [d for d in _onsets(record, Problem.OSTEOPOROSIS, active_only=True) if d is not None]
        facts["osteoporosis_onset"] = min(known) if known else None
    if "fragility-fracture" in bf.reasons:
        known = [d for d in _onsets(record, Problem.FRAGILITY_FRACTURE, active_only=False) if d is not None]
        facts["fracture_onset"] = max(known) if known else None
    if bf.t_score is not None:
        facts["t_score"] = bf.t_score.value
        facts["t_score_site"] = bf.t_score.site.value if bf.t_score.site is not None else None
        facts["t_score_date"] = bf.t_score.at.date()
    anti_op = [m for m in record.medications if ANTI_OSTEOPOROSIS & m.classes]
    if anti_op:
        dated = [m for m in anti_op if m.at is not None]
        newest = max(dated, key=lambda m: m.at or now) if dated else anti_op[-1]
        facts["anti_op_drug"] = newest.name
        facts["anti_op_date"] = newest.at.date() if newest.at is not None else None
    return facts


# --- tzd-fracture-risk ----------------------------------------------------------------------------


def tzd_ordered(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding | None:
    """A draft TZD: warning with bone fragility; info for a woman with T2DM and no BF; else nothing.

    Sex is the Patient's administrative gender; a patient of unknown sex without BF gets no card.
    Every TZD draft gets a delete suggestion (the card assembly makes them at-most-one).
    """
    drafts = record.drafts_of(DrugClass.TZD)
    if not drafts:
        return None
    facts: dict[str, Any] = {"drugs": _names(drafts)}
    fragility = fragility_facts(record, now)
    if fragility is not None:
        indicator = Indicator.WARNING
        facts.update(fragility)
    elif record.patient.sex is Sex.FEMALE and has_t2dm(record):
        indicator = Indicator.INFO
        facts["female_t2dm"] = True
    else:
        return None
    return Finding(Topic.TZD_FRACTURE_RISK, indicator, facts, delete_drafts=_sources(drafts))


def tzd_active(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding | None:
    """An active TZD order in a patient with bone fragility (patient-view): warning, with the order dates.

    EHRs leave long-term orders open, so the card shows when each order was written. No suggestion: the
    chart's order is the prescriber's to stop.
    """
    on_tzd = active(record, DrugClass.TZD)
    if not on_tzd:
        return None
    fragility = fragility_facts(record, now)
    if fragility is None:
        return None
    facts: dict[str, Any] = {
        "drugs": _names(on_tzd),
        "ordered": tuple(m.at.date() if m.at is not None else None for m in on_tzd),
        **fragility,
    }
    return Finding(Topic.TZD_FRACTURE_RISK, Indicator.WARNING, facts)


# --- sglt2-fracture-caution -----------------------------------------------------------------------


def sglt2_ordered(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding | None:
    """A draft SGLT2 inhibitor, bone fragility, and the latest eGFR within the window below the threshold.

    rules.md says "eGFR", so creatinine clearance and Cockcroft–Gault are not used here. Without an eGFR
    in the window the rule stays quiet (the seed's caution is about poor renal function, not unknown).
    """
    drafts = record.drafts_of(DrugClass.SGLT2_INHIBITOR)
    if not drafts:
        return None
    fragility = fragility_facts(record, now)
    if fragility is None:
        return None
    kidney = egfr(record, now, settings.sglt2_egfr_window_days)
    if kidney is None or kidney.value >= settings.sglt2_egfr_threshold:
        return None
    facts: dict[str, Any] = {
        "drugs": _names(drafts),
        "egfr": kidney.value,
        "egfr_date": kidney.at.date(),
        "egfr_threshold": settings.sglt2_egfr_threshold,
        **fragility,
    }
    return Finding(Topic.SGLT2_FRACTURE_CAUTION, Indicator.INFO, facts)


# --- insulin-hypoglycemia-fall-risk ---------------------------------------------------------------


def insulin_ordered(record: PatientRecord, now: datetime, settings: RuleSettings) -> Finding | None:
    """A draft insulin and (age ≥ the older-adult age with BF, or any history of hypoglycaemia).

    Age is completed years on today's date; without a birth date only the hypoglycaemia history counts.
    A hypoglycaemia Condition counts whatever its clinical status: a history is what raises the risk.
    """
    drafts = record.drafts_of(DrugClass.INSULIN)
    if not drafts:
        return None
    age = record.patient.age_on(now.date())
    fragility = fragility_facts(record, now)
    older_with_fragility = age is not None and age >= settings.older_adult_age_years and fragility is not None
    hypoglycaemia = hypoglycaemia_history(record)
    if not (older_with_fragility or hypoglycaemia):
        return None
    facts: dict[str, Any] = {
        "drugs": _names(drafts),
        "age": age,
        "older_age_years": settings.older_adult_age_years,
        "older_with_fragility": older_with_fragility,
        "hypoglycaemia": hypoglycaemia,
        **(fragility or {}),
    }
    if hypoglycaemia:
        known = [d for d in _onsets(record, Problem.HYPOGLYCAEMIA, active_only=False) if d is not None]
        facts["hypoglycaemia_onset"] = max(known) if known else None
    return Finding(Topic.INSULIN_HYPOGLYCEMIA_FALL_RISK, Indicator.WARNING, facts)


RULES: tuple[Rule, ...] = (
    Rule(Topic.TZD_FRACTURE_RISK, Moment.ORDER, tzd_ordered),
    Rule(Topic.TZD_FRACTURE_RISK, Moment.VIEW, tzd_active),
    Rule(Topic.SGLT2_FRACTURE_CAUTION, Moment.ORDER, sglt2_ordered),
    Rule(Topic.INSULIN_HYPOGLYCEMIA_FALL_RISK, Moment.ORDER, insulin_ordered),
)
