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
from typing import Any

from service.kernel.clinical import (
    BoneFragility,
    CalciumStatus,
    CkdEpiInputs,
    CockcroftGaultInputs,
    DrugOrders,
    FragilityReason,
    RenalFunction,
    RenalMeasure,
    SerumCalcium,
    TScore,
    WithholdReason,
)
from service.kernel.findings import Finding, Proposal
from service.kernel.record import (
    ANTI_OSTEOPOROSIS,
    ONCOLOGY_REGIMENS,
    Allergy,
    BmdSite,
    ConditionFact,
    DrugClass,
    ExposureKind,
    Lab,
    Measurement,
    MedicationExposure,
    PatientRecord,
    Problem,
    Sex,
    TestOrder,
)
from service.kernel.thresholds import RuleSettings

FRAGILITY_T_SCORE = -2.5  # WHO definition of osteoporosis; not a setting
FRAGILITY_SITES = frozenset({BmdSite.LUMBAR_SPINE, BmdSite.HIP, BmdSite.FEMORAL_NECK})

#: The settings a definition reads when its caller passes none (rules.md's defaults).
_DEFAULTS = RuleSettings()


def _or_defaults(settings: RuleSettings | None) -> RuleSettings:
    return settings if settings is not None else _DEFAULTS


def within(at: datetime | date, now: datetime, days: int) -> bool:
    """True when ``at`` is no more than ``days`` calendar days before ``now`` (and not after it)."""
    day = at.date() if isinstance(at, datetime) else at
    return 0 <= (now.date() - day).days <= days


def days_since(at: datetime | date, now: datetime) -> int:
    day = at.date() if isinstance(at, datetime) else at
    return (now.date() - day).days


# --- exclusions (r3) -------------------------------------------------------------------------------


def adult(record: PatientRecord, now: datetime, settings: RuleSettings) -> bool:
    """rules.md "Exclusions (r3)": "Patients under 18 years (from birthDate) get no patient-view cards and
    no reminders ...; the order-time rules still fire." True from the 18th birthday; an unknown birth
    date counts as adult.
    """
    return _at_least(record, now.date(), settings.adult_age_years)


def _procedure_or_active(c: ConditionFact, now: datetime, procedure_window_days: int) -> bool:
    """An active Condition, or a Procedure (``from_procedure``) dated within its window."""
    if c.from_procedure:
        return c.onset is not None and within(c.onset, now, procedure_window_days)
    return c.active


def palliative_care(record: PatientRecord, now: datetime, settings: RuleSettings) -> ConditionFact | None:
    """The Condition or Procedure that puts the patient in palliative or hospice care, or None.

    rules.md (r3): "Patients in palliative or hospice care (an active Condition or a Procedure within 92
    days coded as palliative care or hospice care: ICD-10 Z51.5, SNOMED CT 103735009 palliative care,
    385763009 hospice care)". The most recent one when several count.
    """
    found = [
        c
        for c in record.conditions
        if c.problem is Problem.PALLIATIVE_CARE
        and _procedure_or_active(c, now, settings.palliative_procedure_window_days)
    ]
    return max(found, key=lambda c: (c.onset is not None, c.onset or date.min)) if found else None


def in_palliative_care(record: PatientRecord, now: datetime, settings: RuleSettings) -> bool:
    """rules.md (r3): palliative or hospice care (see :func:`palliative_care`): no reminders, and at
    patient-view only the acute-harm cards, with no suggestions and "weigh treatment against the goals of
    care".
    """
    return palliative_care(record, now, settings) is not None


def pregnancy_since(record: PatientRecord, now: datetime, settings: RuleSettings) -> date | None:
    """The date the patient is known pregnant from (the latest evidence), or None when not pregnant.

    rules.md (r3): "Pregnancy (patients not recorded as male): an active Condition of pregnancy ... whose
    onset[x], else recordedDate, is within 280 days (a Condition with neither date does not count), or a
    positive pregnancy test (hCG presence, LOINC 2106-3 urine, 2118-8 serum/plasma; quantitative hCG is not
    read) within 280 days; in either case unless a negative pregnancy test, or a delivery or
    pregnancy-outcome record (ICD-10 O00–O08, O80–O84, Z37.*), is dated after that date."

    "After" is a later calendar day: a negative test or an outcome of the same day ends nothing. A
    pregnancy outcome counts whatever its clinical status; one without a date ends nothing.
    """
    if record.patient.sex is Sex.MALE:
        return None
    window = settings.pregnancy_window_days
    evidence = [
        c.onset
        for c in record.conditions
        if c.problem is Problem.PREGNANCY
        and c.active
        and c.onset is not None
        and within(c.onset, now, window)
    ]
    evidence += [
        m.at.date()
        for m in record.series(Lab.HCG)
        if m.value is not None and m.value >= 1.0 and within(m.at, now, window)
    ]
    if not evidence:
        return None
    since = max(evidence)
    ended = [
        c.onset for c in record.conditions if c.problem is Problem.PREGNANCY_OUTCOME and c.onset is not None
    ]
    ended += [m.at.date() for m in record.series(Lab.HCG) if m.value is not None and m.value < 1.0]
    if any(since < day <= now.date() for day in ended):
        return None
    return since


def pregnant(record: PatientRecord, now: datetime, settings: RuleSettings) -> bool:
    """rules.md "Pregnancy (r3)": see :func:`pregnancy_since`. In pregnancy no card offers or advises a
    bisphosphonate, denosumab, an anabolic or romosozumab.
    """
    return pregnancy_since(record, now, settings) is not None


