"""Cards for bone drugs: en/zh wording with the patient's values and dates, FHIR suggestions, indicators."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

from service.cards import render
from service.kernel.findings import Finding
from service.kernel.record import DrugClass, Lab, PatientRecord, Problem, Sex
from service.kernel.record import TestOrder as ServiceRequestOrder
from service.rules.bone_drugs import (
    anabolic_active,
    anabolic_ordered,
    bisphosphonate_renal_active,
    bisphosphonate_renal_ordered,
    bisphosphonate_renal_unknown,
    hypercalcemia_on_therapy,
    pre_infusion_calcium,
)
from tests.builders import NOW, ago, born_years_ago, condition, draft, lab, medication, patient, record
from tests.service.rules._drug_records import (
    ANABOLIC,
    CALCIUM,
    DENOSUMAB,
    NATIVE_D,
    ORAL_BP,
    SETTINGS,
    ZOLEDRONIC,
)

ZOMETA = {DrugClass.ZOLEDRONIC_ACID_ONCOLOGY}


def _card(finding: Finding | None, rec: PatientRecord, language: str) -> dict[str, Any]:
    assert finding is not None
    card = render(finding, rec, NOW, language).to_json()
    assert len(card["summary"]) < 140
    return card


def _service_requests(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every suggested resource, after checking that it is a valid FHIR R4B ServiceRequest."""
    resources = [
        a["resource"] for s in card.get("suggestions", []) for a in s["actions"] if a["type"] == "create"
    ]
    for resource in resources:
        ServiceRequest.model_validate(resource)
    return resources


def _codes(card: dict[str, Any]) -> list[str]:
    return [r["code"]["coding"][0]["code"] for r in _service_requests(card)]


def _day(days: int) -> str:
    return ago(days).date().isoformat()


