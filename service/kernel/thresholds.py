"""Clinical thresholds and windows: every number of the rule catalogue, with its default.

The rules read these and nothing else of the configuration; the application's settings carry them
under ``BHCDS_RULES__<NAME>``. Pure data: no environment, web or database here.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class PopulationProfile(StrEnum):
    CN = "cn"  # China's adult obesity standard (OB §1)
    WHO = "who"


class RuleSettings(BaseModel):
    """Thresholds and windows (days). Defaults are rules.md's; *default* ones are not in the seeds."""

    # shared
    population_profile: PopulationProfile = PopulationProfile.CN
    albumin_reference_g_per_l: float = 40.0
    albumin_correction_mmol_per_g: float = 0.02

    # tzd-fracture-risk: no numbers

    # bisphosphonates
    bisphosphonate_min_renal_function: float = 35.0  # CrCl/eGFR < 35 contraindicates (T2DM §3)
    renal_function_window_days: int = 365
    iv_bisphosphonate_renal_window_days: int = 30

    # pre-infusion-calcium-check
    pre_infusion_calcium_window_days: int = 30
    low_calcium_mmol_per_l: float = 2.15
    vitamin_d_deficient_ng_per_ml: float = 20.0
    vitamin_d_window_days: int = 365

    # sglt2-fracture-caution
    sglt2_egfr_threshold: float = 60.0
    sglt2_egfr_window_days: int = 365

    # insulin-hypoglycemia-fall-risk
    older_adult_age_years: int = 65

    # anabolic-duration-limit (per product and region)
    anabolic_max_days: int = 730

    # monitoring-overdue
    monitoring_interval_days: int = 365
    anabolic_bmd_interval_days: int = 730
    antiresorptive_recent_days: int = 365

    # denosumab
    denosumab_dose_due_days: int = 183
    denosumab_sequencing_days: int = 213
    denosumab_hypocalcemia_renal_threshold: float = 30.0
    denosumab_hypocalcemia_recent_dose_days: int = 365
    denosumab_calcium_check_after_days: int = 7
    denosumab_calcium_check_by_days: int = 14
    denosumab_calcium_window_days: int = 30

    # hypercalcemia-on-therapy
    hypercalcemia_mmol_per_l: float = 2.60
    severe_hypercalcemia_mmol_per_l: float = 3.00
    hypercalcemia_window_days: int = 92

    # diabetic-fracture-risk-phenotype
    long_diabetes_days: int = 3652
    bmd_window_days: int = 730

    # fall-risk-assessment-due
    fall_risk_window_days: int = 365

    # obesity-bone-assessment
    obesity_window_days: int = 730
    bmi_obese_cn: float = 28.0
    bmi_obese_who: float = 30.0
    waist_male_cn_cm: float = 90.0
    waist_female_cn_cm: float = 85.0
    waist_male_who_cm: float = 102.0
    waist_female_who_cm: float = 88.0

    @property
    def bmi_obese(self) -> float:
        return self.bmi_obese_cn if self.population_profile is PopulationProfile.CN else self.bmi_obese_who

    def waist_threshold_cm(self, female: bool) -> float:
        if self.population_profile is PopulationProfile.CN:
            return self.waist_female_cn_cm if female else self.waist_male_cn_cm
        return self.waist_female_who_cm if female else self.waist_male_who_cm