# --- dialysis (r3) ---------------------------------------------------------------------------------


def dialysis(record: PatientRecord, now: datetime, settings: RuleSettings) -> ConditionFact | None:
    """The Condition or Procedure that shows the patient is on dialysis (the most recent), or None.

    rules.md "Dialysis (r3)": "an active Condition of dependence on dialysis (ICD-10-CM Z99.2, Z49.31,
    Z49.32; WHO ICD-10 Z49.1, Z49.2, Z99.2; SNOMED CT 105502003, 236435004, 714152005, and their
    descendants) or a dialysis Procedure within 92 days (SNOMED CT 108241001 and its descendants).
    End-stage kidney disease alone is not dialysis."
    """
    found = [
        c
        for c in record.conditions
        if c.problem is Problem.DIALYSIS
        and _procedure_or_active(c, now, settings.dialysis_procedure_window_days)
    ]
    return max(found, key=lambda c: (c.onset is not None, c.onset or date.min)) if found else None


def on_dialysis(record: PatientRecord, now: datetime, settings: RuleSettings) -> bool:
    """rules.md "Dialysis (r3)": see :func:`dialysis`. "A patient on dialysis has renal function that is
    known and below every renal threshold in this file, whatever the latest value, and the card says "on
    dialysis"; a rule that says "eGFR" still uses eGFR alone."
    """
    return dialysis(record, now, settings) is not None


def renal_function_below(
    record: PatientRecord, now: datetime, settings: RuleSettings, threshold: float, window_days: int
) -> bool:
    """Renal function (window ``window_days``) below ``threshold``, or on dialysis (always below)."""
    if on_dialysis(record, now, settings):
        return True
    renal = renal_function(record, now, window_days, settings)
    return renal is not None and renal.value < threshold


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


def _albumin_corrected(
    record: PatientRecord, ca: Measurement, now: datetime, s: RuleSettings
) -> SerumCalcium:
    """A total calcium corrected with the nearest serum albumin collected within 24 hours (r3)."""
    assert ca.value is not None
    window = timedelta(hours=s.albumin_window_hours)
    near = [
        m
        for m in record.measurements
        if m.lab is Lab.ALBUMIN
        and m.value is not None
        and m.at.date() <= now.date()
        and abs(m.at - ca.at) <= window
    ]
    if not near:
        return SerumCalcium(ca.value, ca.value, ca.at, None)
    albumin = min(near, key=lambda m: (abs(m.at - ca.at), -m.at.timestamp())).value
    assert albumin is not None
    corrected = ca.value + s.albumin_correction_mmol_per_g * (s.albumin_reference_g_per_l - albumin)
    return SerumCalcium(round(corrected, 3), ca.value, ca.at, albumin)


def serum_calcium(
    record: PatientRecord, now: datetime, settings: RuleSettings, window_days: int | None = None
) -> SerumCalcium | None:
    """Latest **total** serum calcium, albumin-corrected.

    rules.md "Serum calcium" (r3): "total calcium (LOINC 17861-6, 2000-8), albumin-corrected with the
    nearest serum albumin (1751-7) collected within 24 hours: corrected = measured + 0.02 × (40 − albumin
    in g/L) mmol/L; otherwise as measured." Ionised calcium is never read here: see
    :func:`calcium_status`, which decides between the two kinds.
    """
    ca = latest(record, Lab.CALCIUM, now, window_days)
    if ca is None or ca.value is None:
        return None
    return _albumin_corrected(record, ca, now, settings)


def _latest_valued(record: PatientRecord, lab: Lab, now: datetime, window_days: int) -> Measurement | None:
    m = latest(record, lab, now, window_days)
    return m if m is not None and m.value is not None else None


def calcium_status(
    record: PatientRecord, now: datetime, settings: RuleSettings, window_days: int | None = None
) -> CalciumStatus | None:
    """The calcium result that decides, and whether it is low, severely low, high or critical.

    rules.md (r3): "Ionised calcium (1995-0, 12180-6 and the other ionised codes) is never corrected and
    never compared with the total-calcium limits: it has its own (low < 1.15, severe < 1.00, high > 1.32,
    critical > 1.60 mmol/L); the latest result of either kind decides, and on dialysis or with renal
    function < 30 an ionised result of the same day is preferred." "Hypocalcaemia: the latest calcium
    within 30 days is below its low limit (total, corrected: 2.15 mmol/L; ionised: 1.15); severe below
    1.90 (total) or 1.00 (ionised). High calcium: above 2.60 (total) or 1.32 (ionised) within 92 days."
    Total critical is ``severe_hypercalcemia_mmol_per_l`` (3.00, ``hypercalcemia-on-therapy``).

    The latest result is read within ``window_days`` (default: the longer of the hypocalcaemia and
    high-calcium windows); each flag holds only when that result is also within its own window.
    """
    s = settings
    window = (
        window_days
        if window_days is not None
        else max(s.hypocalcaemia_window_days, s.hypercalcemia_window_days)
    )
    total = _latest_valued(record, Lab.CALCIUM, now, window)
    ionised = _latest_valued(record, Lab.IONISED_CALCIUM, now, window)
    decides: SerumCalcium
    if ionised is not None and (total is None or ionised.at > total.at):
        decides = _ionised(ionised)
    elif total is not None:
        decides = _albumin_corrected(record, total, now, s)
        if ionised is not None and ionised.at.date() == total.at.date() and _prefers_ionised(record, now, s):
            decides = _ionised(ionised)
    else:
        return None
    v = decides.value
    in_low = within(decides.at, now, s.hypocalcaemia_window_days)
    in_high = within(decides.at, now, s.hypercalcemia_window_days)
    if decides.ionised:
        low_at, severe_at = s.ionised_low_calcium_mmol_per_l, s.ionised_severe_low_calcium_mmol_per_l
        high_at, critical_at = s.ionised_high_calcium_mmol_per_l, s.ionised_critical_calcium_mmol_per_l
    else:
        low_at, severe_at = s.low_calcium_mmol_per_l, s.severe_low_calcium_mmol_per_l
        high_at, critical_at = s.hypercalcemia_mmol_per_l, s.severe_hypercalcemia_mmol_per_l
    return CalciumStatus(
        calcium=decides,
        low=in_low and v < low_at,
        severe=in_low and v < severe_at,
        high=in_high and v > high_at,
        critical=in_high and v > critical_at,
    )


