"""Cards for glucose-lowering drugs: en/zh wording with the patient's values, suggestions, indicators."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from service.cards import render
from service.kernel.findings import Finding
from service.kernel.record import BmdSite, DrugClass, Lab, PatientRecord, Problem, Sex
from service.rules.diabetes_drugs import insulin_ordered, sglt2_ordered, tzd_active, tzd_ordered
from tests.builders import NOW, ago, born_years_ago, condition, draft, lab, medication, patient, record
from tests.service.rules._drug_records import (
    INSULIN,
    METFORMIN,
    ORAL_BP,
    SETTINGS,
    SGLT2,
    TZD,
    osteoporosis,
    t2dm,
)

LONG_NAME = "metformin hydrochloride 500 MG / pioglitazone 15 MG Oral Tablet [Actoplus Met] – 90 tablets, take as directed"


def _card(finding: Finding | None, rec: PatientRecord, language: str) -> dict[str, Any]:
    assert finding is not None
    card = render(finding, rec, NOW, language).to_json()
    assert len(card["summary"]) < 140
    return card


def _fragile_tzd_order() -> PatientRecord:
    return record(
        conditions=[osteoporosis(date(2019, 5, 2))],
        labs=[lab(Lab.T_SCORE, -2.8, 300, site=BmdSite.LUMBAR_SPINE), lab(Lab.EGFR, 64, 40)],
        meds=[medication(ORAL_BP, 900, name="alendronate 70 mg", status="completed")],
        drafts=[draft(METFORMIN, id="met"), draft(TZD, name=LONG_NAME, id="pio")],
    )


@pytest.mark.parametrize("language", ["en", "zh"])
def test_tzd_order_card_quotes_the_fragility_and_offers_to_delete_the_tzd(language: str) -> None:
    rec = _fragile_tzd_order()
    card = _card(tzd_ordered(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "warning"
    assert card["source"]["topic"] == {
        "system": "urn:bone-health-cds:rule",
        "code": "tzd-fracture-risk",
        "display": "噻唑烷二酮类药物与骨折风险"
        if language == "zh"
        else "Thiazolidinedione and fracture risk",
    }
    detail = card["detail"]
    drug = "阿仑膦酸钠" if language == "zh" else "alendronate"  # the glossary name of the drug taken
    for value in ("2019-05-02", "-2.8", ago(300).date().isoformat(), drug, LONG_NAME):
        assert value in detail
    assert ("第2.2节" if language == "zh" else "section 2.2") in detail
    alternatives = (
        ("二甲双胍", "GLP-1受体激动剂", "DPP-4抑制剂")
        if language == "zh"
        else ("Metformin", "GLP-1", "DPP-4")
    )
    for name in alternatives:
        assert name in detail
    assert ("首选" if language == "zh" else "first-line") in detail
    [suggestion] = card["suggestions"]
    [action] = suggestion["actions"]
    assert action == {
        "type": "delete",
        "description": action["description"],
        "resourceId": "MedicationRequest/pio",
    }
    assert card["selectionBehavior"] == "at-most-one"
    assert card["overrideReasons"]


def test_tzd_info_card_for_a_woman_with_t2dm_can_be_overridden_too() -> None:
    rec = record(conditions=[t2dm()], drafts=[draft(TZD, name="Actos 15 mg")])
    card = _card(tzd_ordered(rec, NOW, SETTINGS), rec, "en")
    assert card["indicator"] == "info"
    assert "woman" in card["detail"] and "Actos 15 mg" in card["detail"]
    assert [r["code"] for r in card["overrideReasons"]] == [
        "remind-later",
        "patient-declined",
        "not-applicable",
        "addressed-elsewhere",
        "benefit-outweighs-risk",
    ]
    assert {r["system"] for r in card["overrideReasons"]} == {"urn:bone-health-cds:override"}
    assert len(card["suggestions"]) == 1


@pytest.mark.parametrize("language", ["en", "zh"])
def test_tzd_view_card_shows_the_order_date_and_suggests_nothing(language: str) -> None:
    rec = record(conditions=[osteoporosis()], meds=[medication(TZD, 700, name="pioglitazone 30 mg")])
    card = _card(tzd_active(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "warning"
    ordered = ago(700).date().isoformat()
    assert (f"开具于{ordered}" if language == "zh" else f"ordered {ordered}") in card["detail"]
    assert "suggestions" not in card


@pytest.mark.parametrize("language", ["en", "zh"])
def test_sglt2_card_gives_the_egfr_and_says_not_to_withhold_for_kidney_or_heart(language: str) -> None:
    rec = record(
        conditions=[condition(Problem.FRAGILITY_FRACTURE, active=False, onset=date(2023, 1, 10))],
        labs=[lab(Lab.EGFR, 48, 30)],
        drafts=[draft(SGLT2, name="Jardiance 10 mg")],
    )
    card = _card(sglt2_ordered(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "info"
    detail = card["detail"]
    assert "48 mL/min/1.73 m²" in detail and ago(30).date().isoformat() in detail and "2023-01-10" in detail
    if language == "zh":
        assert "非禁忌" in detail and "心衰" in detail
    else:
        assert "not a contraindication" in detail and "heart failure" in detail and "kidney disease" in detail
    assert "suggestions" not in card and card["overrideReasons"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_insulin_card_lists_the_reasons_and_the_three_recommendations(language: str) -> None:
    rec = record(
        who=patient(Sex.MALE, born_years_ago(72)),
        conditions=[osteoporosis(), condition(Problem.HYPOGLYCAEMIA, onset=date(2025, 3, 2))],
        drafts=[draft(INSULIN, name="Lantus 100 units/mL")],
    )
    card = _card(insulin_ordered(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "warning" and card["overrideReasons"]
    detail = card["detail"]
    assert "72" in detail and "2025-03-02" in detail and "Lantus 100 units/mL" in detail
    words = (
        ("个体化血糖目标", "低血糖", "跌倒风险")
        if language == "zh"
        else (
            "individual glucose target",
            "hypoglycaemia",
            "fall risk",
        )
    )
    for word in words:
        assert word in detail
    assert ("第1.4、2.1、2.2节" if language == "zh" else "sections 1.4, 2.1, 2.2") in detail
    assert "suggestions" not in card


def test_insulin_card_for_hypoglycaemia_alone_does_not_claim_older_age() -> None:
    rec = record(
        who=patient(birth=born_years_ago(50)),
        conditions=[condition(Problem.HYPOGLYCAEMIA, active=False)],
        drafts=[draft(INSULIN)],
    )
    card = _card(insulin_ordered(rec, NOW, SETTINGS), rec, "en")
    assert "history of hypoglycaemia" in card["detail"]
    assert "age 50" not in card["detail"] and "Bone fragility" not in card["detail"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_tzd_card_without_metformin_names_the_renal_function_and_a_kidney_dosed_dpp4(language: str) -> None:
    rec = record(
        conditions=[osteoporosis()],
        labs=[lab(Lab.EGFR, 24, 12)],
        drafts=[draft(TZD, name="pioglitazone 15 mg", id="pio")],
    )
    detail = _card(tzd_ordered(rec, NOW, SETTINGS), rec, language)["detail"]
    assert ("二甲双胍" if language == "zh" else "Metformin is not named") in detail
    assert ("首选" if language == "zh" else "first-line") not in detail
    assert "24" in detail and ago(12).date().isoformat() in detail
    assert ("利格列汀除外" if language == "zh" else "except linagliptin") in detail


@pytest.mark.parametrize("language", ["en", "zh"])
def test_tzd_card_on_dialysis_says_so_and_without_renal_function_asks_for_it(language: str) -> None:
    dialysis = record(
        conditions=[osteoporosis(), condition(Problem.DIALYSIS, onset=date(2024, 1, 5))],
        labs=[lab(Lab.EGFR, 70, 12)],
        drafts=[draft(TZD)],
    )
    assert ("透析" if language == "zh" else "on dialysis") in _card(
        tzd_ordered(dialysis, NOW, SETTINGS), dialysis, language
    )["detail"]
    unknown = record(conditions=[osteoporosis()], drafts=[draft(TZD)])
    detail = _card(tzd_ordered(unknown, NOW, SETTINGS), unknown, language)["detail"]
    assert ("近12个月无肾功能结果" if language == "zh" else "no renal function in 12 months") in detail


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_secretagogue_card_speaks_of_secretagogues(language: str) -> None:
    rec = record(
        who=patient(Sex.MALE, born_years_ago(71)),
        conditions=[osteoporosis()],
        drafts=[draft({DrugClass.SULFONYLUREA}, name="glimepiride 2 mg")],
    )
    card = _card(insulin_ordered(rec, NOW, SETTINGS), rec, language)
    assert ("磺脲类" if language == "zh" else "Sulfonylureas") in card["summary"]
    assert "glimepiride 2 mg" in card["detail"]
    assert ("磺脲类和格列奈类同样" if language == "zh" else "Sulfonylureas and glinides cause") in card[
        "detail"
    ]
    assert ("胰岛素易引起低血糖" if language == "zh" else "Insulin readily") not in card["detail"]