# --- bisphosphonate-renal-contraindication --------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_contraindication_names_the_measure_its_date_and_the_denosumab_alternative(language: str) -> None:
    rec = record(
        labs=[lab(Lab.CREATININE_CLEARANCE, 31, 17), lab(Lab.EGFR, 41, 10)],  # r3: within 7 days
        drafts=[draft(ORAL_BP, name="Fosamax 70 mg", id="fos")],
    )
    card = _card(bisphosphonate_renal_ordered(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "critical" and card["overrideReasons"]
    detail = card["detail"]
    assert "31 mL/min" in detail and _day(17) in detail  # the measure used
    assert "41 mL/min/1.73 m²" in detail and _day(10) in detail  # the other one, for context
    if language == "zh":
        assert "肌酐清除率31 mL/min" in detail and "地舒单抗" in detail and "黑框警告" in detail
        assert "血磷" in detail and "PTH" in detail and "25-羟维生素D" in detail
    else:
        assert "creatinine clearance 31 mL/min" in detail and "denosumab" in detail
        assert "boxed warning" in detail and "severe hypocalcaemia" in detail and "below 30" in detail
        assert "phosphate" in detail and "PTH" in detail and "25-OH vitamin D" in detail
        assert "specialist" in detail
    assert "This applies to this patient" not in detail and "本例适用" not in detail  # 31 ≥ 30
    [suggestion] = card["suggestions"]
    assert suggestion["actions"][0]["resourceId"] == "MedicationRequest/fos"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_contraindication_says_when_cockcroft_gault_was_computed(language: str) -> None:
    rec = record(
        who=patient(Sex.FEMALE, born_years_ago(80)),
        labs=[lab(Lab.CREATININE, 2.0, 15), lab(Lab.BODY_WEIGHT, 60, 40)],
        drafts=[draft(ORAL_BP)],
    )
    card = _card(bisphosphonate_renal_ordered(rec, NOW, SETTINGS), rec, language)
    detail = card["detail"]
    assert "Cockcroft" in detail and "21.2 mL/min" in detail
    assert _day(15) in detail and _day(40) in detail and "60 kg" in detail and "80" in detail
    assert ("本例适用" if language == "zh" else "This applies to this patient") in detail  # 21.2 < 30


def test_contraindication_at_patient_view_shows_the_order_date_and_suggests_nothing() -> None:
    rec = record(
        conditions=[condition(Problem.DIALYSIS)],
        labs=[lab(Lab.EGFR, 9, 20)],
        meds=[medication(ORAL_BP, 500, name="alendronate 70 mg weekly")],
    )
    card = _card(bisphosphonate_renal_active(rec, NOW, SETTINGS), rec, "en")
    assert card["indicator"] == "critical"
    assert f"ordered {_day(500)}" in card["detail"] and "eGFR 9 mL/min/1.73 m²" in card["detail"]
    assert "**On dialysis:** below every renal threshold" in card["detail"]
    assert "suggestions" not in card


# --- bisphosphonate-renal-function-unknown --------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_renal_unknown_offers_a_creatinine_egfr_service_request(language: str) -> None:
    rec = record(labs=[lab(Lab.EGFR, 70, 100)], drafts=[draft(ZOLEDRONIC, name="Aclasta 5 mg/100 mL")])
    card = _card(bisphosphonate_renal_unknown(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "warning"
    [request] = _service_requests(card)
    assert (request["status"], request["intent"]) == ("draft", "proposal")
    assert request["subject"] == {"reference": "Patient/p1"}
    assert request["code"]["coding"][0]["system"] == "http://loinc.org"
    assert _codes(card) == ["2160-0"]
    detail = card["detail"]
    assert "30" in card["summary"] and "Aclasta 5 mg/100 mL" in detail
    assert "eGFR 70 mL/min/1.73 m²" in detail and _day(100) in detail  # the last test, out of the window
    assert ("每次给药前" if language == "zh" else "before each dose") in detail
    assert card["selectionBehavior"] == "any"


def test_renal_unknown_for_an_oral_drug_uses_the_year_window_and_says_when_nothing_exists() -> None:
    rec = record(drafts=[draft(ORAL_BP, name="risedronate 35 mg")])
    card = _card(bisphosphonate_renal_unknown(rec, NOW, SETTINGS), rec, "en")
    assert "365 days" in card["summary"] and "none on record" in card["detail"]
    assert "before each dose" not in card["detail"]


# --- pre-infusion-calcium-check -------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_pre_infusion_card_for_a_first_zoledronic_acid(language: str) -> None:
    rec = record(
        labs=[lab(Lab.CALCIUM, 2.20, 3), lab(Lab.ALBUMIN, 45, 3)],
        drafts=[draft(ZOLEDRONIC, name="Aclasta 5 mg/100 mL")],
    )
    card = _card(pre_infusion_calcium(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "critical"  # r3: hypocalcaemia
    detail = card["detail"]
    assert "2.10 mmol/L" in card["summary"] and "2.10 mmol/L" in detail and "2.20 mmol/L" in detail
    assert _day(3) in detail
    if language == "zh":
        assert (
            "白蛋白校正" in detail
            and "急性期反应" in detail
            and "对乙酰氨基酚" in detail
            and "口腔检查" in detail
        )
        assert "水化" in detail
    else:
        assert "albumin-corrected" in detail and "acute-phase" in detail and "paracetamol" in detail
        assert "hydrate" in detail and "dental check" in detail
    assert _codes(card) == ["62292-8"]  # vitamin D, since none within 365 days; calcium is on record
    delete = card["suggestions"][0]["actions"][0]
    assert (delete["type"], delete["resourceId"]) == ("delete", "MedicationRequest/d1")
    assert card["selectionBehavior"] == "any"  # a delete with tests


def test_pre_infusion_card_for_denosumab_after_a_bisphosphonate_skips_the_first_time_advice() -> None:
    rec = record(
        labs=[lab(Lab.CALCIUM, 2.30, 5), lab(Lab.VITAMIN_D, 14, 60)],
        meds=[medication(ORAL_BP, 900, name="alendronate", status="stopped")],
        drafts=[draft(DENOSUMAB, name="Prolia 60 mg")],
    )
    card = _card(pre_infusion_calcium(rec, NOW, SETTINGS), rec, "en")
    detail = card["detail"]
    assert "denosumab" in card["summary"] and "14 ng/mL" in card["summary"]
    assert "below 20 ng/mL" in detail and "cholecalciferol" in detail
    assert "acute-phase" not in detail and "dental" not in detail
    assert "total, not albumin-corrected" in detail
    assert _codes(card) == [] and "suggestions" not in card  # r3: only missing tests are offered


def test_pre_infusion_card_when_calcium_is_missing_quotes_the_last_one() -> None:
    rec = record(
        labs=[lab(Lab.CALCIUM, 2.41, 45), lab(Lab.VITAMIN_D, 31, 45)],
        meds=[medication(ZOLEDRONIC, 380, status="completed"), medication(NATIVE_D, 200)],
        drafts=[draft(ZOLEDRONIC)],
    )
    card = _card(pre_infusion_calcium(rec, NOW, SETTINGS), rec, "zh")
    assert "近30天无血清钙结果" in card["summary"]
    assert "2.41 mmol/L" in card["detail"] and _day(45) in card["detail"]
    assert "急性期反应" not in card["detail"]


# --- anabolic-duration-limit ----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_anabolic_order_card_lists_the_courses_and_offers_to_delete(language: str) -> None:
    forteo = [
        medication(ANABOLIC, d, name="Forteo", status="completed") for d in (1300, 1210, 1120, 1030, 940, 850)
    ]
    tymlos = [medication(ANABOLIC, d, name="Tymlos", status="completed") for d in (500, 410, 320, 230)]
    rec = record(meds=[*forteo, *tymlos], drafts=[draft(ANABOLIC, name="teriparatide 20 mcg pen", id="ter")])
    card = _card(anabolic_ordered(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "warning"
    detail = card["detail"]
    # 1300 → 850 days ago: 450 + 30; 500 → 230 days ago: 270 + 30; 780 days in all
    assert "780" in card["summary"] and "780" in detail
    course = "{}至{}" if language == "zh" else "{} to {}"
    assert course.format(_day(1300), _day(850)) in detail and course.format(_day(500), _day(230)) in detail
    assert "teriparatide 20 mcg pen" in detail and "730" in detail
    assert ("抗骨吸收" if language == "zh" else "antiresorptive") in detail
    assert ("临床常规" if language == "zh" else "common practice") in detail
    assert card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/ter"


def test_anabolic_view_card_has_no_suggestion() -> None:
    rec = record(meds=[medication(ANABOLIC, 800, name="Forteo pen")])
    card = _card(anabolic_active(rec, NOW, SETTINGS), rec, "en")
    assert f"ordered {_day(800)}" in card["detail"]
    assert "suggestions" not in card


# --- hypercalcemia-on-therapy ---------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_hypercalcaemia_card_on_teriparatide(language: str) -> None:
    rec = record(
        labs=[lab(Lab.CALCIUM, 2.62, 10), lab(Lab.ALBUMIN, 35, 10)],
        meds=[medication(ANABOLIC, 100, name="Forteo pen"), medication(CALCIUM, 300, name="Caltrate 600")],
    )
    card = _card(hypercalcemia_on_therapy(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "warning"
    detail = card["detail"]
    assert "2.72 mmol/L" in detail and "2.62 mmol/L" in detail and _day(10) in detail and "2.60" in detail
    assert "Caltrate 600" in detail and "Forteo pen" in detail
    assert ("16小时" if language == "zh" else "16 hours") in detail
    assert ("白蛋白校正" if language == "zh" else "albumin-corrected") in detail
    assert ("来源：" if language == "zh" else "Source: ") in detail
    assert ("第2.3、3节；药品说明书" if language == "zh" else "sections 2.3, 3; the product labels") in detail


def test_severe_hypercalcaemia_on_calcium_alone_is_critical_without_anabolic_advice() -> None:
    rec = record(
        labs=[lab(Lab.CALCIUM, 3.05, 4)], meds=[medication(CALCIUM, 300, name="calcium carbonate 1250 mg")]
    )
    card = _card(hypercalcemia_on_therapy(rec, NOW, SETTINGS), rec, "en")
    assert card["indicator"] == "critical" and card["overrideReasons"]
    assert "3.05 mmol/L" in card["summary"] and "above 3.00 mmol/L" in card["detail"]
    assert "16 hours" not in card["detail"] and "total, not albumin-corrected" in card["detail"]


# --- the wording each fact chooses ----------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_contraindication_words_renal_function_as_every_card_does(language: str) -> None:
    rec = record(
        who=patient(Sex.MALE, born_years_ago(90)),
        labs=[lab(Lab.CREATININE, 2.5, 15), lab(Lab.BODY_WEIGHT, 60, 40)],
        drafts=[draft(ORAL_BP)],
    )
    card = _card(bisphosphonate_renal_ordered(rec, NOW, SETTINGS), rec, language)
    if language == "zh":
        assert card["summary"] == "肾功能低于35禁用双膦酸盐：肌酐清除率（估算）16.7 mL/min"
        assert (
            f"**肾功能：**Cockcroft-Gault清除率16.7 mL/min（{_day(15)}"
            f"血肌酐2.5 mg/dL，{_day(40)}体重60 kg，90岁男性）"
        ) in card["detail"]
    else:
        assert (
            card["summary"]
            == "Bisphosphonate contraindicated: CrCl (Cockcroft–Gault) 16.7 mL/min is below 35"
        )
        assert (  # r3: named, whatever else was compared (rules.md "Cockcroft–Gault 20 mL/min from ...")
            "**Renal function:** Cockcroft–Gault 16.7 mL/min from creatinine "
            f"2.5 mg/dL on {_day(15)}, 60 kg on {_day(40)}, age 90, male"
        ) in card["detail"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_ckd_epi_value_names_its_creatinine_and_says_no_weight(language: str) -> None:
    rec = record(
        who=patient(Sex.FEMALE, born_years_ago(88)),
        labs=[lab(Lab.CREATININE, 1.6, 5)],
        drafts=[draft(ORAL_BP)],
    )
    detail = _card(bisphosphonate_renal_ordered(rec, NOW, SETTINGS), rec, language)["detail"]
    if language == "zh":
        assert f"（CKD-EPI 2021：{_day(5)}血肌酐1.6 mg/dL，88岁，女性；未记录体重）" in detail
    else:
        assert (
            f"by CKD-EPI 2021 from creatinine 1.6 mg/dL on {_day(5)}, age 88, female; no weight recorded"
            in detail
        )


@pytest.mark.parametrize("language", ["en", "zh"])
def test_contraindication_at_patient_view_asks_for_a_review(language: str) -> None:
    rec = record(labs=[lab(Lab.EGFR, 31, 20)], meds=[medication(ORAL_BP, 500, name="Fosamax")])
    card = _card(bisphosphonate_renal_active(rec, NOW, SETTINGS), rec, language)
    if language == "zh":
        assert card["summary"] == "正在使用双膦酸盐，但eGFR 31 mL/min/1.73 m²低于35，属禁忌，请评估"
        assert "mL/min禁用双膦酸盐。请停药或请专科会诊。" in card["detail"]
        assert f"**当前医嘱：**Fosamax（开具于{_day(500)}）" in card["detail"]
    else:
        assert (
            card["summary"]
            == "Active bisphosphonate is contraindicated: eGFR 31 mL/min/1.73 m², below 35; review"
        )
        assert "below 35 mL/min. Stop the order, or ask a specialist." in card["detail"]
    assert "The card offers" not in card["detail"] and "本卡片提供" not in card["detail"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_renal_unknown_quotes_a_last_creatinine(language: str) -> None:
    rec = record(labs=[lab(Lab.CREATININE, 4.256, 400)], drafts=[draft(ORAL_BP, name="alendronate")])
    detail = _card(bisphosphonate_renal_unknown(rec, NOW, SETTINGS), rec, language)["detail"]
    if language == "zh":
        assert f"；最近一次：血肌酐 4.26 mg/dL（{_day(400)}）。" in detail
        assert "每次给药前" not in detail
    else:
        assert f"; last: serum creatinine 4.26 mg/dL on {_day(400)}." in detail


@pytest.mark.parametrize("language", ["en", "zh"])
def test_renal_unknown_with_a_creatinine_ordered_says_so_and_offers_nothing(language: str) -> None:
    order = ServiceRequestOrder(Lab.CREATININE, "active", ago(2), "ServiceRequest/sr1")
    rec = replace(
        record(labs=[lab(Lab.EGFR, 67, 75)], drafts=[draft(ZOLEDRONIC, name="Aclasta")]), test_orders=(order,)
    )
    card = _card(bisphosphonate_renal_unknown(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "warning" and "suggestions" not in card
    if language == "zh":
        assert f"**血肌酐及eGFR已于{_day(2)}开具，尚无结果：**首次给药前请确认结果。" in card["detail"]
        assert card["summary"] == "肾功能检查已开具、尚无结果：使用双膦酸盐前请确认"
    else:
        assert (
            f"**Serum creatinine with eGFR ordered on {_day(2)}, no result yet:** confirm the result before "
            "the first dose."
        ) in card["detail"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_pre_infusion_with_low_calcium_and_low_vitamin_d(language: str) -> None:
    rec = record(
        labs=[lab(Lab.CALCIUM, 2.10, 5), lab(Lab.VITAMIN_D, 12.5, 40)],
        meds=[medication(DENOSUMAB, 200)],
        drafts=[draft(ZOLEDRONIC, name="Aclasta", id="z"), draft(DENOSUMAB, name="Prolia", id="p")],
    )
    card = _card(pre_infusion_calcium(rec, NOW, SETTINGS), rec, language)
    if language == "zh":
        assert card["summary"] == (
            "血清钙2.10 mmol/L及25-羟维生素D 12.5 ng/mL偏低：使用唑来膦酸或地舒单抗前请先纠正"
        )
        assert "，低于2.15 mmol/L" in card["detail"] and "，低于20 ng/mL" in card["detail"]
    else:
        assert card["summary"] == (
            "Serum calcium 2.10 mmol/L and 25-OH vitamin D 12.5 ng/mL are low: correct before "
            "zoledronic acid or denosumab"
        )
        assert ", below 2.15 mmol/L" in card["detail"] and ", below 20 ng/mL" in card["detail"]
    assert "dental" not in card["detail"] and "口腔检查" not in card["detail"]  # denosumab on the chart


@pytest.mark.parametrize("language", ["en", "zh"])
def test_pre_infusion_never_measured_calcium_and_repleting_vitamin_d(language: str) -> None:
    rec = record(
        labs=[lab(Lab.VITAMIN_D, 12, 40)],
        meds=[medication(NATIVE_D, 30)],
        drafts=[draft(DENOSUMAB, name="Prolia")],
    )
    card = _card(pre_infusion_calcium(rec, NOW, SETTINGS), rec, language)
    detail = card["detail"]
    if language == "zh":
        assert card["summary"] == "近30天无血清钙结果：使用地舒单抗前请先检测"
        assert "**血清钙：**近30天内无结果（无任何记录）" in detail and "，正在补充普通维生素D" in detail
    else:
        assert card["summary"] == "No serum calcium in the last 30 days: check it before denosumab"
        assert "**Serum calcium:** none in the last 30 days (none on record)" in detail
        assert ", native vitamin D is already prescribed" in detail


# --- revision 3 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_contraindication_on_dialysis_without_a_value_says_on_dialysis(language: str) -> None:
    dialysis = replace(condition(Problem.DIALYSIS, onset=ago(10).date()), from_procedure=True)
    rec = record(conditions=[dialysis], drafts=[draft(ORAL_BP, name="alendronate 70 mg")])
    card = _card(bisphosphonate_renal_ordered(rec, NOW, SETTINGS), rec, language)
    if language == "zh":
        assert card["summary"] == "患者正在透析，禁用双膦酸盐"
        assert "**正在透析：**" in card["detail"] and "本例适用" in card["detail"]
    else:
        assert card["summary"] == "Bisphosphonate contraindicated: the patient is on dialysis"
        assert "**On dialysis:**" in card["detail"] and "This applies to this patient." in card["detail"]
    assert "**Renal function:**" not in card["detail"] and "**肾功能：**" not in card["detail"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_contraindication_of_zoledronic_acid_4_mg_cites_its_label(language: str) -> None:
    rec = record(labs=[lab(Lab.CREATININE_CLEARANCE, 25, 5)], drafts=[draft(ZOMETA, name="Zometa 4 mg")])
    card = _card(bisphosphonate_renal_ordered(rec, NOW, SETTINGS), rec, language)
    if language == "zh":
        assert "肌酐清除率<30 mL/min时不用唑来膦酸4 mg（药品说明书）。" in card["detail"]
    else:
        assert (
            "Zoledronic acid 4 mg is not given when creatinine clearance is below 30 mL/min (the product label)."
            in card["detail"]
        )
    assert "below 30" in card["summary"] or "低于30" in card["summary"]


def test_in_pregnancy_the_contraindication_at_patient_view_advises_no_denosumab() -> None:
    pregnancy = condition(Problem.PREGNANCY, onset=ago(60).date())
    rec = record(
        pregnancy,
        who=patient(Sex.FEMALE, born_years_ago(34)),
        labs=[lab(Lab.EGFR, 20, 5)],
        meds=[medication(ORAL_BP, 300, name="Fosamax")],
    )
    card = _card(bisphosphonate_renal_active(rec, NOW, SETTINGS), rec, "en")
    assert "denosumab" not in card["detail"].split("Source:")[0].lower()


@pytest.mark.parametrize("language", ["en", "zh"])
def test_pre_infusion_hypocalcaemia_says_not_now_and_names_an_ionised_result(language: str) -> None:
    rec = record(
        labs=[lab(Lab.IONISED_CALCIUM, 0.98, 3), lab(Lab.VITAMIN_D, 30, 60), lab(Lab.EGFR, 70, 3)],
        drafts=[draft(DENOSUMAB, name="Prolia", id="p")],
    )
    card = _card(pre_infusion_calcium(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "critical"
    detail = card["detail"]
    if language == "zh":
        assert card["summary"] == "离子钙0.98 mmol/L偏低：使用地舒单抗前请先纠正"
        assert f"离子钙0.98 mmol/L（{_day(3)}），低于1.15 mmol/L（重度）" in detail and "暂勿给药" in detail
    else:
        assert card["summary"] == "Ionised calcium 0.98 mmol/L is low: correct it before denosumab"
        assert f"ionised 0.98 mmol/L on {_day(3)}, below 1.15 mmol/L (severe)" in detail
        assert "Do not give it now: correct hypocalcaemia first" in detail
    [delete] = card["suggestions"]
    assert delete["actions"][0]["resourceId"] == "MedicationRequest/p"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_pre_infusion_advanced_ckd_with_every_result_asks_to_confirm_the_assessment(language: str) -> None:
    rec = record(
        labs=[
            lab(Lab.EGFR, 22, 10),
            lab(Lab.CALCIUM, 2.31, 10),
            lab(Lab.PHOSPHATE, 1.3, 10),
            lab(Lab.PTH, 88, 10),
            lab(Lab.VITAMIN_D, 31, 40),
        ],
        meds=[medication(DENOSUMAB, 190, status="completed")],
        drafts=[draft(DENOSUMAB, name="Prolia")],
    )
    card = _card(pre_infusion_calcium(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "warning" and "suggestions" not in card
    detail = card["detail"]
    if language == "zh":
        assert (
            card["summary"]
            == "地舒单抗用药前（eGFR 22 mL/min/1.73 m²）：请先评估血钙及慢性肾脏病-矿物质与骨异常"
        )
        assert "请确认已完成该评估" in detail and "首月每周查血钙" in detail
    else:
        assert card["summary"].startswith("Denosumab with eGFR 22 mL/min/1.73 m²")
        assert "All recent: confirm the assessment, with a specialist" in detail
        assert "weekly in the first month" in detail and "boxed warning" in detail
    assert len(detail.split("\n\nSource")[0].split("\n\n来源")[0]) <= (300 if language == "zh" else 600)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_pre_infusion_with_calcium_ordered_says_so_and_offers_only_what_is_missing(language: str) -> None:
    order = ServiceRequestOrder(Lab.CALCIUM, "active", ago(3), "ServiceRequest/ca")
    rec = replace(
        record(labs=[lab(Lab.EGFR, 63, 64)], drafts=[draft(DENOSUMAB, name="Prolia")]), test_orders=(order,)
    )
    card = _card(pre_infusion_calcium(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "warning"
    assert _codes(card) == ["62292-8"]  # vitamin D is missing; calcium is ordered
    if language == "zh":
        assert f"**血清钙已于{_day(3)}开具，尚无结果：**首次给药前请确认结果。" in card["detail"]
    else:
        assert (
            f"**Serum calcium ordered on {_day(3)}, no result yet:** confirm the result before the first dose."
            in card["detail"]
        )


@pytest.mark.parametrize("language", ["en", "zh"])
def test_hypercalcaemia_from_an_ionised_calcium(language: str) -> None:
    rec = record(labs=[lab(Lab.IONISED_CALCIUM, 1.41, 6)], meds=[medication(ANABOLIC, 200, name="Forteo")])
    card = _card(hypercalcemia_on_therapy(rec, NOW, SETTINGS), rec, language)
    assert card["indicator"] == "warning"
    if language == "zh":
        assert card["summary"].startswith("补钙、维生素D或促骨形成治疗中离子钙1.41 mmol/L升高")
        assert f"离子钙1.41 mmol/L（{_day(6)}），高于1.32 mmol/L" in card["detail"]
    else:
        assert card["summary"].startswith("Ionised calcium 1.41 mmol/L is high")
        assert f"ionised 1.41 mmol/L on {_day(6)}, above 1.32 mmol/L" in card["detail"]
    assert "albumin" not in card["detail"]


def test_anabolic_card_in_pregnancy_advises_no_antiresorptive() -> None:
    pregnancy = condition(Problem.PREGNANCY, onset=ago(60).date())
    rec = record(
        pregnancy,
        who=patient(Sex.FEMALE, born_years_ago(36)),
        meds=[medication(ANABOLIC, 800, name="Forteo")],
    )
    card = _card(anabolic_active(rec, NOW, SETTINGS), rec, "en")
    body = card["detail"].split("Source:")[0]
    assert "bisphosphonate" not in body and "denosumab" not in body
    assert "after delivery" in body