def _ionised(m: Measurement) -> SerumCalcium:
    assert m.value is not None
    return SerumCalcium(m.value, m.value, m.at, None, ionised=True)


def _prefers_ionised(record: PatientRecord, now: datetime, s: RuleSettings) -> bool:
    if on_dialysis(record, now, s):
        return True
    renal = renal_function(record, now, s.renal_function_window_days, s)
    return renal is not None and renal.value < s.ionised_calcium_preferred_renal_below


def hypocalcaemia(record: PatientRecord, now: datetime, settings: RuleSettings) -> CalciumStatus | None:
    """rules.md "Hypocalcaemia (r3)": the latest calcium within 30 days is below its low limit.

    The status (``severe`` set below 1.90 total / 1.00 ionised), or None when there is no hypocalcaemia.
    """
    status = calcium_status(record, now, settings)
    return status if status is not None and status.low else None


def high_calcium(record: PatientRecord, now: datetime, settings: RuleSettings) -> CalciumStatus | None:
    """rules.md "High calcium": the latest calcium, within 92 days, above 2.60 (total) or 1.32 (ionised)."""
    status = calcium_status(record, now, settings)
    return status if status is not None and status.high else None


def vitamin_d_25oh(
    record: PatientRecord, now: datetime, settings: RuleSettings, window_days: int | None = None
) -> Measurement | None:
    """The latest 25-OH vitamin D (ng/mL) within ``window_days`` (default 365).

    rules.md (r3): "25-OH vitamin D is the total (62292-8; 1989-3 and 14635-7 are D3 only and count only
    when no total exists that day and no ergocalciferol is active)." The record has one concept,
    ``Lab.VITAMIN_D``, and no D3-only concept nor an ergocalciferol class, so the D3-only rule cannot be
    applied here: whatever the mapping files under ``Lab.VITAMIN_D`` is read as the total.
    """
    window = window_days if window_days is not None else settings.vitamin_d_window_days
    return _latest_valued(record, Lab.VITAMIN_D, now, window)


def vitamin_d_low(record: PatientRecord, now: datetime, settings: RuleSettings) -> Measurement | None:
    """25-OH vitamin D within 365 days below 20 ng/mL with no native vitamin D active (the value, or None).

    rules.md: "latest 25-OH vitamin D within 365 days is < 20 ng/mL with no native vitamin D active"
    (calcitriol and alfacalcidol do not replete 25-OH vitamin D).
    """
    d = vitamin_d_25oh(record, now, settings)
    if d is None or d.value is None or d.value >= settings.vitamin_d_deficient_ng_per_ml:
        return None
    return None if active(record, DrugClass.NATIVE_VITAMIN_D) else d


def _ckd_epi_2021(creatinine_mg_per_dl: float, age: int, male: bool) -> float:
    """CKD-EPI 2021 (race-free) eGFR, mL/min/1.73 m²."""
    kappa, alpha = (0.9, -0.302) if male else (0.7, -0.241)
    ratio = creatinine_mg_per_dl / kappa
    egfr_value = 142 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938**age
    return egfr_value if male else egfr_value * 1.012


def _computed(record: PatientRecord, now: datetime, cr: Measurement, s: RuleSettings) -> RenalFunction | None:
    """Cockcroft–Gault from ``cr`` and the latest weight within 365 days, else the CKD-EPI 2021 eGFR."""
    age = record.patient.age_on(now.date())
    if cr.value is None or cr.value <= 0 or age is None:
        return None
    sex = record.patient.sex
    male = sex is Sex.MALE
    weight = latest(record, Lab.BODY_WEIGHT, now, s.body_weight_window_days)
    if weight is None or weight.value is None or weight.value <= 0:
        value = _ckd_epi_2021(cr.value, age, male)
        inputs = CkdEpiInputs(cr.value, cr.at.date(), age, sex)
        return RenalFunction(round(value, 1), RenalMeasure.CKD_EPI_COMPUTED, cr.at, egfr_inputs=inputs)
    crcl = (140 - age) * weight.value / (72 * cr.value)
    if not male:
        crcl *= 0.85
    cg = CockcroftGaultInputs(cr.value, cr.at.date(), weight.value, weight.at.date(), age, sex)
    return RenalFunction(round(crcl, 1), RenalMeasure.COCKCROFT_GAULT, cr.at, inputs=cg)


