"""Screening cards: en/zh wording with the patient's own values, the review citation, valid FHIR suggestions."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_hooks.models import Card
from service.cards import render, wording
from service.cards._phrases import phrases
from service.kernel.facts.screening import Population
from service.kernel.findings import TOPIC_SYSTEM, Finding, Topic
from service.kernel.record import (
    BmdSite,
    DrugClass,
    Lab,
    PatientRecord,
    Problem,
    Sex,
)
from service.kernel.thresholds import PopulationProfile, RuleSettings
from service.rules.screening import (
    diabetic_fracture_risk_phenotype,
    fall_risk_assessment_due,
    obesity_bone_assessment,
    vitamin_d_deficiency,
)
from tests.builders import NOW, condition, lab, medication, patient
from tests.builders import record as rec

CN = RuleSettings()
WHO = RuleSettings(population_profile=PopulationProfile.WHO)
SCREENING = (
    Topic.DIABETIC_FRACTURE_RISK_PHENOTYPE,
    Topic.FALL_RISK_ASSESSMENT_DUE,
    Topic.OBESITY_BONE_ASSESSMENT,
    Topic.VITAMIN_D_DEFICIENCY,
)


#: Type 2 diabetes since 2009, neuropathy, hypoglycaemia, diabetic kidney disease; DXA in 2022 only.
ALL_PHENOTYPES = rec(
    condition(Problem.T2DM, onset=date(2009, 4, 15)),
    condition(Problem.DIABETIC_NEUROPATHY, onset=date(2019, 5, 2)),
    condition(Problem.HYPOGLYCAEMIA, onset=date(2025, 1, 10), active=False),
    condition(Problem.DIABETIC_KIDNEY_DISEASE, onset=date(2021, 6, 1)),
    labs=(lab(Lab.EGFR, 40, date(2026, 10, 2)), lab(Lab.BMD, 0.81, date(2022, 8, 19))),
)
#: Type 2 diabetes with a spine T-score of -2.6 and Prolia; the last fall screen was in 2024.
FRAGILE = rec(
    condition(Problem.T2DM, onset=date(2018, 1, 1)),
    labs=(
        lab(Lab.T_SCORE, -2.6, date(2025, 3, 3), BmdSite.LUMBAR_SPINE),
        lab(Lab.FALL_RISK_ASSESSMENT, None, date(2024, 9, 9)),
    ),
    meds=(medication({DrugClass.DENOSUMAB}, date(2026, 6, 1), name="Prolia 60 mg", status="completed"),),
)
OBESE = rec(
    condition(Problem.T2DM, onset=date(2018, 1, 1)),
    labs=(lab(Lab.BMI, 31.27, date(2026, 5, 6)), lab(Lab.WAIST, 84.9, date(2026, 5, 6))),
)
VITAMIN_D_LOW = rec(
    condition(Problem.T2DM, onset=date(2018, 1, 1)),
    labs=(lab(Lab.VITAMIN_D, 16, date(2026, 9, 1)),),
    meds=(
        medication({DrugClass.ACTIVE_VITAMIN_D}, date(2026, 2, 1), name="calcitriol 0.25 mcg"),
        medication({DrugClass.CALCIUM_SUPPLEMENT}, date(2026, 2, 1), name="calcium carbonate 1250 mg"),
    ),
)


def finding_of(check: Any, record: PatientRecord, settings: RuleSettings = CN) -> Finding:
    found = check(record, NOW, settings)
    assert found is not None
    assert isinstance(found, Finding)
    return found


CASES = [
    (diabetic_fracture_risk_phenotype, ALL_PHENOTYPES),
    (fall_risk_assessment_due, FRAGILE),
    (obesity_bone_assessment, OBESE),
    (vitamin_d_deficiency, VITAMIN_D_LOW),
]


def test_every_screening_topic_has_wording() -> None:
    assert set(SCREENING) <= set(wording())


@pytest.mark.parametrize(("check", "record"), CASES, ids=[t.value for t in SCREENING])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_card_shape(check: Any, record: PatientRecord, language: str) -> None:
    finding = finding_of(check, record)
    card = render(finding, record, NOW, language)
    assert isinstance(card, Card)
    assert card.indicator == "info"
    assert 0 < len(card.summary) < 140
    assert card.source.topic is not None
    assert (card.source.topic.system, card.source.topic.code) == (TOPIC_SYSTEM, finding.topic.value)
    assert len(card.override_reasons) == 5  # every card can be overridden (info cards too)
    assert card.detail is not None
    assert ("来源" in card.detail) is (language == "zh")
    assert ("Source:" in card.detail) is (language == "en")
    if language == "zh":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in card.summary)


@pytest.mark.parametrize(("check", "record"), CASES, ids=[t.value for t in SCREENING])
def test_the_topic_code_never_changes_with_the_language(check: Any, record: PatientRecord) -> None:
    finding = finding_of(check, record)
    en, cn = render(finding, record, NOW, "en"), render(finding, record, NOW, "zh")
    assert en.source.topic is not None and cn.source.topic is not None
    assert en.source.topic.code == cn.source.topic.code
    assert en.source.topic.display != cn.source.topic.display
    assert en.summary != cn.summary


def _service_request(card: Card) -> dict[str, Any]:
    (suggestion,) = card.suggestions
    (action,) = suggestion.actions
    assert action.type == "create"
    assert action.resource is not None
    ServiceRequest.model_validate(action.resource)
    return action.resource


class TestPhenotypeCard:
    def test_english_detail_quotes_the_patient(self) -> None:
        card = render(finding_of(diabetic_fracture_risk_phenotype, ALL_PHENOTYPES), ALL_PHENOTYPES, NOW, "en")
        detail = card.detail or ""
        for words in (
            "diabetes for 17 years (since 2009-04-15)",
            "diabetic neuropathy (recorded 2019-05-02)",
            "history of hypoglycaemia (last recorded 2025-01-10)",
            "diabetic kidney disease",
            "eGFR 40 mL/min/1.73 m² on 2026-10-02",
            "last: 2022-08-19",
            "2 years",
            "bone density alone underestimates fracture risk",
            "section 1.4",
        ):
            assert words in detail, words
        assert card.summary == (
            "Type 2 diabetes for 17 years with neuropathy, past hypoglycaemia and kidney disease raises "
            "fracture risk; no bone density scan in 2 years"
        )

    def test_chinese_detail(self) -> None:
        card = render(finding_of(diabetic_fracture_risk_phenotype, ALL_PHENOTYPES), ALL_PHENOTYPES, NOW, "zh")
        detail = card.detail or ""
        for words in (
            "糖尿病病程 17 年",
            "糖尿病神经病变",
            "既往低血糖史",
            "糖尿病肾病",
            "糖尿病肾病（记录于 2021-06-01；eGFR 40 mL/min/1.73 m²（2026-10-02））",
            "近2年无骨密度（DXA）结果（上次：2022-08-19）",
            "低估",
            "第1.4节",
        ):
            assert words in detail, words
        assert "DXA" in card.summary

    def test_the_summary_stays_short_with_every_phenotype(self) -> None:
        finding = finding_of(diabetic_fracture_risk_phenotype, ALL_PHENOTYPES)
        assert len(finding.facts.phenotypes) == 4
        for language in ("en", "zh"):
            assert len(render(finding, ALL_PHENOTYPES, NOW, language).summary) < 140

    def test_ckd_without_the_diabetic_label_is_named_as_such(self) -> None:
        record = rec(
            condition(Problem.T2DM, onset=date(2020, 1, 1)),
            condition(Problem.CHRONIC_KIDNEY_DISEASE, onset=date(2024, 2, 2)),
        )
        card = render(finding_of(diabetic_fracture_risk_phenotype, record), record, NOW, "en")
        assert "chronic kidney disease with type 2 diabetes (recorded 2024-02-02)" in (card.detail or "")
        assert "last: never recorded" in (card.detail or "")

    @pytest.mark.parametrize(
        ("language", "line", "summary"),
        [
            (
                "en",
                "- diabetic kidney disease (eGFR 26 mL/min/1.73 m² on 2026-10-02)",
                "Type 2 diabetes with kidney disease raises fracture risk; no bone density scan in 2 years",
            ),
            (
                "zh",
                "- 糖尿病肾病（eGFR 26 mL/min/1.73 m²（2026-10-02））",
                "2型糖尿病伴糖尿病肾病，骨折风险高；",
            ),
        ],
    )
    def test_a_condition_recorded_without_a_date_is_named_without_one(
        self, language: str, line: str, summary: str
    ) -> None:
        record = rec(
            condition(Problem.T2DM, onset=date(2024, 1, 1)),
            condition(Problem.DIABETIC_KIDNEY_DISEASE),  # no onset, no recorded date
            labs=(lab(Lab.EGFR, 26, date(2026, 10, 2)),),
        )
        card = render(finding_of(diabetic_fracture_risk_phenotype, record), record, NOW, language)
        detail = card.detail or ""
        assert line in detail.splitlines()
        assert "recorded never recorded" not in detail and "记录于 未记录" not in detail
        assert card.summary.startswith(summary)

    def test_the_summary_is_one_sentence_with_the_duration_alone(self) -> None:
        record = rec(condition(Problem.T2DM, onset=date(2009, 4, 15)))
        card = render(finding_of(diabetic_fracture_risk_phenotype, record), record, NOW, "en")
        assert (
            card.summary
            == "Type 2 diabetes for 17 years raises fracture risk; no bone density scan in 2 years"
        )

    @pytest.mark.parametrize("language", ["en", "zh"])
    def test_the_detail_leaves_the_offer_to_the_suggestion(self, language: str) -> None:
        card = render(
            finding_of(diabetic_fracture_risk_phenotype, ALL_PHENOTYPES), ALL_PHENOTYPES, NOW, language
        )
        assert card.suggestions
        assert "Offered" not in (card.detail or "") and "可开具" not in (card.detail or "")

    def test_suggests_a_dxa_service_request(self) -> None:
        card = render(finding_of(diabetic_fracture_risk_phenotype, ALL_PHENOTYPES), ALL_PHENOTYPES, NOW, "en")
        resource = _service_request(card)
        assert resource["status"] == "draft"
        assert resource["intent"] == "proposal"
        assert resource["subject"] == {"reference": "Patient/p1"}
        assert resource["code"]["coding"][0]["system"] == "http://loinc.org"
        assert resource["code"]["coding"][0]["code"] == "38268-9"
        assert card.selection_behavior == "any"


class TestFallRiskCard:
    def test_english_detail_lists_the_screening_items_and_the_reasons(self) -> None:
        card = render(finding_of(fall_risk_assessment_due, FRAGILE), FRAGILE, NOW, "en")
        detail = card.detail or ""
        for words in (
            # the bone fragility reads as on the drug cards (the shared phrase library)
            "T-score -2.6 (lumbar spine, 2025-03-03)",
            "anti-osteoporosis drug: denosumab (2026-06-01)",  # the glossary name of "Prolia 60 mg"
            "last: 2024-09-09",
            "12 months",
            "10 g monofilament",
            "neuropathy",
            "cataract",
            "hypoglycaemia",
            "Timed Up and Go",
            "home safety",
            "section 2.1",
        ):
            assert words in detail, words

    def test_chinese_detail(self) -> None:
        card = render(finding_of(fall_risk_assessment_due, FRAGILE), FRAGILE, NOW, "zh")
        detail = card.detail or ""
        for words in (
            "2型糖尿病合并骨脆性增加：腰椎T值-2.6（2025-03-03）；抗骨质疏松药物：地舒单抗（2026-06-01）。",
            "（上次：2024-09-09）",
            "10 g 单丝",
            "白内障",
            "TUG",
            "居家环境",
            "第2.1节",
        ):
            assert words in detail, words

    def test_suggests_a_fall_risk_assessment(self) -> None:
        card = render(finding_of(fall_risk_assessment_due, FRAGILE), FRAGILE, NOW, "zh")
        resource = _service_request(card)
        assert resource["code"]["coding"][0] == {
            "system": "http://loinc.org",
            "code": "73830-2",
            "display": "Fall risk assessment",
        }
        assert resource["subject"] == {"reference": "Patient/p1"}


class TestObesityCard:
    def test_english_detail(self) -> None:
        card = render(finding_of(obesity_bone_assessment, OBESE), OBESE, NOW, "en")
        detail = card.detail or ""
        for words in (
            "BMI 31.2 kg/m² on 2026-05-06 (≥ 28)",
            "waist 84.9 cm on 2026-05-06 (under 85 cm for women)",
            "China's adult standard",
            "does not protect against fracture",
            "overstate bone strength",
            "20–24",
            "bone-neutral",
            "Obesity and osteoporosis, sections 1, 4, 5",
        ):
            assert words in detail, words
        assert "BMI 31.2" in card.summary
        assert card.suggestions == []

    def test_who_profile_and_waist_only(self) -> None:
        record = rec(
            condition(Problem.OSTEOPOROSIS, onset=date(2020, 1, 1)),
            labs=(lab(Lab.BMI, 29.99, date(2026, 5, 6)), lab(Lab.WAIST, 104, date(2026, 5, 6))),
            who=patient(Sex.MALE),
        )
        card = render(finding_of(obesity_bone_assessment, record, WHO), record, NOW, "en")
        detail = card.detail or ""
        assert "WHO standard" in detail
        assert "BMI 29.9 kg/m² on 2026-05-06 (under 30)" in detail  # never "30"
        assert "waist 104 cm on 2026-05-06 (≥ 102 cm for men)" in detail
        assert "bone fragility (osteoporosis on the problem list (since 2020-01-01))" in detail
        assert "waist 104 cm" in card.summary

    def test_chinese_detail(self) -> None:
        card = render(finding_of(obesity_bone_assessment, OBESE), OBESE, NOW, "zh")
        detail = card.detail or ""
        for words in ("BMI 31.2 kg/m²", "中国成人标准", "GLP-1受体激动剂", "20–24"):
            assert words in detail, words


class TestVitaminDCard:
    def test_english_detail(self) -> None:
        card = render(finding_of(vitamin_d_deficiency, VITAMIN_D_LOW), VITAMIN_D_LOW, NOW, "en")
        detail = card.detail or ""
        for words in (
            "25-OH vitamin D 16 ng/mL on 2026-09-01",
            "below 20 ng/mL (50 nmol/L)",
            "No native vitamin D (cholecalciferol, ergocalciferol) is active",
            "calcitriol 0.25 mcg is an active vitamin D",
            "calcium supplement is already active",
            "replete vitamin D together with calcium",
            "recheck 25-OH vitamin D",
            "section 2.3",
        ):
            assert words in detail, words
        assert card.suggestions == []

    def test_chinese_detail(self) -> None:
        card = render(finding_of(vitamin_d_deficiency, VITAMIN_D_LOW), VITAMIN_D_LOW, NOW, "zh")
        detail = card.detail or ""
        for words in (
            "25-羟维生素D 16 ng/mL（2026-09-01）",
            "胆钙化醇",
            "活性维生素D",
            "补钙",
            "复查",
            "第2.3节",
        ):
            assert words in detail, words


def test_a_missing_date_reads_never_recorded() -> None:
    record = rec(
        condition(Problem.T2DM, onset=date(2018, 1, 1)),
        condition(Problem.OSTEOPOROSIS, onset=date(2019, 1, 1)),
    )
    finding = finding_of(fall_risk_assessment_due, record)
    assert "last: never recorded" in (render(finding, record, NOW, "en").detail or "")
    assert "未记录" in (render(finding, record, NOW, "zh").detail or "")


def test_windows_in_the_wording_follow_the_settings() -> None:
    settings = RuleSettings(fall_risk_window_days=183)
    record = rec(
        condition(Problem.T2DM, onset=date(2018, 1, 1)),
        condition(Problem.OSTEOPOROSIS, onset=date(2019, 1, 1)),
    )
    card = render(finding_of(fall_risk_assessment_due, record, settings), record, NOW, "en")
    assert "183 days" in card.summary


@pytest.mark.parametrize("language", ["en", "zh"])
def test_bone_fragility_reads_as_on_every_card(language: str) -> None:
    """Each fragility reason is worded by the shared phrase library, with its own dates and values."""
    record = rec(
        condition(Problem.T2DM, onset=date(2018, 1, 1)),
        condition(Problem.OSTEOPOROSIS, onset=date(2019, 3, 4)),
        condition(Problem.FRAGILITY_FRACTURE, onset=date(2023, 1, 10), active=False),
        labs=(lab(Lab.T_SCORE, -2.8, date(2025, 3, 3), BmdSite.FEMORAL_NECK),),
        meds=(medication({DrugClass.BISPHOSPHONATE}, date(2024, 2, 2), name="alendronate 70 mg weekly"),),
    )
    finding = finding_of(fall_risk_assessment_due, record)
    items = phrases(language).fragility_items(finding.facts.fragility)
    assert len(items) == 4
    detail = render(finding, record, NOW, language).detail or ""
    assert phrases(language).join(items) in detail
    if language == "en":
        assert (
            "osteoporosis on the problem list (since 2019-03-04); a fragility (osteoporotic) fracture on "
            "2023-01-10; T-score -2.8 (femoral neck, 2025-03-03); anti-osteoporosis drug: alendronate "
            "(2024-02-02)."
        ) in detail
    else:
        assert "病历记录骨质疏松症（自2019-03-04起）；脆性（骨质疏松性）骨折史（2023-01-10）；" in detail
        assert "股骨颈T值-2.8（2025-03-03）；抗骨质疏松药物：阿仑膦酸钠（2024-02-02）。" in detail


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_population_is_worded_from_the_yaml(language: str) -> None:
    only_fragility = rec(
        condition(Problem.OSTEOPOROSIS, onset=date(2019, 1, 1)),
        labs=(lab(Lab.VITAMIN_D, 12, date(2026, 9, 1)),),
    )
    both = rec(
        condition(Problem.T2DM, onset=date(2018, 1, 1)),
        condition(Problem.OSTEOPOROSIS, onset=date(2019, 1, 1)),
        labs=(lab(Lab.VITAMIN_D, 12, date(2026, 9, 1)),),
    )
    fragile = (
        render(finding_of(vitamin_d_deficiency, only_fragility), only_fragility, NOW, language).detail or ""
    )
    diabetic = render(finding_of(vitamin_d_deficiency, both), both, NOW, language).detail or ""
    if language == "en":
        assert (
            "in a patient with bone fragility (osteoporosis on the problem list (since 2019-01-01))."
            in fragile
        )
        assert "in a patient with type 2 diabetes and bone fragility." in diabetic
    else:
        assert fragile.startswith(
            "骨脆性增加（病历记录骨质疏松症（自2019-01-01起））患者 25-羟维生素D 12 ng/mL"
        )
        assert diabetic.startswith("2型糖尿病合并骨脆性增加患者 25-羟维生素D 12 ng/mL")


def test_a_population_needs_diabetes_or_bone_fragility() -> None:
    with pytest.raises(ValueError, match="type 2 diabetes or bone fragility"):
        Population(t2dm=False, fragility=None)


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "eGFR 41.6 mL/min/1.73 m² on"), ("zh", "eGFR 41.6 mL/min/1.73 m²（")],
)
def test_the_kidney_phenotype_quotes_renal_function_as_every_card_does(language: str, words: str) -> None:
    record = rec(
        condition(Problem.T2DM, onset=date(2020, 1, 1)),
        condition(Problem.DIABETIC_KIDNEY_DISEASE, onset=date(2024, 2, 2)),
        labs=(lab(Lab.EGFR, 41.6, date(2026, 10, 2)),),
    )
    finding = finding_of(diabetic_fracture_risk_phenotype, record)
    assert finding.facts.egfr is not None
    detail = render(finding, record, NOW, language).detail or ""
    assert words in detail  # the value as reported, not rounded to a whole number
    assert phrases(language).renal(finding.facts.egfr) in detail


# --- revision 3: the vitamin D card never advises calcium with high calcium, nor against the renal team ---


def _vitamin_d_card(record: PatientRecord, language: str) -> Card:
    finding = vitamin_d_deficiency(record, NOW, CN)
    assert finding is not None
    card = render(finding, record, NOW, language)
    assert len(card.summary) < 140
    return card


@pytest.mark.parametrize("language", ["en", "zh"])
def test_vitamin_d_card_with_high_calcium_says_find_the_cause_and_no_calcium(language: str) -> None:
    record = rec(
        condition(Problem.T2DM, onset=date(2018, 1, 1)),
        labs=(lab(Lab.VITAMIN_D, 12.0, 20), lab(Lab.CALCIUM, 2.74, 10)),
    )
    card = _vitamin_d_card(record, language)
    detail = card.detail or ""
    assert (
        "请先查明原因（PTH）；不补钙"
        if language == "zh"
        else "find the cause (PTH) first; no calcium supplement"
    ) in detail
    assert "2.74" in detail
    assert ("同时补钙" if language == "zh" else "together with calcium") not in detail
    assert ("建议补充维生素D和钙" if language == "zh" else "replete with calcium") not in card.summary


@pytest.mark.parametrize("language", ["en", "zh"])
def test_vitamin_d_card_with_renal_function_below_30_leaves_calcium_to_the_renal_team(language: str) -> None:
    record = rec(
        condition(Problem.T2DM, onset=date(2018, 1, 1)),
        labs=(lab(Lab.VITAMIN_D, 12.0, 20), lab(Lab.EGFR, 24, 15)),
    )
    detail = _vitamin_d_card(record, language).detail or ""
    assert (
        "钙摄入量遵肾内科意见（KDIGO指南）" if language == "zh" else "as the renal team advises (KDIGO)"
    ) in detail
    assert "24" in detail
    assert ("同时补钙" if language == "zh" else "together with calcium") not in detail
    dialysis = rec(
        condition(Problem.T2DM, onset=date(2018, 1, 1)),
        condition(Problem.DIALYSIS, onset=date(2024, 1, 1)),
        labs=(lab(Lab.VITAMIN_D, 12.0, 20),),
    )
    assert ("透析" if language == "zh" else "on dialysis") in (
        _vitamin_d_card(dialysis, language).detail or ""
    )
