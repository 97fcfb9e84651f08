"""Treatment gaps at patient-view (revision 3): osteoporosis in type 2 diabetes or obesity left untreated.

``osteoporosis-untreated`` (T2DM review sections 3 and 4): osteoporosis shown by a Condition, a fracture
that defines bone fragility or a low T-score, no anti-osteoporosis drug taken recently, none active and no
drug holiday; the card offers zoledronic acid or alendronate under the drug guard. It stays silent in
pregnancy, while an oncology regimen is active or recent, and while a denosumab card
(``denosumab-dose-due``, ``denosumab-sequencing-missing``) fires: those rules own that patient
(:mod:`service.rules.precedence` applies that last relation, after every rule ran).
"""

from __future__ import annotations

from datetime import date, datetime

from service.kernel.clinical import BoneFragility, FragilityReason, WithholdReason
from service.kernel.facts.treatment_gap import DrugHoliday, UntreatedFacts, Withheld
from service.kernel.findings import Finding, Indicator, Proposal, Topic
from service.kernel.record import (
    ANTI_OSTEOPOROSIS,
    ONCOLOGY_REGIMENS,
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
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    bisphosphonate_preparation_tests,
    bisphosphonate_withheld,
    bone_fragility,
    denosumab_last_dose,
    has_t2dm,
    high_calcium,
    latest,
    on_dialysis,
    oncology_regimen,
    pregnant,
    renal_function,
    vitamin_d_low,
    within,
)
from service.rules.drug_safety import guard_tests

#: The drugs the card may offer, first-line first (T2DM §3: bisphosphonates first).
OFFERS = (Proposal.ZOLEDRONIC_ACID_5MG_IV, Proposal.ALENDRONATE_70MG_WEEKLY)
#: The denosumab topics that own a patient whose denosumab course needs a decision (rules.md: "not while
#: denosumab-sequencing-missing or denosumab-dose-due fires").
_ORAL_COURSE_TAIL_DAYS = 30  # an oral course's length is last − first + 30 days (rules.md)
_OSTEOPOROSIS = (FragilityReason.OSTEOPOROSIS, FragilityReason.FRAGILITY_FRACTURE, FragilityReason.T_SCORE)


def _treatment(m: MedicationExposure) -> bool:
    """An anti-osteoporosis drug that counts as treatment: oncology regimens never do."""
    return bool(ANTI_OSTEOPOROSIS & m.classes) and not (ONCOLOGY_REGIMENS & m.classes)


def _exposure_days(m: MedicationExposure, now: datetime) -> tuple[date, ...]:
    """The days an exposure covers: a statement's effectivePeriod throughout (to now while active), else
    its one date. Nothing after today."""
    today = now.date()
    if m.kind is ExposureKind.STATEMENT and m.period_start is not None:
        end = m.period_end.date() if m.period_end is not None else (today if m.active else None)
        start = m.period_start.date()
        if end is None or end < start:
            return (start,) if start <= today else ()
        end = min(end, today)
        return (start, end) if start < end else (start,)
    if m.at is None or m.at.date() > today:
        return ()
    return (m.at.date(),)


def _last_day(m: MedicationExposure, now: datetime) -> date | None:
    days = _exposure_days(m, now)
    return max(days) if days else None


def recent_treatment(record: PatientRecord, now: datetime, settings: RuleSettings) -> bool:
    """rules.md (r3): "no anti-osteoporosis drug exposure within 365 days (zoledronic acid: 730 days, a yearly
    infusion that acts for years; denosumab: its last dose D within 730 days, order dates alone do not
    count)". True when such an exposure exists."""
    for m in record.medications:
        if not _treatment(m) or not m.is_exposure or DrugClass.DENOSUMAB in m.classes:
            continue
        last = _last_day(m, now)
        if last is None:
            continue
        window = (
            settings.untreated_zoledronic_acid_window_days
            if DrugClass.ZOLEDRONIC_ACID in m.classes
            else settings.untreated_exposure_window_days
        )
        if within(last, now, window):
            return True
    d = denosumab_last_dose(record, now)
    return d is not None and within(d, now, settings.untreated_denosumab_window_days)