def cockcroft_gault(
    record: PatientRecord, now: datetime, window_days: int, settings: RuleSettings | None = None
) -> RenalFunction | None:
    """The computed renal function (c) from the latest serum creatinine within the window.

    rules.md (r3): "the Cockcroft–Gault creatinine clearance computed from the latest serum creatinine
    within W, the latest body weight within 365 days, age and sex: (140 − age) × weight in kg / (72 ×
    creatinine in mg/dL), × 0.85 unless male ... With a creatinine but no weight, the CKD-EPI 2021 eGFR
    computed from creatinine, age and sex stands in for (c), and the card says "no weight recorded"."
    None without a creatinine or a birth date.
    """
    s = _or_defaults(settings)
    cr = latest(record, Lab.CREATININE, now, window_days)
    return None if cr is None else _computed(record, now, cr, s)


def renal_function(
    record: PatientRecord, now: datetime, window_days: int, settings: RuleSettings | None = None
) -> RenalFunction | None:
    """rules.md "Renal function" (for a rule with window W), revision 3.

    "The lowest of (a) the latest creatinine clearance (mL/min) dated within W, (b) the latest eGFR
    (mL/min/1.73 m²) dated within W and (c) the Cockcroft–Gault creatinine clearance computed from the
    latest serum creatinine within W, the latest body weight within 365 days, age and sex ... Only values
    dated within 7 days of the most recent renal result within W are compared (an old value from an acute
    illness does not outrank yesterday's). With a creatinine but no weight, the CKD-EPI 2021 eGFR computed
    from creatinine, age and sex stands in for (c) ... None if none exists."

    The value that did not decide and is next-lowest is kept as ``other`` for the card to quote. A rule
    that says "eGFR" uses :func:`egfr`; dialysis is :func:`on_dialysis` (rules decide on both).
    """
    s = _or_defaults(settings)
    candidates: list[RenalFunction] = []
    crcl = latest(record, Lab.CREATININE_CLEARANCE, now, window_days)
    if crcl is not None and crcl.value is not None:
        candidates.append(RenalFunction(crcl.value, RenalMeasure.CRCL, crcl.at))
    reported_egfr = latest(record, Lab.EGFR, now, window_days)
    if reported_egfr is not None and reported_egfr.value is not None:
        candidates.append(RenalFunction(reported_egfr.value, RenalMeasure.EGFR, reported_egfr.at))
    computed = cockcroft_gault(record, now, window_days, s)
    if computed is not None:
        candidates.append(computed)
    if not candidates:
        return None
    newest = max(c.at.date() for c in candidates)
    compared = [c for c in candidates if (newest - c.at.date()).days <= s.renal_values_compared_days]
    ranked = sorted(compared, key=lambda r: r.value)  # stable: CrCl, eGFR, computed on a tie
    lowest = ranked[0]
    return replace(lowest, other=ranked[1]) if len(ranked) > 1 else lowest


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


def fragility_t_score(record: PatientRecord, now: datetime) -> Measurement | None:
    """The T-score of the latest DXA examination that may define bone fragility (r3), or None.

    rules.md: "the lowest T-score of the latest DXA examination (the latest date with a T-score at any of
    these sites) at lumbar spine, hip or femur ... a forearm T-score (38265-5) ≤ −2.5 counts only when no
    spine, hip or femur T-score exists that day." The examination is the latest day with a T-score at
    spine, hip, femur or forearm (``BmdSite.OTHER``); its lowest central T-score, else its lowest forearm
    one. The age limit is :func:`bone_fragility`'s.
    """
    scores = [
        m
        for m in record.measurements
        if m.lab is Lab.T_SCORE and m.site is not None and m.value is not None and m.at.date() <= now.date()
    ]
    if not scores:
        return None
    exam_day = max(m.at.date() for m in scores)
    that_day = [m for m in scores if m.at.date() == exam_day]
    central = [m for m in that_day if m.site in FRAGILITY_SITES]
    return min(central or that_day, key=lambda m: m.value if m.value is not None else 0.0)


def _age_at(record: PatientRecord, day: date) -> int | None:
    return record.patient.age_on(day)


def _at_least(record: PatientRecord, day: date, years: int) -> bool:
    """Aged ``years`` or more on ``day``; an unknown birth date counts (as for the adult exclusion)."""
    age = _age_at(record, day)
    return age is None or age >= years


def fragility_fractures(
    record: PatientRecord, settings: RuleSettings | None = None
) -> tuple[ConditionFact, ...]:
    """The fracture Conditions that define bone fragility, whatever their clinical status.

    rules.md: "a fragility (osteoporotic) fracture Condition ..., whatever its clinicalStatus ...;
    (r3) a hip (ICD-10 S72.0–S72.2) or vertebral (S22.0, S32.0, M48.5) fracture, whatever its
    clinicalStatus, with onset (else recordedDate) at age ≥ 50." A hip or vertebral fracture with no date
    does not count (its age is unknown); an unknown birth date counts. The history code Z87.310 is not here: it defines BF but is never
    a dated fracture (see :func:`bone_fragility`).
    """
    s = _or_defaults(settings)
    found: list[ConditionFact] = []
    for c in record.conditions:
        if c.problem is Problem.FRAGILITY_FRACTURE or (
            c.problem is Problem.HIP_OR_VERTEBRAL_FRACTURE
            and c.onset is not None
            and _at_least(record, c.onset, s.fragility_min_age_years)
        ):
            found.append(c)
    return tuple(found)


