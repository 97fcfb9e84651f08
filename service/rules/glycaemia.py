"""Glycaemic over-treatment in older patients with fragile bones (T2DM review sections 1.4 and 2.2, r3).

``glycemic-overtreatment-fall-risk``: over-tight control on insulin or an insulin secretagogue causes
hypoglycaemia, falls and fractures; the card asks for an individual glucose target.
"""

from __future__ import annotations

from datetime import datetime

from service.kernel.facts.glycaemia import OvertreatmentFacts, Reading
from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import INSULIN_SECRETAGOGUES, DrugClass, Lab, PatientRecord, Problem
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    bone_fragility,
    chart_orders,
    has_t2dm,
    latest,
    on_dialysis,
    renal_function,
    within,
)

_HYPOGLYCAEMIC = frozenset({DrugClass.INSULIN, *INSULIN_SECRETAGOGUES})
#: Metformin is named as an alternative only with renal function (365 days) at or above this (the label).
_METFORMIN_MIN_RENAL_FUNCTION = 30.0


def glycemic_overtreatment(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[OvertreatmentFacts] | None:
    """rules.md `glycemic-overtreatment-fall-risk` (r3): T2DM, BF, age ≥ 65, an active insulin or insulin
    secretagogue (sulfonylurea, glinide), and (the latest HbA1c within 183 days < 7.0 %, or a hypoglycaemia
    Condition with onset or recordedDate within 365 days, or a blood, serum/plasma or capillary glucose below
    3.9 mmol/L within 365 days): warning, no order.

    Age is completed years today; an unknown birth date does not fire (the age is the point). A
    hypoglycaemia Condition counts whatever its clinical status (refuted ones never reach the record). The
    glucose quoted is the latest low one. A glucose is compared at the precision laboratories report it in
    mmol/L (one decimal): 70 mg/dL is 3.885 mmol/L, which is 3.9 and so not below the limit, as rules.md
    writes the limit "3.9 mmol/L (70 mg/dL)"; 69 mg/dL (3.8) is below it.
    """
    s = settings
    if not has_t2dm(record):
        return None
    age = record.patient.age_on(now.date())
    if age is None or age < s.older_adult_age_years:
        return None
    drugs = [m for m in record.medications if m.active and _HYPOGLYCAEMIC & m.classes]
    if not drugs:
        return None
    fragility = bone_fragility(record, now, s)
    if fragility is None:
        return None
    a1c = latest(record, Lab.HBA1C, now, s.overtreatment_hba1c_window_days)
    hba1c = (
        Reading(a1c.value, a1c.at.date())
        if a1c is not None and a1c.value is not None and a1c.value < s.overtreatment_hba1c_percent
        else None
    )
    hypo = [
        c.onset
        for c in record.conditions
        if c.problem is Problem.HYPOGLYCAEMIA
        and c.onset is not None
        and within(c.onset, now, s.recent_hypoglycaemia_days)
    ]
    lows = [
        m
        for m in record.series(Lab.GLUCOSE)
        if m.value is not None
        and round(m.value, 1) < s.low_glucose_mmol_per_l
        and within(m.at, now, s.low_glucose_window_days)
    ]
    low = max(lows, key=lambda m: m.at) if lows else None
    if hba1c is None and not hypo and low is None:
        return None
    renal = renal_function(record, now, s.renal_function_window_days, s)
    facts = OvertreatmentFacts(
        orders=chart_orders(drugs),
        age=age,
        fragility=fragility,
        hba1c=hba1c,
        hba1c_threshold=s.overtreatment_hba1c_percent,
        hypoglycaemia_on=max(hypo) if hypo else None,
        low_glucose=Reading(low.value, low.at.date()) if low is not None and low.value is not None else None,
        low_glucose_threshold=s.low_glucose_mmol_per_l,
        metformin=(
            renal is not None
            and renal.value >= _METFORMIN_MIN_RENAL_FUNCTION
            and not on_dialysis(record, now, s)
        ),
    )
    return Finding(Topic.GLYCEMIC_OVERTREATMENT_FALL_RISK, Indicator.WARNING, facts)


RULES: tuple[Rule, ...] = (Rule(Topic.GLYCEMIC_OVERTREATMENT_FALL_RISK, Moment.VIEW, glycemic_overtreatment),)