def active_treatment(record: PatientRecord, now: datetime, settings: RuleSettings) -> bool:
    """rules.md: "none active (an open denosumab order whose last dose D is more than 730 days old does not
    count as active)"."""
    for m in record.medications:
        if not (_treatment(m) and m.active):
            continue
        if DrugClass.DENOSUMAB in m.classes:
            d = denosumab_last_dose(record, now)
            if d is None or not within(d, now, settings.untreated_denosumab_window_days):
                continue
        return True
    return False


def _courses(days: list[date], gap: int) -> list[list[date]]:
    courses: list[list[date]] = []
    for day in sorted(set(days)):
        if courses and (day - courses[-1][-1]).days <= gap:
            courses[-1].append(day)
        else:
            courses.append([day])
    return courses


def drug_holiday(record: PatientRecord, now: datetime, settings: RuleSettings) -> DrugHoliday | None:
    """rules.md (r3) "drug holiday": "a bisphosphonate course that ended within 5 years after ≥ 3 years of
    zoledronic acid or ≥ 5 years of an oral one (a zoledronic acid course is infusions no more than 456 days
    apart, its years the number of infusions; an oral course is exposures with gaps ≤ 92 days, a statement's
    period counting as exposure throughout, its length last − first + 30 days ...; infusions are counted by
    distinct date)". The most recent such course; it ended on its last exposure.

    An oral course is read as daily exposure within a statement's period, so gaps are measured between the
    ends of one record and the start of the next.
    """
    s = settings
    found: list[DrugHoliday] = []
    bisphosphonates = [m for m in record.medications if _treatment(m) and m.is_exposure]
    zoledronic = [m for m in bisphosphonates if DrugClass.ZOLEDRONIC_ACID in m.classes]
    infusion_days = [d for m in zoledronic for d in _exposure_days(m, now)]
    for course in _courses(infusion_days, s.zoledronic_acid_course_gap_days):
        if len(course) >= s.drug_holiday_zoledronic_acid_infusions and within(
            course[-1], now, s.drug_holiday_window_days
        ):
            found.append(DrugHoliday(zoledronic[0].name, course[-1], infusions=len(course)))
    oral = [
        m
        for m in bisphosphonates
        if DrugClass.BISPHOSPHONATE in m.classes and DrugClass.BISPHOSPHONATE_IV not in m.classes
    ]
    spans = sorted((min(days), max(days), m.name) for m in oral for days in [_exposure_days(m, now)] if days)
    merged: list[tuple[date, date, str]] = []
    for start, end, name in spans:
        if merged and (start - merged[-1][1]).days <= s.oral_bisphosphonate_course_gap_days:
            first, last, first_name = merged[-1]
            merged[-1] = (first, max(last, end), first_name)
        else:
            merged.append((start, end, name))
    for first, last, name in merged:
        length = (last - first).days + _ORAL_COURSE_TAIL_DAYS
        if length >= s.drug_holiday_oral_days and within(last, now, s.drug_holiday_window_days):
            found.append(DrugHoliday(name, last, days=length))
    return max(found, key=lambda h: h.ended) if found else None


def _obesity(record: PatientRecord, now: datetime, settings: RuleSettings) -> Measurement | None:
    """Obesity as in ``obesity-bone-assessment``: the latest BMI (never computed) or waist within the window
    at or above the population profile's cut-off (the waist only for a patient recorded female or male)."""
    window = settings.obesity_window_days
    bmi = latest(record, Lab.BMI, now, window)
    if bmi is not None and bmi.value is not None and bmi.value >= settings.bmi_obese:
        return bmi
    sex = record.patient.sex
    waist = latest(record, Lab.WAIST, now, window)
    if sex not in (Sex.FEMALE, Sex.MALE) or waist is None or waist.value is None:
        return None
    return waist if waist.value >= settings.waist_threshold_cm(female=sex is Sex.FEMALE) else None


def _osteoporosis(record: PatientRecord, now: datetime, settings: RuleSettings) -> BoneFragility | None:
    """Osteoporosis as rules.md's row reads it: bone fragility by a Condition, a fracture or a T-score (an
    anti-osteoporosis drug ever is not a reason here)."""
    bf = bone_fragility(record, now, settings)
    if bf is None or not any(r in _OSTEOPOROSIS for r in bf.reasons):
        return None
    return bf