def bone_fragility(
    record: PatientRecord, now: datetime, settings: RuleSettings | None = None
) -> BoneFragility | None:
    """rules.md "Bone fragility (BF)", revision 3.

    "Any of: a Condition of osteoporosis; a fragility (osteoporotic) fracture Condition, whatever its
    clinicalStatus, and ICD-10-CM Z87.310 (personal history of healed osteoporosis fracture); (r3) a hip or
    vertebral fracture, whatever its clinicalStatus, with onset (else recordedDate) at age ≥ 50 (the card
    says "confirm it was a low-trauma fracture"); at age ≥ 50 only, the lowest T-score of the latest DXA
    examination ... is ≤ −2.5 ...; a forearm T-score ≤ −2.5 counts only when no spine, hip or femur
    T-score exists that day; any anti-osteoporosis drug ever."

    With its evidence: the earliest onset of an active osteoporosis Condition, the latest onset of a
    fracture that defines BF (Z87.310 has none: it is never a recent fracture), the low T-score, and the
    most recent anti-osteoporosis drug on the chart ("any drug ever": a draft order is not yet an
    exposure; oncology regimens are not treatment). An unknown birth date does not hide a T-score.
    """
    s = _or_defaults(settings)
    reasons: list[FragilityReason] = []
    osteoporosis_since: date | None = None
    fracture_on: date | None = None
    if record.has_problem(Problem.OSTEOPOROSIS):
        reasons.append(FragilityReason.OSTEOPOROSIS)
        osteoporosis_since = _earliest(_onsets(record, Problem.OSTEOPOROSIS, active_only=True))
    fractures = fragility_fractures(record, s)
    healed = record.has_problem(Problem.HEALED_FRAGILITY_FRACTURE, active_only=False)
    if fractures or healed:
        reasons.append(FragilityReason.FRAGILITY_FRACTURE)
        fracture_on = _latest([c.onset for c in fractures if c.onset is not None])
    t = fragility_t_score(record, now)
    low_t = None
    if (
        t is not None
        and t.value is not None
        and t.value <= FRAGILITY_T_SCORE
        and _at_least(record, now.date(), s.fragility_min_age_years)
    ):
        reasons.append(FragilityReason.T_SCORE)
        low_t = TScore(t.value, t.site, t.at.date())
    drug, drug_on = None, None
    anti_op = [
        m for m in record.medications if ANTI_OSTEOPOROSIS & m.classes and not _oncology(m) and m.is_exposure
    ]
    if anti_op:
        reasons.append(FragilityReason.ANTI_OSTEOPOROSIS_DRUG)
        dated = [m for m in anti_op if m.at is not None]
        newest = max(dated, key=lambda m: m.at or now) if dated else anti_op[-1]
        drug, drug_on = newest.name, (newest.at.date() if newest.at is not None else None)
    if not reasons:
        return None
    return BoneFragility(
        tuple(reasons),
        osteoporosis_since,
        fracture_on,
        low_t,
        drug,
        drug_on,
        confirm_low_trauma=any(c.problem is Problem.HIP_OR_VERTEBRAL_FRACTURE for c in fractures),
    )


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


def _oncology(m: MedicationExposure) -> bool:
    return bool(ONCOLOGY_REGIMENS & m.classes)


_DOSE_KINDS = frozenset({ExposureKind.ADMINISTRATION, ExposureKind.STATEMENT, ExposureKind.DISPENSE})
_NOT_A_DOSE = frozenset({"entered-in-error", "not-done", "not-taken", "cancelled", "declined", "stopped"})
_ORDER_DOSE_STATUSES = frozenset({"active", "on-hold", "completed", "stopped"})


def _denosumab(record: PatientRecord) -> list[MedicationExposure]:
    """Chart denosumab (60 mg, osteoporosis): oncology denosumab (120 mg) never counts."""
    return [m for m in record.medications if DrugClass.DENOSUMAB in m.classes and not _oncology(m)]


def denosumab_doses(record: PatientRecord, now: datetime) -> tuple[date, ...]:
    """The dates that stand for a denosumab dose, oldest first (rules.md "Denosumab last dose D (r3)").

    "The latest date of a denosumab administration: a MedicationAdministration, a MedicationStatement
    (active/completed, with effective[x]) or a MedicationDispense. A MedicationRequest's authoredOn stands
    for a dose only when the chart holds no administration, statement or dispense of denosumab at all
    (EHRs that record only orders)." Oncology denosumab (120 mg) never counts; nothing after today does.
    """
    chart = _denosumab(record)
    recorded = [m for m in chart if m.kind in _DOSE_KINDS and m.status != "entered-in-error"]
    if recorded:
        doses = [
            m
            for m in recorded
            if m.status not in _NOT_A_DOSE
            and (m.kind is not ExposureKind.STATEMENT or m.status in ("active", "completed"))
        ]
    else:
        doses = [m for m in chart if m.kind is ExposureKind.REQUEST and m.status in _ORDER_DOSE_STATUSES]
    return tuple(sorted({m.at.date() for m in doses if m.at is not None and m.at.date() <= now.date()}))


