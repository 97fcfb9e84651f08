"""Hypocalcaemia after an antiresorptive (T2DM review section 3, the product labels; revision 3).

``hypocalcemia-on-antiresorptive``: a low calcium after denosumab (either strength) or a zoledronic acid
infusion (either strength): the value, the dose, renal function, and the tests to find the cause.
"""

from __future__ import annotations

from datetime import date, datetime

from service.kernel.facts.calcium import HypocalcaemiaFacts, PendingTest
from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import DrugClass, ExposureKind, Lab, MedicationExposure, PatientRecord
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    days_since,
    denosumab_last_dose,
    has_result,
    hypocalcaemia,
    on_dialysis,
    ordered_not_resulted,
    renal_function,
    within,
)

_CALCIUM = frozenset({Lab.CALCIUM, Lab.IONISED_CALCIUM})  # a calcium result of either kind
_WORKUP = (Lab.VITAMIN_D, Lab.PTH, Lab.MAGNESIUM)
_ZOLEDRONIC = frozenset({DrugClass.ZOLEDRONIC_ACID, DrugClass.ZOLEDRONIC_ACID_ONCOLOGY})
_DOSE_KINDS = frozenset({ExposureKind.ADMINISTRATION, ExposureKind.STATEMENT, ExposureKind.DISPENSE})


def _dated(m: MedicationExposure, now: datetime) -> date | None:
    return m.at.date() if m.at is not None and m.at.date() <= now.date() else None


def _oncology_denosumab(record: PatientRecord, now: datetime) -> tuple[date, MedicationExposure] | None:
    """The last dose of denosumab 120 mg: administrations, statements and dispenses first, orders only in a
    chart with none of those (as for D, which oncology denosumab never sets)."""
    chart = [m for m in record.medications if DrugClass.DENOSUMAB_ONCOLOGY in m.classes and m.is_exposure]
    doses = [m for m in chart if m.kind in _DOSE_KINDS] or chart
    dated = [(day, m) for m in doses if (day := _dated(m, now)) is not None]
    return max(dated, key=lambda pair: pair[0]) if dated else None


def _antiresorptive_dose(
    record: PatientRecord, now: datetime, s: RuleSettings
) -> tuple[date, str, bool, bool] | None:
    """The dose that makes a low calcium this card's: (day, drug name, denosumab, oncology), the latest of
    denosumab D within 365 days, denosumab 120 mg within 365 days, a zoledronic acid exposure within 30."""
    found: list[tuple[date, str, bool, bool]] = []
    d = denosumab_last_dose(record, now)
    if d is not None and within(d, now, s.hypocalcaemia_denosumab_dose_days):
        names = [
            m.name
            for m in record.medications
            if DrugClass.DENOSUMAB in m.classes and m.at is not None and m.at.date() == d
        ]
        found.append((d, names[0] if names else "denosumab", True, False))
    oncology = _oncology_denosumab(record, now)
    if oncology is not None and within(oncology[0], now, s.hypocalcaemia_denosumab_dose_days):
        found.append((oncology[0], oncology[1].name, True, True))
    for m in record.medications:
        day = _dated(m, now)
        recent = day is not None and within(day, now, s.hypocalcaemia_zoledronic_acid_days)
        if _ZOLEDRONIC & m.classes and m.is_exposure and day is not None and recent:
            found.append((day, m.name, False, DrugClass.ZOLEDRONIC_ACID_ONCOLOGY in m.classes))
    return max(found, key=lambda f: f[0]) if found else None


def hypocalcemia_on_antiresorptive(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[HypocalcaemiaFacts] | None:
    """rules.md `hypocalcemia-on-antiresorptive` (r3): hypocalcaemia (the latest calcium within 30 days,
    total corrected or ionised, below its low limit) and denosumab with D within 365 days, or a zoledronic
    acid exposure dated within 30 days; oncology regimens too. Critical when severe, else warning.

    Offers calcium (the recheck), and each of 25-OH vitamin D, PTH and magnesium without a result within
    92 days; a test ordered and not yet resulted is not offered again (the card says so). In palliative
    care the evaluation removes the suggestions.
    """
    s = settings
    status = hypocalcaemia(record, now, s)
    if status is None:
        return None
    dose = _antiresorptive_dose(record, now, s)
    if dose is None:
        return None
    day, drug, denosumab, oncology = dose
    tests: list[Lab] = []
    pending: list[PendingTest] = []
    wanted = [(Lab.CALCIUM, _CALCIUM, s.calcium_recheck_days)]
    wanted += [
        (lab, frozenset({lab}), s.hypocalcaemia_workup_window_days)
        for lab in _WORKUP
        if not has_result(record, lab, now, s.hypocalcaemia_workup_window_days)
    ]
    for lab, same, interval in wanted:
        order = ordered_not_resulted(record, same, now, interval, s)
        if order is not None and order.authored is not None:
            pending.append(PendingTest(lab, order.authored.date()))
        else:
            tests.append(lab)
    calcium = status.calcium
    facts = HypocalcaemiaFacts(
        calcium=calcium,
        severe=status.severe,
        low_limit=s.ionised_low_calcium_mmol_per_l if calcium.ionised else s.low_calcium_mmol_per_l,
        drug=drug,
        denosumab=denosumab,
        oncology=oncology,
        dose_on=day,
        days_since_dose=days_since(day, now),
        renal=renal_function(record, now, s.renal_function_window_days, s),
        dialysis=on_dialysis(record, now, s),
        recheck_days=s.calcium_recheck_days,
        workup_window_days=s.hypocalcaemia_workup_window_days,
        tests=tuple(tests),
        pending=tuple(pending),
    )
    indicator = Indicator.CRITICAL if status.severe else Indicator.WARNING
    return Finding(Topic.HYPOCALCEMIA_ON_ANTIRESORPTIVE, indicator, facts, lab_orders=tuple(tests))


RULES: tuple[Rule, ...] = (
    Rule(Topic.HYPOCALCEMIA_ON_ANTIRESORPTIVE, Moment.VIEW, hypocalcemia_on_antiresorptive),
)
