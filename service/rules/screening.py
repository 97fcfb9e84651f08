"""Screening rules at patient-view (rules.md "Patient-view rules"): who needs a closer look at bone.

Four info cards, none time-bound: a T2DM phenotype with high fracture risk and no recent DXA, a fall-risk
assessment that is due, obesity that hides fracture risk, and untreated vitamin D deficiency.
Every threshold and window comes from :class:`RuleSettings`.

Revision 3: the phenotype from age 50; a DXA or fall-risk assessment ordered and not yet resulted keeps
its card quiet (the card's only finding is that missing result); no obesity card in pregnancy; the
vitamin D card is silent while ``hypercalcemia-on-therapy`` fires, and otherwise never advises calcium
with high calcium, nor more than the renal team advises with renal function below 30 or on dialysis
("No contradictions": decided here from the record, so each rule stays a pure function of it).
"""

from __future__ import annotations

from datetime import date, datetime

from service.kernel.clinical import RenalFunction
from service.kernel.facts.screening import (
    FallRiskFacts,
    ObesityFacts,
    Phenotype,
    PhenotypeFacts,
    PhenotypeKind,
    Population,
    VitaminDFacts,
)
from service.kernel.findings import Finding, Indicator, Order, Topic
from service.kernel.record import (
    BMD_RESULTS,
    DrugClass,
    Lab,
    Measurement,
    PatientRecord,
    Problem,
    Sex,
)
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    active,
    bone_fragility,
    days_since,
    egfr,
    has_result,
    has_t2dm,
    high_calcium,
    last_result,
    latest,
    on_dialysis,
    ordered_not_resulted,
    pregnant,
    renal_function,
    t2dm_onset,
)

#: The therapies of ``hypercalcemia-on-therapy`` (rules.md: "active calcium or vitamin D supplement or
#: anabolic"): with high calcium and one of them active, that card fires and the vitamin D card does not.
_HYPERCALCAEMIC = frozenset(
    {DrugClass.CALCIUM_SUPPLEMENT, DrugClass.NATIVE_VITAMIN_D, DrugClass.ACTIVE_VITAMIN_D, DrugClass.ANABOLIC}
)

LONG_DURATION = PhenotypeKind.LONG_DURATION
NEUROPATHY = PhenotypeKind.NEUROPATHY
HYPOGLYCAEMIA = PhenotypeKind.HYPOGLYCAEMIA
KIDNEY_DISEASE = PhenotypeKind.KIDNEY_DISEASE


def _onsets(record: PatientRecord, problem: Problem, *, active_only: bool) -> list[date | None]:
    return [c.onset for c in record.conditions if c.problem is problem and (c.active or not active_only)]


def _earliest(dates: list[date | None]) -> date | None:
    known = [d for d in dates if d is not None]
    return min(known) if known else None


def _latest_of(dates: list[date | None]) -> date | None:
    known = [d for d in dates if d is not None]
    return max(known) if known else None


def _completed_years(start: date, day: date) -> int:
    return day.year - start.year - ((day.month, day.day) < (start.month, start.day))


def _phenotypes(record: PatientRecord, now: datetime, settings: RuleSettings) -> tuple[Phenotype, ...]:
    found: list[Phenotype] = []
    onset = t2dm_onset(record)
    if onset is not None and days_since(onset, now) > settings.long_diabetes_days:
        found.append(Phenotype(LONG_DURATION, onset, years=_completed_years(onset, now.date())))
    neuropathy = _onsets(record, Problem.DIABETIC_NEUROPATHY, active_only=True)
    if neuropathy:
        found.append(Phenotype(NEUROPATHY, _earliest(neuropathy)))
    # "history of": a resolved hypoglycaemia episode still counts
    hypo = _onsets(record, Problem.HYPOGLYCAEMIA, active_only=False)
    if hypo:
        found.append(Phenotype(HYPOGLYCAEMIA, _latest_of(hypo)))
    dkd = _onsets(record, Problem.DIABETIC_KIDNEY_DISEASE, active_only=True)
    ckd = _onsets(record, Problem.CHRONIC_KIDNEY_DISEASE, active_only=True)
    if dkd or ckd:
        found.append(Phenotype(KIDNEY_DISEASE, _earliest(dkd + ckd), diabetic=bool(dkd)))
    return tuple(found)