def denosumab_last_dose(record: PatientRecord, now: datetime) -> date | None:
    """D (r3): the latest date that stands for a denosumab dose (see :func:`denosumab_doses`)."""
    doses = denosumab_doses(record, now)
    return doses[-1] if doses else None


def denosumab_first_dose(record: PatientRecord, now: datetime) -> date | None:
    """The first recorded denosumab dose (the same dose dates as D), for "sequenced" (r3)."""
    doses = denosumab_doses(record, now)
    return doses[0] if doses else None


def denosumab_orders_after_last_dose(record: PatientRecord, now: datetime) -> tuple[MedicationExposure, ...]:
    """Denosumab orders dated after D: a renewed order is not a dose (r3).

    The card mentions it: "order of 2026-10-15, no administration recorded".
    """
    last = denosumab_last_dose(record, now)
    if last is None:
        return ()
    return tuple(
        m
        for m in _denosumab(record)
        if m.kind is ExposureKind.REQUEST and m.at is not None and last < m.at.date() <= now.date()
    )


def denosumab_stopped(record: PatientRecord, now: datetime) -> bool:
    """rules.md "Stopped" (r3).

    "Either (a) no active denosumab order (MedicationRequest active or on-hold) and the latest denosumab
    MedicationRequest (by authoredOn) has status stopped or cancelled, or (b) the latest denosumab
    MedicationStatement (by effective[x], else dateAsserted) has status stopped or not-taken and is dated
    after every denosumab order, even one still open (the patient's report is the newest word). A
    MedicationRequest completed is not a decision to stop."
    """
    chart = _denosumab(record)
    requests = [m for m in chart if m.kind is ExposureKind.REQUEST and m.status != "entered-in-error"]
    open_order = any(m.status in ("active", "on-hold") for m in requests)
    if requests and not open_order:
        newest = max(
            requests, key=lambda m: (m.at is not None, m.at or datetime.min.replace(tzinfo=now.tzinfo))
        )
        if newest.status in ("stopped", "cancelled"):
            return True
    statements = [
        (when, m)
        for m in chart
        if m.kind is ExposureKind.STATEMENT and m.status != "entered-in-error"
        for when in [m.at or m.asserted]
        if when is not None
    ]
    if not statements:
        return False
    when, newest_statement = max(statements, key=lambda pair: pair[0])
    if newest_statement.status not in ("stopped", "not-taken"):
        return False
    return all(m.at is None or m.at.date() < when.date() for m in requests)


def denosumab_continuing(record: PatientRecord, now: datetime) -> bool:
    """rules.md "Continuing": "not stopped (an active order, or no order status that says otherwise)"."""
    return not denosumab_stopped(record, now)


def _bisphosphonate(m: MedicationExposure) -> bool:
    return DrugClass.BISPHOSPHONATE in m.classes and not _oncology(m) and m.status != "entered-in-error"


def _order_or_statement(m: MedicationExposure) -> bool:
    return m.kind in (ExposureKind.REQUEST, ExposureKind.STATEMENT)


def sequenced_after(record: PatientRecord, last_dose: date, now: datetime | None = None) -> bool:
    """rules.md "Sequenced" (r3).

    "A bisphosphonate exposure or draft order dated after D, or (r3) an active bisphosphonate order or
    statement dated after the first recorded denosumab dose." Zoledronic acid 4 mg (oncology) never
    counts. The first dose is read as of ``now`` (default: every dose recorded).
    """
    for m in (*record.medications, *record.drafts):
        if not _bisphosphonate(m) or not m.is_exposure:
            continue
        if m.draft or (m.at is not None and m.at.date() > last_dose):
            return True
    first = _first_dose_on_record(record, now)
    if first is None:
        return False
    return any(
        _bisphosphonate(m)
        and m.active
        and _order_or_statement(m)
        and m.at is not None
        and m.at.date() > first
        for m in record.medications
    )


def _first_dose_on_record(record: PatientRecord, now: datetime | None) -> date | None:
    return denosumab_first_dose(record, now if now is not None else datetime.max)


def bisphosphonate_orders_before_denosumab(
    record: PatientRecord, now: datetime
) -> tuple[MedicationExposure, ...]:
    """Active bisphosphonate orders or statements dated before the first denosumab dose (r3).

    rules.md: "An active bisphosphonate order dated before that (the usual alendronate order left open
    when a patient switched to denosumab) does not count: the card names it ("alendronate order of
    2016-05-02 still open: confirm whether it is taken") and ... does not offer that drug."
    """
    first = denosumab_first_dose(record, now)
    if first is None:
        return ()
    return tuple(
        m
        for m in record.medications
        if _bisphosphonate(m)
        and m.active
        and _order_or_statement(m)
        and m.at is not None
        and m.at.date() < first
    )


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


def drafts_about(finding: Finding[Any], record: PatientRecord) -> frozenset[str]:
    """The draft orders an order-time finding is about (``MedicationRequest/abc``): those it deletes, and
    the drafts its orders name. The pregnancy card's precedence and the feedback on a draft use it."""
    about = set(finding.delete_drafts)
    orders = getattr(finding.facts, "orders", None)
    if isinstance(orders, DrugOrders) and not orders.from_chart:
        about |= {d.source for d in record.drafts if d.name in orders.names}
    return frozenset(about)


def sources(exposures: Sequence[MedicationExposure]) -> tuple[str, ...]:
    """The relative references of draft orders (``MedicationRequest/abc``), for delete suggestions."""
    return tuple(m.source for m in exposures)


