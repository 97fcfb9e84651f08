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
    """Thresholds and windows (days). Defaults are rules.md's; *default* ones are not in the reviews."""

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
    # revision 3: zoledronic acid 4 mg (oncology) is contraindicated below this (its label)
    zoledronic_acid_oncology_min_renal_function: float = Field(30.0, ge=10, le=60)

    # pre-infusion-calcium-check
    pre_infusion_calcium_window_days: int = Field(30, ge=1, le=365)
    low_calcium_mmol_per_l: float = Field(2.15, ge=1.8, le=2.5)
    vitamin_d_deficient_ng_per_ml: float = Field(20.0, ge=10, le=50)
    vitamin_d_window_days: int = Field(365, ge=1, le=_TEN_YEARS)
    # revision 3: a denosumab draft with renal function < 30 or on dialysis needs phosphate, PTH and
    # 25-OH vitamin D within this window (and calcium within pre_infusion_calcium_window_days)
    pre_infusion_ckd_tests_window_days: int = Field(92, ge=1, le=365)

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
    # revision 3: cumulative time; a course is exposures no more than this many days apart
    anabolic_course_gap_days: int = Field(92, ge=1, le=365)
    # revision 3: a finished course lasts from its first to its last exposure plus this many days
    anabolic_last_exposure_days: int = Field(30, ge=0, le=92)

    # monitoring-overdue
    monitoring_interval_days: int = Field(365, ge=1, le=_TEN_YEARS)
    anabolic_bmd_interval_days: int = Field(730, ge=1, le=_TEN_YEARS)
    antiresorptive_recent_days: int = Field(365, ge=1, le=_TEN_YEARS)

    # denosumab: the next dose is due on D + 183 (also the day sequencing turns critical, r3) and overdue
    # after D + 213; a last dose older than 730 days belongs to osteoporosis-untreated (r3); after D + 365
    # rebound is likely (r3)
    denosumab_dose_due_days: int = Field(183, ge=150, le=365)
    denosumab_dose_overdue_days: int = Field(213, ge=150, le=365)
    denosumab_course_window_days: int = Field(730, ge=365, le=_TEN_YEARS)
    denosumab_rebound_days: int = Field(365, ge=183, le=_TEN_YEARS)
    denosumab_hypocalcemia_renal_threshold: float = Field(30.0, ge=10, le=60)
    denosumab_hypocalcemia_recent_dose_days: int = Field(365, ge=1, le=_TEN_YEARS)
    # calcium after a dose (r3): weekly from D + 7 until D + 35 (no calcium within 7 days), monthly after
    denosumab_calcium_check_after_days: int = Field(7, ge=1, le=92)
    denosumab_calcium_weekly_until_days: int = Field(35, ge=8, le=92)
    denosumab_calcium_weekly_window_days: int = Field(7, ge=1, le=31)
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

    # hypocalcemia-on-antiresorptive (r3): the latest calcium within hypocalcaemia_window_days decides
    hypocalcaemia_denosumab_dose_days: int = Field(365, ge=1, le=_TEN_YEARS)  # denosumab D within
    hypocalcaemia_zoledronic_acid_days: int = Field(30, ge=1, le=365)  # a zoledronic acid exposure within
    calcium_recheck_days: int = Field(7, ge=1, le=30)  # "recheck calcium within a week"
    hypocalcaemia_workup_window_days: int = Field(92, ge=1, le=730)  # 25-OH D, PTH, magnesium

    # glycemic-overtreatment-fall-risk (r3); its age is older_adult_age_years
    overtreatment_hba1c_percent: float = Field(7.0, ge=5.5, le=9.0)
    overtreatment_hba1c_window_days: int = Field(183, ge=1, le=730)
    recent_hypoglycaemia_days: int = Field(365, ge=1, le=_TEN_YEARS)
    low_glucose_mmol_per_l: float = Field(3.9, ge=2.5, le=5.0)
    low_glucose_window_days: int = Field(365, ge=1, le=_TEN_YEARS)

    # ckd-mineral-bone-workup (r3): eGFR alone (KDIGO stages CKD by eGFR)
    ckd_mbd_egfr_threshold: float = Field(30.0, ge=10, le=60)
    ckd_mbd_egfr_window_days: int = Field(365, ge=1, le=_TEN_YEARS)
    ckd_mbd_test_interval_days: int = Field(365, ge=1, le=_TEN_YEARS)

    # obesity-bone-assessment
    obesity_window_days: int = Field(730, ge=1, le=_TEN_YEARS)
    bmi_obese_cn: float = Field(28.0, ge=23, le=40)
    bmi_obese_who: float = Field(30.0, ge=23, le=40)
    waist_male_cn_cm: float = Field(90.0, ge=60, le=150)
    waist_female_cn_cm: float = Field(85.0, ge=60, le=150)
    waist_male_who_cm: float = Field(102.0, ge=60, le=150)
    waist_female_who_cm: float = Field(88.0, ge=60, le=150)

    # osteoporosis-untreated (r3): no anti-osteoporosis exposure within the window (zoledronic acid, a
    # yearly infusion, and denosumab's last dose D: the longer one); a fracture within the recent window is
    # critical; a woman under the specialist age is offered no drug (a specialist's choice)
    untreated_exposure_window_days: int = Field(365, ge=1, le=_TEN_YEARS)
    untreated_zoledronic_acid_window_days: int = Field(730, ge=1, le=_TEN_YEARS)
    untreated_denosumab_window_days: int = Field(730, ge=1, le=_TEN_YEARS)
    untreated_recent_fracture_days: int = Field(365, ge=1, le=_TEN_YEARS)
    untreated_specialist_age_years: int = Field(50, ge=18, le=65)
    # drug holiday: a bisphosphonate course that ended within the window after >= 3 years of zoledronic
    # acid (infusions <= 456 days apart, one year per infusion) or >= 5 years of an oral one (exposures
    # with gaps <= 92 days; length last - first + 30 days)
    drug_holiday_window_days: int = Field(1826, ge=365, le=_TEN_YEARS)
    drug_holiday_zoledronic_acid_infusions: int = Field(3, ge=1, le=10)
    drug_holiday_oral_days: int = Field(1826, ge=365, le=_TEN_YEARS)
    zoledronic_acid_course_gap_days: int = Field(456, ge=365, le=730)
    oral_bisphosphonate_course_gap_days: int = Field(92, ge=1, le=365)

    # a card's detail (r3): at most about this many Unicode code points per language; the rest belongs on
    # the topic's rule page (tests/service/cards/test_card_length.py holds every card's wording to it)
    detail_budget_en: int = Field(600, ge=200, le=4000)
    detail_budget_zh: int = Field(300, ge=100, le=2000)

    def detail_budget(self, language: str) -> int:
        """The detail budget of a card language ("en", "zh")."""
        return self.detail_budget_zh if language == "zh" else self.detail_budget_en

    @property
    def bmi_obese(self) -> float:
        return self.bmi_obese_cn if self.population_profile is PopulationProfile.CN else self.bmi_obese_who

    def waist_threshold_cm(self, female: bool) -> float:
        if self.population_profile is PopulationProfile.CN:
            return self.waist_female_cn_cm if female else self.waist_male_cn_cm
        return self.waist_female_who_cm if female else self.waist_male_who_cm
