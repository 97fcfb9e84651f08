"""Screening rules (rules.md "Patient-view rules"): both sides of every threshold and window, fixed clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from service.kernel.findings import Indicator, Order, Topic
from service.kernel.record import (
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
)
from service.kernel.record import TestOrder as ServiceRequestFact
from service.kernel.thresholds import PopulationProfile, RuleSettings
from service.rules import Moment, evaluate
from service.rules.screening import (
    HYPOGLYCAEMIA,
    KIDNEY_DISEASE,
    LONG_DURATION,
    NEUROPATHY,
    RULES,
    diabetic_fracture_risk_phenotype,
    fall_risk_assessment_due,
    obesity_bone_assessment,
    vitamin_d_deficiency,
)
from tests.builders import NOW, ago, born_years_ago, condition, days_ago, lab, medication, patient
from tests.builders import record as rec

CN = RuleSettings()
WHO = RuleSettings(population_profile=PopulationProfile.WHO)


T2DM = condition(Problem.T2DM, onset=days_ago(400))
OSTEOPOROSIS = condition(Problem.OSTEOPOROSIS, onset=days_ago(300))


# --- diabetic-fracture-risk-phenotype -------------------------------------------------------------


class TestDiabeticFractureRiskPhenotype:
    @pytest.mark.parametrize(("onset_days", "fires"), [(3651, False), (3652, False), (3653, True)])
    def test_diabetes_for_more_than_ten_years(self, onset_days: int, fires: bool) -> None:
        finding = diabetic_fracture_risk_phenotype(
            rec(condition(Problem.T2DM, onset=days_ago(onset_days))), NOW, CN
        )
        assert (finding is not None) is fires
        if finding is not None:
            (phenotype,) = finding.facts.phenotypes
            assert phenotype.kind == LONG_DURATION
            assert phenotype.since == days_ago(3653)
            assert phenotype.years == 10

    def test_duration_counts_from_the_earliest_t2dm_condition_even_an_inactive_one(self) -> None:
        record = rec(
            condition(Problem.T2DM, onset=days_ago(200)),
            condition(Problem.T2DM, onset=days_ago(4000), active=False),
        )
        finding = diabetic_fracture_risk_phenotype(record, NOW, CN)
        assert finding is not None
        assert finding.facts.phenotypes[0].since == days_ago(4000)

    def test_unknown_onset_is_not_long_duration(self) -> None:
        assert diabetic_fracture_risk_phenotype(rec(condition(Problem.T2DM, onset=None)), NOW, CN) is None

    def test_needs_active_type_2_diabetes(self) -> None:
        neuropathy = condition(Problem.DIABETIC_NEUROPATHY, onset=days_ago(400))
        assert diabetic_fracture_risk_phenotype(rec(neuropathy), NOW, CN) is None
        inactive = condition(Problem.T2DM, onset=days_ago(5000), active=False)
        assert diabetic_fracture_risk_phenotype(rec(inactive, neuropathy), NOW, CN) is None

    def test_no_phenotype_no_card(self) -> None:
        assert diabetic_fracture_risk_phenotype(rec(T2DM), NOW, CN) is None

    def test_active_neuropathy_counts_a_resolved_one_does_not(self) -> None:
        finding = diabetic_fracture_risk_phenotype(
            rec(T2DM, condition(Problem.DIABETIC_NEUROPATHY, onset=days_ago(90))), NOW, CN
        )
        assert finding is not None
        assert [p.kind for p in finding.facts.phenotypes] == [NEUROPATHY]
        resolved = condition(Problem.DIABETIC_NEUROPATHY, onset=days_ago(90), active=False)
        assert diabetic_fracture_risk_phenotype(rec(T2DM, resolved), NOW, CN) is None

    def test_a_resolved_hypoglycaemia_is_still_a_history(self) -> None:
        record = rec(
            T2DM,
            condition(Problem.HYPOGLYCAEMIA, onset=days_ago(900), active=False),
            condition(Problem.HYPOGLYCAEMIA, onset=days_ago(60)),
        )
        finding = diabetic_fracture_risk_phenotype(record, NOW, CN)
        assert finding is not None
        (phenotype,) = finding.facts.phenotypes
        assert phenotype.kind == HYPOGLYCAEMIA
        assert phenotype.since == days_ago(60)  # the most recent episode

    def test_diabetic_kidney_disease_quotes_the_egfr(self) -> None:
        record = rec(
            T2DM,
            condition(Problem.DIABETIC_KIDNEY_DISEASE, onset=days_ago(700)),
            labs=(lab(Lab.EGFR, 41, 20),),
        )
        finding = diabetic_fracture_risk_phenotype(record, NOW, CN)
        assert finding is not None
        (phenotype,) = finding.facts.phenotypes
        assert (phenotype.kind, phenotype.diabetic) == (KIDNEY_DISEASE, True)
        assert finding.facts.egfr is not None and finding.facts.egfr.value == 41

    def test_chronic_kidney_disease_in_type_2_diabetes_counts_as_the_kidney_phenotype(self) -> None:
        finding = diabetic_fracture_risk_phenotype(
            rec(T2DM, condition(Problem.CHRONIC_KIDNEY_DISEASE, onset=days_ago(400))), NOW, CN
        )
        assert finding is not None
        (phenotype,) = finding.facts.phenotypes
        assert (phenotype.kind, phenotype.diabetic) == (KIDNEY_DISEASE, False)
        resolved = condition(Problem.CHRONIC_KIDNEY_DISEASE, onset=days_ago(400), active=False)
        assert diabetic_fracture_risk_phenotype(rec(T2DM, resolved), NOW, CN) is None

    def test_an_egfr_alone_is_not_kidney_disease(self) -> None:
        assert diabetic_fracture_risk_phenotype(rec(T2DM, labs=(lab(Lab.EGFR, 22, 5),)), NOW, CN) is None

    def test_lists_every_matched_phenotype_in_the_review_order(self) -> None:
        record = rec(
            condition(Problem.T2DM, onset=days_ago(5000)),
            condition(Problem.DIABETIC_KIDNEY_DISEASE, onset=days_ago(400)),
            condition(Problem.HYPOGLYCAEMIA, onset=days_ago(400)),
            condition(Problem.DIABETIC_NEUROPATHY, onset=days_ago(400)),
        )
        finding = diabetic_fracture_risk_phenotype(record, NOW, CN)
        assert finding is not None
        assert [p.kind for p in finding.facts.phenotypes] == [
            LONG_DURATION,
            NEUROPATHY,
            HYPOGLYCAEMIA,
            KIDNEY_DISEASE,
        ]

    @pytest.mark.parametrize(("bmd_days", "fires"), [(729, False), (730, False), (731, True)])
    def test_a_bmd_result_within_730_days_silences_it(self, bmd_days: int, fires: bool) -> None:
        bmd = lab(Lab.T_SCORE, -1.0, bmd_days, BmdSite.HIP)
        record = rec(T2DM, condition(Problem.DIABETIC_NEUROPATHY, onset=days_ago(400)), labs=(bmd,))
        finding = diabetic_fracture_risk_phenotype(record, NOW, CN)
        assert (finding is not None) is fires
        if finding is not None:
            assert finding.facts.last_bmd == bmd

    @pytest.mark.parametrize(
        "result",
        [
            lab(Lab.BMD, 0.82, 100),
            lab(Lab.Z_SCORE, -0.5, 100),
            lab(Lab.T_SCORE, -3.0, 100, BmdSite.OTHER),  # forearm: a BMD result, not a fragility criterion
        ],
    )
    def test_any_bmd_result_at_any_site_counts(self, result: Measurement) -> None:
        record = rec(T2DM, condition(Problem.DIABETIC_NEUROPATHY, onset=days_ago(400)), labs=(result,))
        assert diabetic_fracture_risk_phenotype(record, NOW, CN) is None

    def test_a_future_dated_bmd_does_not_count(self) -> None:
        record = rec(
            T2DM, condition(Problem.DIABETIC_NEUROPATHY, onset=days_ago(400)), labs=(lab(Lab.BMD, 0.8, -3),)
        )
        assert diabetic_fracture_risk_phenotype(record, NOW, CN) is not None

    def test_offers_a_dxa_and_is_info(self) -> None:
        finding = diabetic_fracture_risk_phenotype(
            rec(T2DM, condition(Problem.DIABETIC_NEUROPATHY, onset=days_ago(400))), NOW, CN
        )
        assert finding is not None
        assert finding.topic is Topic.DIABETIC_FRACTURE_RISK_PHENOTYPE
        assert finding.indicator is Indicator.INFO
        assert finding.service_orders == (Order.DXA,)
        assert finding.lab_orders == () and finding.proposals == () and finding.delete_drafts == ()
        assert finding.facts.last_bmd is None
        assert finding.facts.window_days == 730

    def test_windows_are_settings(self) -> None:
        settings = RuleSettings(bmd_window_days=365, long_diabetes_days=1825)
        record = rec(condition(Problem.T2DM, onset=days_ago(1900)), labs=(lab(Lab.BMD, 0.8, 400),))
        assert diabetic_fracture_risk_phenotype(record, NOW, CN) is None
        assert diabetic_fracture_risk_phenotype(record, NOW, settings) is not None


# --- fall-risk-assessment-due ---------------------------------------------------------------------


class TestFallRiskAssessmentDue:
    def test_fires_for_t2dm_with_osteoporosis_and_no_assessment(self) -> None:
        finding = fall_risk_assessment_due(rec(T2DM, OSTEOPOROSIS), NOW, CN)
        assert finding is not None
        assert finding.topic is Topic.FALL_RISK_ASSESSMENT_DUE
        assert finding.indicator is Indicator.INFO
        assert finding.service_orders == (Order.FALL_RISK_ASSESSMENT,)
        assert finding.facts.fragility.reasons == ("osteoporosis",)
        assert finding.facts.last_assessment is None

    @pytest.mark.parametrize(("days", "fires"), [(364, False), (365, False), (366, True)])
    def test_an_assessment_within_365_days_silences_it(self, days: int, fires: bool) -> None:
        done = lab(Lab.FALL_RISK_ASSESSMENT, None, days)
        finding = fall_risk_assessment_due(rec(T2DM, OSTEOPOROSIS, labs=(done,)), NOW, CN)
        assert (finding is not None) is fires
        if finding is not None:
            assert finding.facts.last_assessment == done

    def test_a_procedure_counts_as_an_assessment(self) -> None:
        procedure = Measurement(Lab.FALL_RISK_ASSESSMENT, None, ago(30), "Procedure/falls-1")
        assert fall_risk_assessment_due(rec(T2DM, OSTEOPOROSIS, labs=(procedure,)), NOW, CN) is None

    def test_needs_both_t2dm_and_bone_fragility(self) -> None:
        assert fall_risk_assessment_due(rec(T2DM), NOW, CN) is None
        assert fall_risk_assessment_due(rec(OSTEOPOROSIS), NOW, CN) is None

    @pytest.mark.parametrize(
        ("t_score", "site", "fires"),
        [
            (-2.6, BmdSite.LUMBAR_SPINE, True),
            (-2.5, BmdSite.FEMORAL_NECK, True),
            (-2.4, BmdSite.LUMBAR_SPINE, False),
            (-3.0, BmdSite.OTHER, True),  # r3: a forearm T-score counts with no central one that day
        ],
    )
    def test_bone_fragility_by_t_score(self, t_score: float, site: BmdSite, fires: bool) -> None:
        finding = fall_risk_assessment_due(rec(T2DM, labs=(lab(Lab.T_SCORE, t_score, 200, site),)), NOW, CN)
        assert (finding is not None) is fires

    def test_a_healed_fragility_fracture_counts(self) -> None:
        fracture = condition(Problem.FRAGILITY_FRACTURE, onset=days_ago(2000), active=False)
        assert fall_risk_assessment_due(rec(T2DM, fracture), NOW, CN) is not None

    def test_an_anti_osteoporosis_drug_ever_counts_and_is_named(self) -> None:
        prolia = medication({DrugClass.DENOSUMAB}, 900, active=False, status="completed", name="Prolia")
        finding = fall_risk_assessment_due(rec(T2DM, meds=(prolia,)), NOW, CN)
        assert finding is not None
        assert finding.facts.fragility.drug == "Prolia"  # the shared bone fragility names the drug

    def test_a_draft_bisphosphonate_is_not_yet_a_treatment(self) -> None:
        draft = MedicationExposure(
            frozenset({DrugClass.BISPHOSPHONATE}),
            "alendronate",
            ExposureKind.REQUEST,
            "draft",
            NOW,
            False,
            "MedicationRequest/d1",
            draft=True,
        )
        assert fall_risk_assessment_due(rec(T2DM, drafts=(draft,)), NOW, CN) is None

    def test_window_is_a_setting(self) -> None:
        record = rec(T2DM, OSTEOPOROSIS, labs=(lab(Lab.FALL_RISK_ASSESSMENT, None, 200),))
        assert fall_risk_assessment_due(record, NOW, CN) is None
        assert fall_risk_assessment_due(record, NOW, RuleSettings(fall_risk_window_days=183)) is not None


# --- obesity-bone-assessment ----------------------------------------------------------------------


class TestObesityBoneAssessment:
    @pytest.mark.parametrize(
        ("settings", "bmi", "fires"),
        [
            (CN, 27.9, False),
            (CN, 28.0, True),
            (CN, 28.1, True),
            (WHO, 29.9, False),
            (WHO, 30.0, True),
            (WHO, 30.1, True),
        ],
        ids=["cn-27.9", "cn-28", "cn-28.1", "who-29.9", "who-30", "who-30.1"],
    )
    def test_bmi_threshold_by_profile(self, settings: RuleSettings, bmi: float, fires: bool) -> None:
        finding = obesity_bone_assessment(rec(T2DM, labs=(lab(Lab.BMI, bmi, 30),)), NOW, settings)
        assert (finding is not None) is fires
        if finding is not None:
            assert finding.facts.bmi_met is True
            assert finding.facts.bmi_threshold == settings.bmi_obese
            assert finding.facts.profile is settings.population_profile

    @pytest.mark.parametrize(("days", "fires"), [(729, True), (730, True), (731, False)])
    def test_bmi_window_730_days(self, days: int, fires: bool) -> None:
        finding = obesity_bone_assessment(rec(T2DM, labs=(lab(Lab.BMI, 33, days),)), NOW, CN)
        assert (finding is not None) is fires

    def test_the_latest_bmi_decides(self) -> None:
        labs = (lab(Lab.BMI, 33, 400), lab(Lab.BMI, 26, 30))
        assert obesity_bone_assessment(rec(T2DM, labs=labs), NOW, CN) is None
        labs = (lab(Lab.BMI, 26, 400), lab(Lab.BMI, 33, 30))
        assert obesity_bone_assessment(rec(T2DM, labs=labs), NOW, CN) is not None

    def test_bmi_is_never_computed_from_weight_and_height(self) -> None:
        record = rec(T2DM, labs=(lab(Lab.BODY_WEIGHT, 130, 10),))
        assert obesity_bone_assessment(record, NOW, CN) is None

    @pytest.mark.parametrize(
        ("settings", "sex", "waist", "fires"),
        [
            (CN, Sex.MALE, 89.9, False),
            (CN, Sex.MALE, 90.0, True),
            (CN, Sex.MALE, 90.1, True),
            (CN, Sex.FEMALE, 84.9, False),
            (CN, Sex.FEMALE, 85.0, True),
            (CN, Sex.FEMALE, 85.1, True),
            (WHO, Sex.MALE, 101.9, False),
            (WHO, Sex.MALE, 102.0, True),
            (WHO, Sex.MALE, 102.1, True),
            (WHO, Sex.FEMALE, 87.9, False),
            (WHO, Sex.FEMALE, 88.0, True),
            (WHO, Sex.FEMALE, 88.1, True),
        ],
    )
    def test_waist_threshold_by_profile_and_sex(
        self, settings: RuleSettings, sex: Sex, waist: float, fires: bool
    ) -> None:
        record = rec(T2DM, labs=(lab(Lab.BMI, 24, 10), lab(Lab.WAIST, waist, 10)), who=patient(sex))
        finding = obesity_bone_assessment(record, NOW, settings)
        assert (finding is not None) is fires
        if finding is not None:
            assert finding.facts.waist_met is True
            assert finding.facts.bmi_met is False

    @pytest.mark.parametrize("sex", [Sex.UNKNOWN, Sex.OTHER])
    def test_waist_is_skipped_when_sex_gives_no_threshold(self, sex: Sex) -> None:
        record = rec(T2DM, labs=(lab(Lab.WAIST, 130, 10),), who=patient(sex))
        assert obesity_bone_assessment(record, NOW, CN) is None
        record = rec(T2DM, labs=(lab(Lab.WAIST, 130, 10), lab(Lab.BMI, 29, 10)), who=patient(sex))
        finding = obesity_bone_assessment(record, NOW, CN)
        assert finding is not None
        assert finding.facts.waist_threshold is None

    @pytest.mark.parametrize(("days", "fires"), [(730, True), (731, False)])
    def test_waist_window_730_days(self, days: int, fires: bool) -> None:
        record = rec(T2DM, labs=(lab(Lab.WAIST, 95, days),), who=patient(Sex.MALE))
        assert (obesity_bone_assessment(record, NOW, CN) is not None) is fires

    def test_population_is_t2dm_or_bone_fragility(self) -> None:
        obese = (lab(Lab.BMI, 32, 10),)
        assert obesity_bone_assessment(rec(labs=obese), NOW, CN) is None
        finding = obesity_bone_assessment(rec(OSTEOPOROSIS, labs=obese), NOW, CN)
        assert finding is not None
        assert finding.facts.population.t2dm is False
        fragility = finding.facts.population.fragility
        assert fragility is not None and fragility.reasons == ("osteoporosis",)

    def test_is_info_and_orders_nothing(self) -> None:
        finding = obesity_bone_assessment(rec(T2DM, labs=(lab(Lab.BMI, 32, 10),)), NOW, CN)
        assert finding is not None
        assert finding.topic is Topic.OBESITY_BONE_ASSESSMENT
        assert finding.indicator is Indicator.INFO
        assert (finding.lab_orders, finding.service_orders, finding.proposals) == ((), (), ())


# --- vitamin-d-deficiency -------------------------------------------------------------------------


class TestVitaminDDeficiency:
    @pytest.mark.parametrize(("level", "fires"), [(19.9, True), (20.0, False), (20.1, False)])
    def test_threshold_20_ng_per_ml(self, level: float, fires: bool) -> None:
        finding = vitamin_d_deficiency(rec(T2DM, labs=(lab(Lab.VITAMIN_D, level, 30),)), NOW, CN)
        assert (finding is not None) is fires

    @pytest.mark.parametrize(("days", "fires"), [(364, True), (365, True), (366, False)])
    def test_window_365_days(self, days: int, fires: bool) -> None:
        finding = vitamin_d_deficiency(rec(T2DM, labs=(lab(Lab.VITAMIN_D, 12, days),)), NOW, CN)
        assert (finding is not None) is fires

    def test_the_latest_value_decides(self) -> None:
        replete = (lab(Lab.VITAMIN_D, 12, 200), lab(Lab.VITAMIN_D, 31, 20))
        assert vitamin_d_deficiency(rec(T2DM, labs=replete), NOW, CN) is None
        relapsed = (lab(Lab.VITAMIN_D, 31, 200), lab(Lab.VITAMIN_D, 12, 20))
        assert vitamin_d_deficiency(rec(T2DM, labs=relapsed), NOW, CN) is not None

    def test_active_native_vitamin_d_silences_it(self) -> None:
        low = (lab(Lab.VITAMIN_D, 12, 20),)
        d3 = medication({DrugClass.NATIVE_VITAMIN_D}, 10, name="cholecalciferol 1000 IU")
        assert vitamin_d_deficiency(rec(T2DM, labs=low, meds=(d3,)), NOW, CN) is None
        stopped = medication({DrugClass.NATIVE_VITAMIN_D}, 300, active=False, status="stopped")
        assert vitamin_d_deficiency(rec(T2DM, labs=low, meds=(stopped,)), NOW, CN) is not None

    def test_calcitriol_does_not_replete_25_oh_vitamin_d(self) -> None:
        calcitriol = medication({DrugClass.ACTIVE_VITAMIN_D}, 50, name="calcitriol 0.25 mcg")
        calcium = medication({DrugClass.CALCIUM_SUPPLEMENT}, 50, name="calcium carbonate")
        record = rec(T2DM, labs=(lab(Lab.VITAMIN_D, 12, 20),), meds=(calcitriol, calcium))
        finding = vitamin_d_deficiency(record, NOW, CN)
        assert finding is not None
        assert finding.facts.active_vitamin_d == ("calcitriol 0.25 mcg",)
        assert finding.facts.calcium_supplement is True

    def test_population_is_t2dm_or_bone_fragility(self) -> None:
        low = (lab(Lab.VITAMIN_D, 12, 20),)
        assert vitamin_d_deficiency(rec(labs=low), NOW, CN) is None
        assert vitamin_d_deficiency(rec(OSTEOPOROSIS, labs=low), NOW, CN) is not None

    def test_is_info_with_no_suggestion(self) -> None:
        finding = vitamin_d_deficiency(rec(T2DM, labs=(lab(Lab.VITAMIN_D, 12, 20),)), NOW, CN)
        assert finding is not None
        assert finding.topic is Topic.VITAMIN_D_DEFICIENCY
        assert finding.indicator is Indicator.INFO
        assert (finding.lab_orders, finding.service_orders, finding.proposals) == ((), (), ())
        assert finding.facts.vitamin_d.value == 12

    def test_threshold_is_a_setting(self) -> None:
        record = rec(T2DM, labs=(lab(Lab.VITAMIN_D, 25, 20),))
        assert vitamin_d_deficiency(record, NOW, CN) is None
        assert vitamin_d_deficiency(record, NOW, RuleSettings(vitamin_d_deficient_ng_per_ml=30)) is not None


# --- registration and the evaluation ---------------------------------------------------------------


def _everything() -> PatientRecord:
    return rec(
        condition(Problem.T2DM, onset=days_ago(5000)),
        OSTEOPOROSIS,
        condition(Problem.DIABETIC_NEUROPATHY, onset=days_ago(400)),
        labs=(lab(Lab.BMI, 33, 10), lab(Lab.VITAMIN_D, 11, 10)),
    )


def test_the_four_rules_run_at_patient_view() -> None:
    assert {(r.topic, r.moment) for r in RULES} == {
        (Topic.DIABETIC_FRACTURE_RISK_PHENOTYPE, Moment.VIEW),
        (Topic.FALL_RISK_ASSESSMENT_DUE, Moment.VIEW),
        (Topic.OBESITY_BONE_ASSESSMENT, Moment.VIEW),
        (Topic.VITAMIN_D_DEFICIENCY, Moment.VIEW),
    }
    shown = {f.topic for f in evaluate(_everything(), NOW, CN, Moment.VIEW).cards}
    assert {r.topic for r in RULES} <= shown


def test_not_at_order_time_and_never_for_the_deceased() -> None:
    screening = {r.topic for r in RULES}
    assert not screening & {f.topic for f in evaluate(_everything(), NOW, CN, Moment.ORDER).cards}
    dead = rec(*_everything().conditions, labs=_everything().measurements, who=patient(deceased=True))
    assert evaluate(dead, NOW, CN, Moment.VIEW).cards == ()


# --- revision 3 -----------------------------------------------------------------------------------

HYPO = condition(Problem.HYPOGLYCAEMIA, active=False, onset=days_ago(900))


def _with_orders(record: PatientRecord, *orders: tuple[Lab, int, str]) -> PatientRecord:
    return replace(
        record,
        test_orders=tuple(
            ServiceRequestFact(test, status, ago(days), f"ServiceRequest/{test.value}-{days}")
            for test, days, status in orders
        ),
    )


class TestRevision3Phenotype:
    @pytest.mark.parametrize(
        ("birth", "fires"),
        [
            (born_years_ago(50), True),  # 50th birthday today
            (born_years_ago(50, days_after=1), False),  # 49 until tomorrow
            (born_years_ago(51), True),
            (None, True),  # unknown birth date: does not hide the card
        ],
    )
    def test_from_age_50(self, birth: date | None, fires: bool) -> None:
        record = rec(T2DM, HYPO, who=patient(birth=birth))
        assert (diabetic_fracture_risk_phenotype(record, NOW, CN) is not None) is fires

    def test_the_age_is_a_setting(self) -> None:
        record = rec(T2DM, HYPO, who=patient(birth=born_years_ago(55)))
        assert diabetic_fracture_risk_phenotype(record, NOW, RuleSettings(phenotype_min_age_years=56)) is None

    @pytest.mark.parametrize(
        ("days", "status", "quiet"),
        [
            (14, "active", True),
            (92, "completed", True),
            (93, "active", False),  # older than 92 days: treated as lost
            (14, "revoked", False),
            (14, "draft", False),
        ],
    )
    def test_a_dxa_ordered_and_not_resulted_keeps_it_quiet(self, days: int, status: str, quiet: bool) -> None:
        record = _with_orders(rec(T2DM, HYPO), (Lab.BMD, days, status))
        assert (diabetic_fracture_risk_phenotype(record, NOW, CN) is None) is quiet

    def test_a_bmd_result_older_than_the_order_does_not_resolve_it(self) -> None:
        record = _with_orders(rec(T2DM, HYPO, labs=[lab(Lab.BMD, None, 800)]), (Lab.BMD, 14, "active"))
        assert diabetic_fracture_risk_phenotype(record, NOW, CN) is None

    @pytest.mark.parametrize(("age", "quiet"), [(730, True), (731, False)])
    def test_a_dxa_procedure_or_report_is_a_bmd_result(self, age: int, quiet: bool) -> None:
        """The mapping turns a DXA Procedure or DiagnosticReport into a BMD result with no value."""
        record = rec(T2DM, HYPO, labs=[lab(Lab.BMD, None, age)])
        assert (diabetic_fracture_risk_phenotype(record, NOW, CN) is None) is quiet


class TestRevision3FallRisk:
    @pytest.mark.parametrize(
        ("days", "status", "quiet"),
        [
            (30, "active", True),
            (92, "completed", True),
            (93, "active", False),
            (30, "entered-in-error", False),
        ],
    )
    def test_an_assessment_ordered_and_not_resulted_keeps_it_quiet(
        self, days: int, status: str, quiet: bool
    ) -> None:
        record = _with_orders(rec(T2DM, OSTEOPOROSIS), (Lab.FALL_RISK_ASSESSMENT, days, status))
        assert (fall_risk_assessment_due(record, NOW, CN) is None) is quiet


class TestRevision3Obesity:
    @pytest.mark.parametrize(("onset", "fires"), [(280, False), (281, True)])
    def test_not_in_pregnancy(self, onset: int, fires: bool) -> None:
        pregnancy = condition(Problem.PREGNANCY, onset=days_ago(onset))
        record = rec(T2DM, pregnancy, labs=[lab(Lab.BMI, 31, 20)])
        assert (obesity_bone_assessment(record, NOW, CN) is not None) is fires

    def test_a_pregnancy_ended_by_a_delivery_no_longer_counts(self) -> None:
        pregnancy = condition(Problem.PREGNANCY, onset=days_ago(250))
        delivered = condition(Problem.PREGNANCY_OUTCOME, onset=days_ago(10))
        record = rec(T2DM, pregnancy, delivered, labs=[lab(Lab.BMI, 31, 5)])
        assert obesity_bone_assessment(record, NOW, CN) is not None


LOW_D = lab(Lab.VITAMIN_D, 12.4, 20)


class TestRevision3VitaminD:
    @pytest.mark.parametrize(
        "therapy",
        [DrugClass.CALCIUM_SUPPLEMENT, DrugClass.ACTIVE_VITAMIN_D, DrugClass.ANABOLIC],
    )
    @pytest.mark.parametrize(("calcium", "silent"), [(2.60, False), (2.61, True)])
    def test_silent_when_hypercalcemia_on_therapy_fires(
        self, therapy: DrugClass, calcium: float, silent: bool
    ) -> None:
        record = rec(T2DM, medication({therapy}, 30), labs=[LOW_D, lab(Lab.CALCIUM, calcium, 10)])
        assert (vitamin_d_deficiency(record, NOW, CN) is None) is silent

    @pytest.mark.parametrize(("ionised", "silent"), [(1.32, False), (1.33, True)])
    def test_an_ionised_high_calcium_counts_too(self, ionised: float, silent: bool) -> None:
        record = rec(
            T2DM,
            medication({DrugClass.CALCIUM_SUPPLEMENT}, 30),
            labs=[LOW_D, lab(Lab.IONISED_CALCIUM, ionised, 5)],
        )
        assert (vitamin_d_deficiency(record, NOW, CN) is None) is silent

    @pytest.mark.parametrize(("age", "high"), [(92, True), (93, False)])
    def test_high_calcium_without_therapy_advises_no_calcium(self, age: int, high: bool) -> None:
        record = rec(T2DM, labs=[LOW_D, lab(Lab.CALCIUM, 2.75, age)])
        finding = vitamin_d_deficiency(record, NOW, CN)
        assert finding is not None
        assert (finding.facts.high_calcium is not None) is high

    @pytest.mark.parametrize(
        ("labs", "conditions", "renal_team"),
        [
            ([lab(Lab.EGFR, 29.9, 30)], [], True),
            ([lab(Lab.EGFR, 30, 30)], [], False),
            ([lab(Lab.EGFR, 29.9, 366)], [], False),  # outside the 365 days: unknown
            ([lab(Lab.EGFR, 80, 30)], [condition(Problem.DIALYSIS, onset=days_ago(900))], True),
        ],
    )
    def test_renal_function_below_30_or_dialysis_leaves_calcium_to_the_renal_team(
        self, labs: list[Measurement], conditions: list[ConditionFact], renal_team: bool
    ) -> None:
        record = rec(T2DM, *conditions, labs=[LOW_D, *labs])
        finding = vitamin_d_deficiency(record, NOW, CN)
        assert finding is not None and finding.facts.renal_team is renal_team

    def test_the_renal_threshold_is_a_setting(self) -> None:
        record = rec(T2DM, labs=[LOW_D, lab(Lab.EGFR, 40, 30)])
        finding = vitamin_d_deficiency(record, NOW, RuleSettings(renal_team_calcium_below=45))
        assert finding is not None and finding.facts.renal_team