# --- ordered, not yet resulted (r3) ---------------------------------------------------------------


def ordered_not_resulted(
    record: PatientRecord,
    lab: Lab | frozenset[Lab],
    now: datetime,
    interval_days: int,
    settings: RuleSettings,
) -> TestOrder | None:
    """The pending order of a test, or None (rules.md "Ordered, not yet resulted (r3)").

    "A test with an active or completed ServiceRequest authored within its interval and within 92 days
    (an order older than that with no result is treated as lost) counts as addressed: it is not offered
    again and the card that would offer it says "ordered on …, no result yet"." ``lab`` is the test, or a
    set of concepts that are the same test (a calcium result of either kind; any BMD result); a result
    dated on or after the order's day resolves it. The most recent such order.
    """
    wanted = lab if isinstance(lab, frozenset) else frozenset({lab})
    window = min(interval_days, settings.test_order_window_days)
    pending = [
        o
        for o in record.test_orders
        if o.lab in wanted
        and o.status in ("active", "completed")
        and o.authored is not None
        and within(o.authored, now, window)
        and not any(
            m.lab in wanted and o.authored.date() <= m.at.date() <= now.date() for m in record.measurements
        )
    ]
    return max(pending, key=lambda o: o.authored or now) if pending else None


# --- the drug guard (r3, "Bisphosphonate suitability") -------------------------------------------

_ALENDRONATE_NAMES = ("alendron", "fosamax", "binosto", "阿仑膦酸", "福善美", "福美加")
_ALENDRONATE_CODES = frozenset({"46041", "M05BA04", "M05BB03", "M05BB05"})  # RxNorm ingredient, ATC


def _is_alendronate(m: MedicationExposure) -> bool:
    if DrugClass.BISPHOSPHONATE not in m.classes or DrugClass.BISPHOSPHONATE_IV in m.classes:
        return False
    if m.coding is not None and m.coding.code in _ALENDRONATE_CODES:
        return True
    text = " ".join(t for t in (m.name, m.coding.display if m.coding else None) if t).lower()
    return any(n in text for n in _ALENDRONATE_NAMES)


def _same_ingredient(m: MedicationExposure, drug: Proposal) -> bool:
    if _oncology(m):
        return False
    if drug is Proposal.ZOLEDRONIC_ACID_5MG_IV:
        return DrugClass.ZOLEDRONIC_ACID in m.classes
    return _is_alendronate(m)


def already_taken(record: PatientRecord, drug: Proposal) -> tuple[MedicationExposure, ...]:
    """Active chart orders (or statements) of the same ingredient as ``drug`` (rules.md "No
    contradictions": "An order a card offers is never a drug the patient already takes (an active order of
    the same ingredient)"). Alendronate is recognised by its name or code: the record has no class of its
    own for it.
    """
    return tuple(m for m in record.medications if m.active and _same_ingredient(m, drug))