def diabetic_fracture_risk_phenotype(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[PhenotypeFacts] | None:
    """T2DM with a high-fracture-risk phenotype (T2DM §1.4) and no BMD result in ``bmd_window_days``.

    Phenotypes: diabetes for more than ``long_diabetes_days`` (earliest onset, else recorded date, of any
    T2DM Condition), diabetic neuropathy, a history of hypoglycaemia (resolved episodes count), diabetic
    kidney disease. Reading: an active chronic kidney disease Condition in a patient with T2DM also counts
    as the kidney phenotype: the review's reason is CKD-MBD, which does not depend on the label, and EHRs
    often code the CKD stage (N18.4) apart from the diabetes; the card then says "chronic kidney disease".
    A BMD result is any DXA BMD, T-score or Z-score at any site (a forearm T-score counts).

    (r3) From age 50 (a setting; an unknown birth date does not hide the card, as for the other age limits
    of the shared definitions). A BMD result includes a DXA Procedure or DiagnosticReport (the mapping
    makes them BMD results). A DXA ordered and not yet resulted (an active or completed ServiceRequest
    within the window and within 92 days) keeps the card quiet: the DXA is its only offer.

    facts: :class:`PhenotypeFacts`.
    """
    if not has_t2dm(record):
        return None
    age = record.patient.age_on(now.date())
    if age is not None and age < settings.phenotype_min_age_years:
        return None
    if has_result(record, BMD_RESULTS, now, settings.bmd_window_days):
        return None
    if ordered_not_resulted(record, BMD_RESULTS, now, settings.bmd_window_days, settings) is not None:
        return None
    phenotypes = _phenotypes(record, now, settings)
    if not phenotypes:
        return None
    renal: RenalFunction | None = None
    if any(p.kind is KIDNEY_DISEASE for p in phenotypes):
        renal = egfr(record, now, settings.renal_function_window_days)
    return Finding(
        topic=Topic.DIABETIC_FRACTURE_RISK_PHENOTYPE,
        indicator=Indicator.INFO,
        facts=PhenotypeFacts(
            phenotypes, renal, last_result(record, BMD_RESULTS, now), settings.bmd_window_days
        ),
        service_orders=(Order.DXA,),
    )


def fall_risk_assessment_due(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[FallRiskFacts] | None:
    """T2DM and bone fragility, and no fall-risk assessment (Observation or Procedure) in the window.

    T2DM §2.1 asks for systematic fall screening in T2DM with osteoporosis; the 365-day interval is a
    *default*. (r3) An assessment ordered and not yet resulted keeps the card quiet.
    facts: :class:`FallRiskFacts`.
    """
    if not has_t2dm(record):
        return None
    fragility = bone_fragility(record, now)
    if fragility is None:
        return None
    if has_result(record, Lab.FALL_RISK_ASSESSMENT, now, settings.fall_risk_window_days):
        return None
    window = settings.fall_risk_window_days
    if ordered_not_resulted(record, Lab.FALL_RISK_ASSESSMENT, now, window, settings) is not None:
        return None
    return Finding(
        topic=Topic.FALL_RISK_ASSESSMENT_DUE,
        indicator=Indicator.INFO,
        facts=FallRiskFacts(
            fragility,
            last_result(record, Lab.FALL_RISK_ASSESSMENT, now),
            settings.fall_risk_window_days,
        ),
        service_orders=(Order.FALL_RISK_ASSESSMENT,),
    )


def _population(record: PatientRecord, now: datetime) -> Population | None:
    """T2DM and bone fragility, when the patient has either, else None."""
    t2dm = has_t2dm(record)
    fragility = bone_fragility(record, now)
    if not t2dm and fragility is None:
        return None
    return Population(t2dm, fragility)


def _value(m: Measurement | None) -> float | None:
    return None if m is None else m.value


def _waist_threshold(sex: Sex, settings: RuleSettings) -> float | None:
    """The profile's waist cut-off for a recorded female or male; none for unknown or other sex."""
    if sex not in (Sex.FEMALE, Sex.MALE):
        return None
    return settings.waist_threshold_cm(female=sex is Sex.FEMALE)


def obesity_bone_assessment(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[ObesityFacts] | None:
    """(T2DM or BF) with obesity by the latest BMI or waist within ``obesity_window_days``.

    BMI ≥ ``settings.bmi_obese`` (profile cn 28, who 30). The obesity review (OB §1) writes "BMI > 28";
    rules.md says ≥ 28 (China's adult standard), and rules.md wins. BMI is only ever read from a BMI
    Observation, never computed from weight and height. Waist ≥ the profile's threshold for the
    patient's sex (cn 90/85 cm, who 102/88 cm). Reading for sex: the female (lower) threshold applies
    only to a patient recorded as female, the male one only to a patient recorded as male; for sex
    unknown or other the waist criterion is skipped (no threshold is known) and BMI alone decides.

    (r3) Not in pregnancy: weight, BMI and waist are those of the pregnancy, and the card's advice is not
    for it.

    facts: :class:`ObesityFacts` (the latest BMI and waist within the window, or None).
    """
    if pregnant(record, now, settings):
        return None
    population = _population(record, now)
    if population is None:
        return None
    window = settings.obesity_window_days
    bmi = latest(record, Lab.BMI, now, window)
    bmi_value = _value(bmi)
    bmi_met = bmi_value is not None and bmi_value >= settings.bmi_obese
    waist = latest(record, Lab.WAIST, now, window)
    waist_value = _value(waist)
    waist_threshold = _waist_threshold(record.patient.sex, settings)
    waist_met = waist_value is not None and waist_threshold is not None and waist_value >= waist_threshold
    if not (bmi_met or waist_met):
        return None
    return Finding(
        topic=Topic.OBESITY_BONE_ASSESSMENT,
        indicator=Indicator.INFO,
        facts=ObesityFacts(
            population,
            bmi,
            waist,
            settings.bmi_obese,
            waist_threshold,
            bmi_met,
            waist_met,
            record.patient.sex,
            settings.population_profile,
        ),
    )


def vitamin_d_deficiency(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[VitaminDFacts] | None:
    """(T2DM or BF), latest 25-OH vitamin D within the window below the threshold, no native vitamin D.

    Only native vitamin D (cholecalciferol, ergocalciferol) repletes 25-OH vitamin D; an active
    calcitriol or alfacalcidol order does not silence the card (the card names it). No suggestion:
    a recheck belongs after repletion, not today (rules.md offers detail only). T2DM §2.3.

    (r3, "No contradictions") Not when ``hypercalcemia-on-therapy`` fires (high calcium with an active
    calcium or vitamin D supplement or anabolic). With high calcium otherwise, the card says to find the
    cause (PTH) first and advises no calcium supplement; with renal function (365 days) below 30 or on
    dialysis, calcium intake is as the renal team advises (KDIGO).

    facts: :class:`VitaminDFacts`.
    """
    population = _population(record, now)
    if population is None:
        return None
    level = latest(record, Lab.VITAMIN_D, now, settings.vitamin_d_window_days)
    if level is None or level.value is None or level.value >= settings.vitamin_d_deficient_ng_per_ml:
        return None
    if active(record, DrugClass.NATIVE_VITAMIN_D):
        return None
    high = high_calcium(record, now, settings)
    if high is not None and any(m.active and _HYPERCALCAEMIC & m.classes for m in record.medications):
        return None  # hypercalcemia-on-therapy fires: its advice (reduce supplements first) stands alone
    dialysis = on_dialysis(record, now, settings)
    renal = renal_function(record, now, settings.renal_function_window_days, settings)
    renal_team = dialysis or (renal is not None and renal.value < settings.renal_team_calcium_below)
    return Finding(
        topic=Topic.VITAMIN_D_DEFICIENCY,
        indicator=Indicator.INFO,
        facts=VitaminDFacts(
            population,
            level,
            tuple(m.name for m in active(record, DrugClass.ACTIVE_VITAMIN_D)),
            bool(active(record, DrugClass.CALCIUM_SUPPLEMENT)),
            settings.vitamin_d_deficient_ng_per_ml,
            high.calcium if high is not None else None,
            renal_team,
            renal if renal_team else None,
            dialysis,
        ),
    )


RULES: tuple[Rule, ...] = (
    Rule(Topic.DIABETIC_FRACTURE_RISK_PHENOTYPE, Moment.VIEW, diabetic_fracture_risk_phenotype),
    Rule(Topic.FALL_RISK_ASSESSMENT_DUE, Moment.VIEW, fall_risk_assessment_due),
    Rule(Topic.OBESITY_BONE_ASSESSMENT, Moment.VIEW, obesity_bone_assessment),
    Rule(Topic.VITAMIN_D_DEFICIENCY, Moment.VIEW, vitamin_d_deficiency),
)