def _woman_under(record: PatientRecord, now: datetime, years: int) -> bool:
    age = record.patient.age_on(now.date())
    return record.patient.sex is Sex.FEMALE and age is not None and age < years


def osteoporosis_untreated(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[UntreatedFacts] | None:
    """T2DM or obesity with osteoporosis and no anti-osteoporosis treatment: warning, critical after a recent
    fracture (rules.md "osteoporosis-untreated" (r3)).

    Silent in pregnancy, while an oncology regimen is active or given within its window (and, by
    :mod:`service.rules.precedence`, while a denosumab card fires), with an exposure in its window (see
    :func:`recent_treatment`), with a drug active (see :func:`active_treatment`), and during a drug holiday
    (:func:`drug_holiday`) unless a fragility fracture is dated after the course ended. The offers
    (zoledronic acid, alendronate) are each under the drug guard; a woman under 50 is offered none (a
    specialist's choice); with diabetic neuropathy zoledronic acid is the recommended one.
    """
    s = settings
    t2dm = has_t2dm(record)
    obesity = _obesity(record, now, s)
    if not t2dm and obesity is None:
        return None
    bf = _osteoporosis(record, now, s)
    if bf is None or pregnant(record, now, s) or oncology_regimen(record, now, s) is not None:
        return None
    if recent_treatment(record, now, s) or active_treatment(record, now, s):
        return None
    holiday = drug_holiday(record, now, s)
    if holiday is not None and (bf.fracture_on is None or bf.fracture_on <= holiday.ended):
        return None
    recent = bf.fracture_on is not None and within(bf.fracture_on, now, s.untreated_recent_fracture_days)
    specialist = _woman_under(record, now, s.untreated_specialist_age_years)
    offered: list[Proposal] = []
    withheld: list[Withheld] = []
    preparation: list[tuple[Proposal, tuple[Lab, ...]]] = []
    tests: tuple[Lab, ...] = ()
    if not specialist:
        all_reasons: list[WithholdReason] = []
        for drug in OFFERS:
            reasons = bisphosphonate_withheld(record, now, s, drug)
            if reasons:
                withheld.append(Withheld(drug, reasons))
                all_reasons += [r for r in reasons if r not in all_reasons]
                continue
            offered.append(drug)
            prepare = bisphosphonate_preparation_tests(record, now, s, drug)
            if prepare:
                preparation.append((drug, prepare))
        if not offered:
            missing = bisphosphonate_preparation_tests(record, now, s, Proposal.ALENDRONATE_70MG_WEEKLY)
            tests = guard_tests(all_reasons, missing)
    neuropathy = record.has_problem(Problem.DIABETIC_NEUROPATHY)
    recommended = (
        Proposal.ZOLEDRONIC_ACID_5MG_IV
        if neuropathy and len(offered) > 1 and Proposal.ZOLEDRONIC_ACID_5MG_IV in offered
        else None
    )
    facts = UntreatedFacts(
        fragility=bf,
        recent_fracture=recent,
        recent_fracture_days=s.untreated_recent_fracture_days,
        t2dm=t2dm,
        obesity=obesity,
        holiday=holiday,
        offered=tuple(offered),
        withheld=tuple(withheld),
        specialist=specialist,
        specialist_age=s.untreated_specialist_age_years,
        renal=renal_function(record, now, s.renal_function_window_days, s),
        dialysis=on_dialysis(record, now, s),
        low_vitamin_d=Proposal.ALENDRONATE_70MG_WEEKLY in offered
        and vitamin_d_low(record, now, s) is not None,
        high_calcium=high_calcium(record, now, s) is not None,
        neuropathy=neuropathy,
        renal_threshold=s.bisphosphonate_min_renal_function,
        kidney_calcium_threshold=s.denosumab_hypocalcemia_renal_threshold,
    )
    return Finding(
        Topic.OSTEOPOROSIS_UNTREATED,
        Indicator.CRITICAL if recent else Indicator.WARNING,
        facts,
        proposals=tuple(offered),
        preparation=tuple(preparation),
        recommended=recommended,
        lab_orders=tests,
    )


RULES: tuple[Rule, ...] = (Rule(Topic.OSTEOPOROSIS_UNTREATED, Moment.VIEW, osteoporosis_untreated),)
