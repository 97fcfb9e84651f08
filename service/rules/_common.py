"""Shared definitions of rules.md, each a named clinical concept.

Every function is pure: (record, now, settings) in, a plain value out. Rules read these instead of
walking the record themselves, so "serum calcium" or "renal function" means one thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from service.kernel.record import (
    ANTI_OSTEOPOROSIS,
    BMD_RESULTS,
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


@dataclass(frozen=True, slots=True)
class SerumCalcium:
    """Serum calcium in mmol/L, albumin-corrected when an albumin of the same day exists."""

    value: float
    measured: float
    at: datetime
    albumin_g_per_l: float | None  # set when corrected


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


def calcium_dates(record: PatientRecord) -> list[date]:
    return [m.at.date() for m in record.measurements if m.lab is Lab.CALCIUM]


@dataclass(frozen=True, slots=True)
class RenalFunction:
    """The stricter of the latest CrCl and eGFR within a window (rules.md "Renal function")."""

    value: float
    kind: str  # "egfr" | "crcl" | "crcl-cockcroft-gault"
    at: datetime


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
    return RenalFunction(round(crcl, 1), "crcl-cockcroft-gault", cr.at)


def renal_function(record: PatientRecord, now: datetime, window_days: int) -> RenalFunction | None:
    """Lower of latest CrCl and latest eGFR within the window; Cockcroft–Gault when neither exists."""
    candidates: list[RenalFunction] = []
    crcl = latest(record, Lab.CREATININE_CLEARANCE, now, window_days)
    if crcl is not None and crcl.value is not None:
        candidates.append(RenalFunction(crcl.value, "crcl", crcl.at))
    egfr = latest(record, Lab.EGFR, now, window_days)
    if egfr is not None and egfr.value is not None:
        candidates.append(RenalFunction(egfr.value, "egfr", egfr.at))
    if not candidates:
        computed = cockcroft_gault(record, now, window_days)
        return computed
    return min(candidates, key=lambda r: r.value)


def egfr(record: PatientRecord, now: datetime, window_days: int) -> RenalFunction | None:
    """eGFR alone, for rules that say "eGFR"."""
    m = latest(record, Lab.EGFR, now, window_days)
    if m is None or m.value is None:
        return None
    return RenalFunction(m.value, "egfr", m.at)


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


@dataclass(frozen=True, slots=True)
class BoneFragility:
    """Why a patient counts as having bone fragility (BF); ``reasons`` in plain words for the card."""

    reasons: tuple[str, ...]
    t_score: Measurement | None = None


def bone_fragility(record: PatientRecord, now: datetime) -> BoneFragility | None:
    """rules.md "Bone fragility (BF)": osteoporosis, fragility fracture, T-score ≤ −2.5, or any anti-OP drug."""
    reasons: list[str] = []
    if record.has_problem(Problem.OSTEOPOROSIS):
        reasons.append("osteoporosis")
    if record.has_problem(Problem.FRAGILITY_FRACTURE, active_only=False):
        reasons.append("fragility-fracture")
    t = latest_dxa_t_score(record, now)
    low_t = t if t is not None and t.value is not None and t.value <= FRAGILITY_T_SCORE else None
    if low_t is not None:
        reasons.append("t-score")
    # "any anti-osteoporosis drug ever": the chart's history; a draft order is not yet an exposure
    if any(ANTI_OSTEOPOROSIS & m.classes for m in record.medications):
        reasons.append("anti-osteoporosis-drug")
    return BoneFragility(tuple(reasons), low_t) if reasons else None


def hypoglycaemia_history(record: PatientRecord) -> bool:
    return record.has_problem(Problem.HYPOGLYCAEMIA, active_only=False)


# --- medications ----------------------------------------------------------------------------------


def active(record: PatientRecord, cls: DrugClass) -> list[MedicationExposure]:
    """Active chart exposures of a class (MedicationRequest active/on-hold, MedicationStatement active)."""
    return [m for m in record.medications if cls in m.classes and m.active]


def first_exposure(record: PatientRecord, cls: DrugClass) -> datetime | None:
    dates = [m.at for m in record.medications if cls in m.classes and m.at is not None]
    return min(dates) if dates else None


def last_exposure(record: PatientRecord, cls: DrugClass, now: datetime | None = None) -> datetime | None:
    dates = [
        m.at
        for m in record.medications
        if cls in m.classes and m.at is not None and (now is None or m.at.date() <= now.date())
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
        if DrugClass.BISPHOSPHONATE not in m.classes:
            continue
        if m.draft or (m.at is not None and m.at.date() > last_dose):
            return True
    return False


def is_bmd_result(m: Measurement) -> bool:
    return m.lab in BMD_RESULTS


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)
