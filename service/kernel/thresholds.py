"""Clinical thresholds and windows: every number of the rule catalogue, with its default.

The rules read these and nothing else of the configuration; the application's settings carry them
under ``BHCDS_RULES__<NAME>``. Pure data: no environment, web or database here.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

# Bounds: the clinically plausible range of each number; a setting outside it stops the service at start.
_TEN_YEARS = 3653  # days
_FIFTY_YEARS = 18263  # days


class PopulationProfile(StrEnum):
    CN = "cn"  # China's adult obesity standard (OB §1)
    WHO = "who"


class RuleSettings(BaseModel):
    """Thresholds and windows (days). Defaults are rules.md's; *default* ones are not in the seeds."""

    # an answer's cards: a patient-view answer aims at this many (critical and warning never fold)
    card_budget: int = Field(4, ge=1, le=20)

    # shared
    population_profile: PopulationProfile = PopulationProfile.CN
    albumin_reference_g_per_l: float = Field(40.0, ge=30, le=50)
    albumin_correction_mmol_per_g: float = Field(0.02, ge=0.01, le=0.03)
    # revision 3: the albumin that corrects a total calcium is the nearest one within this many hours
    albumin_window_hours: int = Field(24, ge=0, le=72)

    # exclusions (r3): age, palliative care, pregnancy
    adult_age_years: int = Field(18, ge=14, le=21)
    palliative_procedure_window_days: int = Field(92, ge=1, le=730)
    pregnancy_window_days: int = Field(280, ge=200, le=320)

    # dialysis (r3): a dialysis Procedure counts within this window
    dialysis_procedure_window_days: int = Field(92, ge=1, le=730)

    # renal function (r3): values compared, body weight for Cockcroft–Gault
    renal_values_compared_days: int = Field(7, ge=0, le=92)
    body_weight_window_days: int = Field(365, ge=1, le=_TEN_YEARS)

    # calcium (r3): hypocalcaemia, ionised limits, when the ionised result is preferred
    hypocalcaemia_window_days: int = Field(30, ge=1, le=365)
    severe_low_calcium_mmol_per_l: float = Field(1.90, ge=1.5, le=2.2)
    ionised_low_calcium_mmol_per_l: float = Field(1.15, ge=0.9, le=1.3)
    ionised_severe_low_calcium_mmol_per_l: float = Field(1.00, ge=0.7, le=1.2)
    ionised_high_calcium_mmol_per_l: float = Field(1.32, ge=1.2, le=1.6)
    ionised_critical_calcium_mmol_per_l: float = Field(1.60, ge=1.3, le=2.2)
    ionised_calcium_preferred_renal_below: float = Field(30.0, ge=10, le=60)

    # bone fragility (r3): a T-score or a hip/vertebral fracture defines it from this age
    fragility_min_age_years: int = Field(50, ge=40, le=65)

    # ordered, not yet resulted (r3): an older order with no result is treated as lost
    test_order_window_days: int = Field(92, ge=1, le=365)

    # oncology regimens (r3): active or given within this window, no bisphosphonate or denosumab is offered
    oncology_regimen_window_days: int = Field(365, ge=1, le=_TEN_YEARS)

    # tzd-fracture-risk: see metformin_min_renal_function

    # bisphosphonates
    # CrCl/eGFR < 35 contraindicates (T2DM §3)
    bisphosphonate_min_renal_function: float = Field(35.0, ge=10, le=60)
    renal_function_window_days: int = Field(365, ge=1, le=_TEN_YEARS)
    iv_bisphosphonate_renal_window_days: int = Field(30, ge=1, le=365)

    # pre-infusion-calcium-check
    pre_infusion_calcium_window_days: int = Field(30, ge=1, le=365)
    low_calcium_mmol_per_l: float = Field(2.15, ge=1.8, le=2.5)
    vitamin_d_deficient_ng_per_ml: float = Field(20.0, ge=10, le=50)
    vitamin_d_window_days: int = Field(365, ge=1, le=_TEN_YEARS)

    # sglt2-fracture-caution
    sglt2_egfr_threshold: float = Field(60.0, ge=15, le=90)
    sglt2_egfr_window_days: int = Field(365, ge=1, le=_TEN_YEARS)

    # insulin-hypoglycemia-fall-risk
    older_adult_age_years: int = Field(65, ge=50, le=90)

    # tzd-fracture-risk (r3, No contradictions): metformin is named as an alternative only at or above
    # this renal function (365 days) and not on dialysis (the product label)
    metformin_min_renal_function: float = Field(30.0, ge=15, le=60)

    # anabolic-duration-limit (per product and region)
    anabolic_max_days: int = Field(730, ge=180, le=_TEN_YEARS)

    # monitoring-overdue
    monitoring_interval_days: int = Field(365, ge=1, le=_TEN_YEARS)
    anabolic_bmd_interval_days: int = Field(730, ge=1, le=_TEN_YEARS)
    antiresorptive_recent_days: int = Field(365, ge=1, le=_TEN_YEARS)

    # denosumab
    denosumab_dose_due_days: int = Field(183, ge=150, le=365)
    denosumab_sequencing_days: int = Field(213, ge=150, le=365)
    denosumab_hypocalcemia_renal_threshold: float = Field(30.0, ge=10, le=60)
    denosumab_hypocalcemia_recent_dose_days: int = Field(365, ge=1, le=_TEN_YEARS)
    denosumab_calcium_check_after_days: int = Field(7, ge=1, le=92)
    denosumab_calcium_check_by_days: int = Field(14, ge=1, le=92)
    denosumab_calcium_window_days: int = Field(30, ge=1, le=365)

    # hypercalcemia-on-therapy
    hypercalcemia_mmol_per_l: float = Field(2.60, ge=2.5, le=3.5)
    severe_hypercalcemia_mmol_per_l: float = Field(3.00, ge=2.6, le=4.0)
    hypercalcemia_window_days: int = Field(92, ge=1, le=_TEN_YEARS)

    # diabetic-fracture-risk-phenotype
    long_diabetes_days: int = Field(3652, ge=365, le=_FIFTY_YEARS)
    bmd_window_days: int = Field(730, ge=1, le=_TEN_YEARS)
    phenotype_min_age_years: int = Field(50, ge=18, le=90)  # r3

    # vitamin-d-deficiency (r3, No contradictions): below this renal function (365 days) or on dialysis,
    # calcium intake is as the renal team advises (KDIGO)
    renal_team_calcium_below: float = Field(30.0, ge=10, le=60)

    # fall-risk-assessment-due
    fall_risk_window_days: int = Field(365, ge=1, le=_TEN_YEARS)

    # obesity-bone-assessment
    obesity_window_days: int = Field(730, ge=1, le=_TEN_YEARS)
    bmi_obese_cn: float = Field(28.0, ge=23, le=40)
    bmi_obese_who: float = Field(30.0, ge=23, le=40)
    waist_male_cn_cm: float = Field(90.0, ge=60, le=150)
    waist_female_cn_cm: float = Field(85.0, ge=60, le=150)
    waist_male_who_cm: float = Field(102.0, ge=60, le=150)
    waist_female_who_cm: float = Field(88.0, ge=60, le=150)

    @property
    def bmi_obese(self) -> float:
        return self.bmi_obese_cn if self.population_profile is PopulationProfile.CN else self.bmi_obese_who

    def waist_threshold_cm(self, female: bool) -> float:
        if self.population_profile is PopulationProfile.CN:
            return self.waist_female_cn_cm if female else self.waist_male_cn_cm
        return self.waist_female_who_cm if female else self.waist_male_who_cm
