"""Cards of the r3 order-time drug-safety topics and of osteoporosis-untreated: en/zh wording with the
patient's own values, the suggestion shapes of the drug guard (one suggestion replacing the draft, tests
inside a drug suggestion, isRecommended), and the one-sentence reason for a withheld offer."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from service.cards import render
from service.kernel.findings import Finding
from service.kernel.record import Lab, PatientRecord, Problem, Sex
from service.rules.drug_safety import bone_drug_in_pregnancy, oral_bisphosphonate_unsuitable
from service.rules.treatment_gap import osteoporosis_untreated
from tests.builders import NOW, born_years_ago, condition, days_ago, draft, lab, patient, record
from tests.service.rules._drug_records import ORAL_BP, SETTINGS

READY = [lab(Lab.EGFR, 70, 10), lab(Lab.CALCIUM, 2.40, 10), lab(Lab.VITAMIN_D, 30, 10)]
BED_BOUND = condition(Problem.BED_BOUND, onset=days_ago(100))
T2DM = condition(Problem.T2DM, onset=date(2012, 3, 1))
OSTEOPOROSIS = condition(Problem.OSTEOPOROSIS, onset=date(2024, 5, 2))
RXNORM_ZOLEDRONIC_ACID = "705824"
RXNORM_ALENDRONATE = "904431"
LOINC_CREATININE = "2160-0"
LOINC_25_OH_D = "62292-8"
DETAIL_BUDGET = {"en": 600, "zh": 300}


def _card(finding: Finding | None, rec: PatientRecord, language: str = "en") -> dict[str, Any]:
    assert finding is not None
    card = render(finding, rec, NOW, language).to_json()
    assert len(card["summary"]) < 140
    before_source = card["detail"].rsplit("\n\n", 1)[0]
    assert len(before_source) <= DETAIL_BUDGET[language], before_source
    return card


def _created(suggestion: dict[str, Any]) -> list[str]:
    codes = []
    for action in suggestion["actions"]:
        resource = action.get("resource") or {}
        concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
        codes += [c["code"] for c in concept.get("coding", [])]
    return codes


@pytest.mark.parametrize("language", ["en", "zh"])
def test_oral_unsuitable_replaces_the_draft_in_one_suggestion_with_its_creatinine(language: str) -> None:
    rec = record(BED_BOUND, labs=[lab(Lab.EGFR, 55, 75), *READY[1:]], drafts=[draft(ORAL_BP, name="Fosamax")])
    card = _card(oral_bisphosphonate_unsuitable(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "warning" and card["selectionBehavior"] == "at-most-one"
    [suggestion] = card["suggestions"]
    assert [a["type"] for a in suggestion["actions"]] == ["delete", "create", "create"]
    assert suggestion["actions"][0]["resourceId"] == "MedicationRequest/d1"
    assert _created(suggestion) == [RXNORM_ZOLEDRONIC_ACID, LOINC_CREATININE]
    assert "Fosamax" in card["detail"]
    words = {
        "en": ["Bed-bound", "once yearly", "creatinine clearance", "Zuo & Yang 2025, section 3"],
        "zh": ["长期卧床", "每年一次", "肌酐清除率", "左梓旭、杨斌 2025，第3节"],
    }[language]
    assert all(w in card["detail"] for w in words), card["detail"]


def test_oral_unsuitable_with_zoledronic_acid_withheld_says_why_and_offers_the_delete_and_the_test() -> None:
    rec = record(BED_BOUND, labs=READY[1:], drafts=[draft(ORAL_BP, name="Fosamax")])
    card = _card(oral_bisphosphonate_unsuitable(rec, NOW, SETTINGS), rec)
    assert card["selectionBehavior"] == "any"  # a delete with a test
    assert [[a["type"] for a in s["actions"]] for s in card["suggestions"]] == [["delete"], ["create"]]
    assert "Zoledronic acid is not offered: no renal function within 12 months" in card["detail"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_pregnancy_card_cites_the_product_labels(language: str) -> None:
    rec = record(condition(Problem.PREGNANCY, onset=days_ago(40)), drafts=[draft(ORAL_BP, name="Fosamax")])
    card = _card(bone_drug_in_pregnancy(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "critical"
    assert (
        card["source"]["label"]
        == {"en": "The product labels (prescribing information)", "zh": "药品说明书"}[language]
    )
    assert "url" not in card["source"]  # no DOI: the card rests on no review
    [suggestion] = card["suggestions"]
    assert [a["type"] for a in suggestion["actions"]] == ["delete"]
    assert days_ago(40).isoformat() in card["detail"]
    assert {"en": "not for use in pregnancy", "zh": "不用于妊娠"}[language] in card["detail"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_untreated_with_neuropathy_recommends_zoledronic_acid(language: str) -> None:
    neuropathy = condition(Problem.DIABETIC_NEUROPATHY, onset=date(2024, 4, 6))
    fracture = condition(Problem.FRAGILITY_FRACTURE, onset=days_ago(100), active=False)
    rec = record(T2DM, neuropathy, fracture, labs=READY)
    card = _card(osteoporosis_untreated(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "critical" and card["selectionBehavior"] == "at-most-one"
    offers = [(_created(s), s.get("isRecommended")) for s in card["suggestions"]]
    assert offers == [([RXNORM_ZOLEDRONIC_ACID], True), ([RXNORM_ALENDRONATE], None)]
    assert days_ago(100).isoformat() in card["detail"]
    assert {"en": "Zuo & Yang 2025, sections 3, 4", "zh": "左梓旭、杨斌 2025，第3、4节"}[language] in card[
        "detail"
    ]


def test_untreated_puts_the_preparation_tests_inside_the_drug_suggestion() -> None:
    rec = record(T2DM, OSTEOPOROSIS, labs=[lab(Lab.EGFR, 70, 40)])
    card = _card(osteoporosis_untreated(rec, NOW, SETTINGS), rec)
    zoledronic, alendronate = card["suggestions"]
    assert _created(zoledronic) == [RXNORM_ZOLEDRONIC_ACID, LOINC_CREATININE, "2000-8", LOINC_25_OH_D]
    assert _created(alendronate) == [RXNORM_ALENDRONATE, "2000-8", LOINC_25_OH_D]


def test_untreated_with_low_vitamin_d_offers_alendronate_with_vitamin_d_and_says_why_not_the_infusion() -> (
    None
):
    rec = record(T2DM, OSTEOPOROSIS, labs=[*READY[:2], lab(Lab.VITAMIN_D, 14, 30)])
    card = _card(osteoporosis_untreated(rec, NOW, SETTINGS), rec)
    assert [_created(s) for s in card["suggestions"]] == [[RXNORM_ALENDRONATE]]
    assert "start vitamin D with alendronate" in card["detail"]
    assert "Zoledronic acid is not offered: low 25-OH vitamin D" in card["detail"]


def test_untreated_for_a_woman_under_50_leaves_the_choice_to_a_specialist() -> None:
    rec = record(T2DM, OSTEOPOROSIS, labs=READY, who=patient(Sex.FEMALE, born_years_ago(45)))
    card = _card(osteoporosis_untreated(rec, NOW, SETTINGS), rec)
    assert card.get("suggestions", []) == []
    assert "A woman under 50: the choice of drug is a specialist's" in card["detail"]


@pytest.mark.parametrize(
    ("labs", "conditions", "words"),
    [
        ([lab(Lab.EGFR, 70, 10), lab(Lab.CALCIUM, 2.70, 10)], [], "no calcium supplement"),
        ([lab(Lab.EGFR, 25, 10), *READY[1:]], [], "as the renal team advises (KDIGO)"),
        (READY, [], "Give calcium and vitamin D"),
    ],
)
def test_untreated_calcium_advice_never_contradicts(labs: list, conditions: list, words: str) -> None:
    rec = record(T2DM, OSTEOPOROSIS, *conditions, labs=labs)
    card = _card(osteoporosis_untreated(rec, NOW, SETTINGS), rec)
    assert words in card["detail"]
    if words != "Give calcium and vitamin D":
        assert "Give calcium and vitamin D" not in card["detail"]


def test_untreated_during_a_drug_holiday_says_restart_or_change() -> None:
    from tests.service.rules.test_treatment_gap import statement

    course = statement(ORAL_BP, 640 + 1900, 640)
    fracture = condition(Problem.FRAGILITY_FRACTURE, onset=days_ago(100))
    rec = record(T2DM, OSTEOPOROSIS, course, fracture, labs=READY)
    card = _card(osteoporosis_untreated(rec, NOW, SETTINGS), rec)
    assert card["summary"] == "Fracture during a bisphosphonate drug holiday: restart or change treatment"
    assert f"course ended {days_ago(640).isoformat()}" in card["detail"]