def oncology_regimen(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> MedicationExposure | None:
    """An oncology regimen (denosumab 120 mg, zoledronic acid 4 mg) active or given within 365 days (r3).

    rules.md: "while one is active or was given within 365 days, no card offers a bisphosphonate or
    denosumab and osteoporosis-untreated does not fire". The most recent one.
    """
    found = [
        m
        for m in record.medications
        if _oncology(m)
        and (m.active or (m.at is not None and within(m.at, now, settings.oncology_regimen_window_days)))
    ]
    return max(found, key=lambda m: (m.at is not None, m.at or datetime.min)) if found else None


_BISPHOSPHONATE_ALLERGY: dict[Proposal, frozenset[DrugClass]] = {
    Proposal.ZOLEDRONIC_ACID_5MG_IV: frozenset(
        {DrugClass.BISPHOSPHONATE, DrugClass.BISPHOSPHONATE_IV, DrugClass.ZOLEDRONIC_ACID}
    ),
    Proposal.ALENDRONATE_70MG_WEEKLY: frozenset({DrugClass.BISPHOSPHONATE}),
}


#: Names of the oral bisphosphonate ingredients (English and Chinese, brands too): an allergy that names one
#: of them names that ingredient, not the class.
_ORAL_BISPHOSPHONATE_NAMES = (
    *_ALENDRONATE_NAMES,
    "risedron",
    "actonel",
    "利塞膦酸",
    "ibandron",
    "boniva",
    "bonviva",
    "伊班膦酸",
)


def _allergy_names(allergy: Allergy, drug: Proposal) -> bool:
    """rules.md: "an active, non-refuted AllergyIntolerance names the drug or its class". An allergy to
    zoledronic acid names zoledronic acid; one whose name is an oral ingredient (alendronate, risedronate,
    ibandronate) names that ingredient; any other bisphosphonate allergy (the class, or a name not known)
    names the class and withholds both drugs."""
    if DrugClass.ZOLEDRONIC_ACID in allergy.classes:
        return drug is Proposal.ZOLEDRONIC_ACID_5MG_IV
    if DrugClass.BISPHOSPHONATE not in allergy.classes:
        return False
    text = (allergy.display or "").lower()
    if any(n in text for n in _ORAL_BISPHOSPHONATE_NAMES):
        return drug is Proposal.ALENDRONATE_70MG_WEEKLY and any(n in text for n in _ALENDRONATE_NAMES)
    return bool(allergy.classes & _BISPHOSPHONATE_ALLERGY[drug])


def bisphosphonate_withheld(
    record: PatientRecord, now: datetime, settings: RuleSettings, drug: Proposal
) -> tuple[WithholdReason, ...]:
    """Why the drug guard does not offer ``drug`` (zoledronic acid 5 mg IV or alendronate 70 mg); () when
    it may be offered (rules.md "Bisphosphonate suitability (r3)").

    "No bisphosphonate is offered when renal function (365 days) is below 35, on dialysis, or unknown
    (offer a serum creatinine/eGFR ServiceRequest instead); ... when hypocalcaemia is present, or (for
    zoledronic acid only; alendronate is offered with "start vitamin D with it") 25-OH vitamin D within
    365 days is < 20 ng/mL with no native vitamin D active ...; in pregnancy; when an anabolic or
    romosozumab is active; when an active, non-refuted AllergyIntolerance names the drug or its class;
    and ... after osteonecrosis of the jaw or an atypical femoral fracture (specialist advice)." "Oral
    alendronate is not offered to a patient who is bed-bound ... or has an oesophageal disorder". Oncology
    regimens (r3): "while one is active or was given within 365 days, no card offers a bisphosphonate".
    "An order a card offers is never a drug the patient already takes".

    Zoledronic acid with renal function ≥ 35 but none within 30 days is not withheld: it is offered with a
    creatinine test (see :func:`bisphosphonate_preparation_tests`). An allergy withholds the drug it names
    (an alendronate allergy withholds alendronate, not zoledronic acid), and both drugs when it names the
    class (see :func:`_allergy_names`). Osteonecrosis of the jaw and atypical
    femoral fracture count whatever their clinical status (a history).
    """
    reasons: list[WithholdReason] = []
    if on_dialysis(record, now, settings):
        reasons.append(WithholdReason.DIALYSIS)
    else:
        renal = renal_function(record, now, settings.renal_function_window_days, settings)
        if renal is None:
            reasons.append(WithholdReason.RENAL_UNKNOWN)
        elif renal.value < settings.bisphosphonate_min_renal_function:
            reasons.append(WithholdReason.RENAL_LOW)
    if hypocalcaemia(record, now, settings) is not None:
        reasons.append(WithholdReason.HYPOCALCAEMIA)
    if drug is Proposal.ZOLEDRONIC_ACID_5MG_IV and vitamin_d_low(record, now, settings) is not None:
        reasons.append(WithholdReason.VITAMIN_D_LOW)
    if pregnant(record, now, settings):
        reasons.append(WithholdReason.PREGNANCY)
    if active(record, DrugClass.ANABOLIC) or active(record, DrugClass.ROMOSOZUMAB):
        reasons.append(WithholdReason.ANABOLIC_ACTIVE)
    if any(_allergy_names(a, drug) for a in record.allergies):
        reasons.append(WithholdReason.ALLERGY)
    if record.has_problem(Problem.JAW_OSTEONECROSIS, active_only=False):
        reasons.append(WithholdReason.JAW_OSTEONECROSIS)
    if record.has_problem(Problem.ATYPICAL_FEMORAL_FRACTURE, active_only=False):
        reasons.append(WithholdReason.ATYPICAL_FEMORAL_FRACTURE)
    if drug is Proposal.ALENDRONATE_70MG_WEEKLY:
        if record.has_problem(Problem.BED_BOUND):
            reasons.append(WithholdReason.BED_BOUND)
        if record.has_problem(Problem.OESOPHAGEAL_DISORDER):
            reasons.append(WithholdReason.OESOPHAGEAL_DISORDER)
    if oncology_regimen(record, now, settings) is not None:
        reasons.append(WithholdReason.ONCOLOGY_REGIMEN)
    if already_taken(record, drug):
        reasons.append(WithholdReason.ALREADY_TAKEN)
    return tuple(reasons)


def bisphosphonate_preparation_tests(
    record: PatientRecord, now: datetime, settings: RuleSettings, drug: Proposal
) -> tuple[Lab, ...]:
    """The tests the drug guard offers inside a suggestion of ``drug``, to prepare its first dose (r3).

    rules.md: zoledronic acid "needs renal function ≥ 35 within 30 days (if the latest within 365 days is
    ≥ 35 but none is within 30, it is offered together with a creatinine test in the same suggestion)";
    "the calcium and vitamin D tests that are missing: calcium if none within 30 days, 25-OH vitamin D if
    none within 365 days; a test that is merely missing does not withhold the drug, the card offers it
    beside the drug". A calcium of either kind is the calcium test.
    """
    tests: list[Lab] = []
    if drug is Proposal.ZOLEDRONIC_ACID_5MG_IV and not on_dialysis(record, now, settings):
        yearly = renal_function(record, now, settings.renal_function_window_days, settings)
        recent = renal_function(record, now, settings.iv_bisphosphonate_renal_window_days, settings)
        if (
            yearly is not None
            and yearly.value >= settings.bisphosphonate_min_renal_function
            and recent is None
        ):
            tests.append(Lab.CREATININE)
    if not has_result(
        record, frozenset({Lab.CALCIUM, Lab.IONISED_CALCIUM}), now, settings.hypocalcaemia_window_days
    ):
        tests.append(Lab.CALCIUM)
    if not has_result(record, Lab.VITAMIN_D, now, settings.vitamin_d_window_days):
        tests.append(Lab.VITAMIN_D)
    return tuple(tests)
