"""Shared definitions of rules.md, each a named clinical concept.

Every function is pure: (record, now, settings) in, a plain value out. Rules read these instead of
walking the record themselves, so "serum calcium" or "renal function" means one thing everywhere. The
values that cards quote (renal function, serum calcium, bone fragility) are the kernel's
:mod:`service.kernel.clinical` types, built here once with their evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from service.kernel.clinical import (
    BoneFragility,
    CockcroftGaultInputs,
    DrugOrders,
    FragilityReason,
    RenalFunction,
    RenalMeasure,
    SerumCalcium,
    TScore,
)
from service.kernel.record import (
    ANTI_OSTEOPOROSIS,
    BmdSite,
    DrugClass,
    ExposureKind,
    Lab,
    Measurement,
    MedicationExposure,
    PatientRecord,
    Problem,
    Sex,
)
from service.kernel.thresholds import RuleSettings

FRAGILITY_T_SCORE = -2.5  # WHO definition of osteoporosis; not a setting
FRAGILITY_SITES = frozenset({BmdSite.LUMBAR_SPINE, BmdSite.HIP, BmdSite.FEMORAL_NECK})


def within(at: datetime | date, now: datetime, days: int) -> bool:
    """True when ``at`` is no more than ``days`` calendar days before ``now`` (and not after it)."""
    day = at.date() if isinstance(at, datetime) else at
    return 0 <= (now.date() - day).days <= days


def days_since(at: datetime | date, now: datetime) -> int:
    day = at.date() if isinstance(at, datetime) else at
    return (now.date() - day).days


# --- observations ---------------------------------------------------------------------------------


def latest(
    record: PatientRecord, lab: Lab, now: datetime, window_days: int | None = None
) -> Measurement | None:
    """The latest value of ``lab`` dated no later than now (and within the window, if given)."""
    found: Measurement | None = None
    for m in record.measurements:
        if m.lab is not lab or m.at.date() > now.date():
            continue
        if window_days is not None and not within(m.at, now, window_days):
            continue
        if found is None or m.at >= found.at:
            found = m
    return found


def serum_calcium(
    record: PatientRecord, now: datetime, settings: RuleSettings, window_days: int | None = None
) -> SerumCalcium | None:
    """Latest serum calcium (rules.md: corrected = measured + 0.02 × (40 − albumin g/L))."""
    ca = latest(record, Lab.CALCIUM, now, window_days)
    if ca is None or ca.value is None:
        return None
    same_day = [
        m
        for m in record.measurements
        if m.lab is Lab.ALBUMIN and m.value is not None and m.at.date() == ca.at.date()
    ]
    if not same_day:
        return SerumCalcium(ca.value, ca.value, ca.at, None)
    albumin = max(same_day, key=lambda m: m.at).value
    assert albumin is not None
    corrected = ca.value + settings.albumin_correction_mmol_per_g * (
        settings.albumin_reference_g_per_l - albumin
    )
    return SerumCalcium(round(corrected, 3), ca.value, ca.at, albumin)


def cockcroft_gault(record: PatientRecord, now: datetime, window_days: int) -> RenalFunction | None:
    """CrCl (mL/min) from serum creatinine, age, sex and weight, when all exist (the card says so)."""
    cr = latest(record, Lab.CREATININE, now, window_days)
    weight = latest(record, Lab.BODY_WEIGHT, now, window_days)
    age = record.patient.age_on(now.date())
    sex = record.patient.sex
    if (
        cr is None
        or cr.value is None
        or cr.value <= 0
        or weight is None
        or weight.value is None
        or age is None
    ):
        return None
    if sex not in (Sex.FEMALE, Sex.MALE):
        return None
    crcl = (140 - age) * weight.value / (72 * cr.value)
    if sex is Sex.FEMALE:
        crcl *= 0.85
    inputs = CockcroftGaultInputs(cr.value, cr.at.date(), weight.value, weight.at.date(), age, sex)
    return RenalFunction(round(crcl, 1), RenalMeasure.COCKCROFT_GAULT, cr.at, inputs=inputs)


def renal_function(record: PatientRecord, now: datetime, window_days: int) -> RenalFunction | None:
    """Lower of latest CrCl and latest eGFR within the window; Cockcroft–Gault when neither exists.

    When both were reported, the one that did not decide is kept as ``other`` for the card to quote.
    """
    candidates: list[RenalFunction] = []
    crcl = latest(record, Lab.CREATININE_CLEARANCE, now, window_days)
    if crcl is not None and crcl.value is not None:
        candidates.append(RenalFunction(crcl.value, RenalMeasure.CRCL, crcl.at))
    egfr = latest(record, Lab.EGFR, now, window_days)
    if egfr is not None and egfr.value is not None:
        candidates.append(RenalFunction(egfr.value, RenalMeasure.EGFR, egfr.at))
    if not candidates:
        return cockcroft_gault(record, now, window_days)
    lowest = min(candidates, key=lambda r: r.value)
    others = [r for r in candidates if r is not lowest]
    return replace(lowest, other=others[0]) if others else lowest


def egfr(record: PatientRecord, now: datetime, window_days: int) -> RenalFunction | None:
    """eGFR alone, for rules that say "eGFR"."""
    m = latest(record, Lab.EGFR, now, window_days)
    if m is None or m.value is None:
        return None
    return RenalFunction(m.value, RenalMeasure.EGFR, m.at)


def has_result(record: PatientRecord, labs: frozenset[Lab] | Lab, now: datetime, window_days: int) -> bool:
    wanted = labs if isinstance(labs, frozenset) else frozenset({labs})
    return any(m.lab in wanted and within(m.at, now, window_days) for m in record.measurements)


def last_result(record: PatientRecord, labs: frozenset[Lab] | Lab, now: datetime) -> Measurement | None:
    wanted = labs if isinstance(labs, frozenset) else frozenset({labs})
    found = [m for m in record.measurements if m.lab in wanted and m.at.date() <= now.date()]
    return max(found, key=lambda m: m.at) if found else None


# --- conditions -----------------------------------------------------------------------------------


def has_t2dm(record: PatientRecord) -> bool:
    """An active Condition coded as type 2 diabetes (any subtype)."""
    return record.has_problem(Problem.T2DM)


def t2dm_onset(record: PatientRecord) -> date | None:
    """The earliest onset (else recorded date) of any T2DM Condition."""
    onsets = [c.onset for c in record.conditions if c.problem is Problem.T2DM and c.onset is not None]
    return min(onsets) if onsets else None


def latest_dxa_t_score(record: PatientRecord, now: datetime) -> Measurement | None:
    """The lowest spine/hip/femoral-neck T-score of the latest DXA examination that has one."""
    scores = [
        m
        for m in record.measurements
        if m.lab is Lab.T_SCORE
        and m.site in FRAGILITY_SITES
        and m.value is not None
        and m.at.date() <= now.date()
    ]
    if not scores:
        return None
    exam_day = max(m.at.date() for m in scores)
    return min((m for m in scores if m.at.date() == exam_day), key=lambda m: m.value or 0.0)


def bone_fragility(record: PatientRecord, now: datetime) -> BoneFragility | None:
    """rules.md "Bone fragility (BF)": osteoporosis, fragility fracture, T-score ≤ −2.5, or any anti-OP drug.

    With its evidence: the earliest onset of an active osteoporosis Condition, the latest onset of any
    fragility fracture (a healed fracture is still a history of fracture), the low T-score, and the most
    recent anti-osteoporosis drug on the chart ("any drug ever": a draft order is not yet an exposure).
    """
    reasons: list[FragilityReason] = []
    osteoporosis_since: date | None = None
    fracture_on: date | None = None
    if record.has_problem(Problem.OSTEOPOROSIS):
        reasons.append(FragilityReason.OSTEOPOROSIS)
        osteoporosis_since = _earliest(_onsets(record, Problem.OSTEOPOROSIS, active_only=True))
    if record.has_problem(Problem.FRAGILITY_FRACTURE, active_only=False):
        reasons.append(FragilityReason.FRAGILITY_FRACTURE)
        fracture_on = _latest(_onsets(record, Problem.FRAGILITY_FRACTURE, active_only=False))
    t = latest_dxa_t_score(record, now)
    low_t = None
    if t is not None and t.value is not None and t.value <= FRAGILITY_T_SCORE:
        reasons.append(FragilityReason.T_SCORE)
        low_t = TScore(t.value, t.site, t.at.date())
    drug, drug_on = None, None
    anti_op = [m for m in record.medications if ANTI_OSTEOPOROSIS & m.classes and m.is_exposure]
    if anti_op:
        reasons.append(FragilityReason.ANTI_OSTEOPOROSIS_DRUG)
        dated = [m for m in anti_op if m.at is not None]
        newest = max(dated, key=lambda m: m.at or now) if dated else anti_op[-1]
        drug, drug_on = newest.name, (newest.at.date() if newest.at is not None else None)
    if not reasons:
        return None
    return BoneFragility(tuple(reasons), osteoporosis_since, fracture_on, low_t, drug, drug_on)


def _onsets(record: PatientRecord, problem: Problem, *, active_only: bool) -> list[date]:
    return [
        c.onset
        for c in record.conditions
        if c.problem is problem and (c.active or not active_only) and c.onset is not None
    ]


def latest_onset(record: PatientRecord, problem: Problem) -> date | None:
    """The latest onset (else recorded date) of any Condition of ``problem``, whatever its status."""
    return _latest(_onsets(record, problem, active_only=False))


def _earliest(days: list[date]) -> date | None:
    return min(days) if days else None


def _latest(days: list[date]) -> date | None:
    return max(days) if days else None


def hypoglycaemia_history(record: PatientRecord) -> bool:
    return record.has_problem(Problem.HYPOGLYCAEMIA, active_only=False)


# --- medications ----------------------------------------------------------------------------------


def active(record: PatientRecord, cls: DrugClass) -> list[MedicationExposure]:
    """Active chart exposures of a class (MedicationRequest active/on-hold, MedicationStatement active)."""
    return [m for m in record.medications if cls in m.classes and m.active]


def first_exposure(record: PatientRecord, cls: DrugClass) -> datetime | None:
    dates = [m.at for m in record.medications if cls in m.classes and m.at is not None and m.is_exposure]
    return min(dates) if dates else None


def last_exposure(record: PatientRecord, cls: DrugClass, now: datetime | None = None) -> datetime | None:
    dates = [
        m.at
        for m in record.medications
        if cls in m.classes
        and m.is_exposure
        and m.at is not None
        and (now is None or m.at.date() <= now.date())
    ]
    return max(dates) if dates else None


def denosumab_last_dose(record: PatientRecord, now: datetime) -> date | None:
    """D: the latest date of any denosumab exposure (chart only, never a draft)."""
    last = last_exposure(record, DrugClass.DENOSUMAB, now)
    return last.date() if last is not None else None


def denosumab_discontinued(record: PatientRecord) -> bool:
    """The latest denosumab MedicationRequest has status ``stopped``."""
    requests = [
        m for m in record.medications if DrugClass.DENOSUMAB in m.classes and m.kind is ExposureKind.REQUEST
    ]
    if not requests:
        return False
    newest = max(requests, key=lambda m: (m.at is not None, m.at or datetime.min))
    return newest.status == "stopped"


def sequenced_after(record: PatientRecord, last_dose: date) -> bool:
    """A bisphosphonate exposure or draft order dated after D."""
    for m in (*record.medications, *record.drafts):
        if DrugClass.BISPHOSPHONATE not in m.classes or not m.is_exposure:
            continue
        if m.draft or (m.at is not None and m.at.date() > last_dose):
            return True
    return False


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)


def draft_orders(exposures: Sequence[MedicationExposure]) -> DrugOrders:
    """The draft orders a card is about, by the names the EHR shows."""
    return DrugOrders(tuple(m.name for m in exposures))


def chart_orders(exposures: Sequence[MedicationExposure]) -> DrugOrders:
    """Active chart orders with their order dates (EHRs leave long-term orders open)."""
    return DrugOrders(
        tuple(m.name for m in exposures), tuple(m.at.date() if m.at is not None else None for m in exposures)
    )


def sources(exposures: Sequence[MedicationExposure]) -> tuple[str, ...]:
    """The relative references of draft orders (``MedicationRequest/abc``), for delete suggestions."""
    return tuple(m.source for m in exposures)
