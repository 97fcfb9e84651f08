"""Denosumab cards: en and zh wording with the patient's dates and values, valid FHIR suggestions."""

from __future__ import annotations

from datetime import date

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_hooks.models import Card
from service.cards import render
from service.kernel.findings import Finding
from service.kernel.record import ExposureKind, Lab, PatientRecord
from service.kernel.thresholds import RuleSettings
from service.rules.denosumab import dose_due, hypocalcemia_monitoring, sequencing_missing
from tests.builders import NOW, lab, patient, record
from tests.service.cards.test_wording_files import ASCII_PUNCTUATION_IN_CHINESE
from tests.service.rules._bone_therapy_records import denosumab

S = RuleSettings()
LANGS = ("en", "zh")


def card(finding: Finding | None, rec: PatientRecord, lang: str) -> Card:
    assert finding is not None
    return render(finding, rec, NOW, lang)


def detail(c: Card) -> str:
    assert c.detail is not None
    return c.detail


def common_checks(c: Card, lang: str, topic: str, indicator: str) -> None:
    assert len(c.summary) < 140
    assert c.indicator == indicator
    assert c.source.topic is not None and c.source.topic.code == topic
    assert c.detail is not None and ("第3节" if lang == "zh" else "section 3") in c.detail
    assert ("来源" if lang == "zh" else "Source") in c.detail
    assert c.override_reasons, "warning and critical cards carry override reasons"


# --- sequencing -----------------------------------------------------------------------------------

SEQ_REC = record(denosumab(250), labs=(lab(Lab.EGFR, 62, 20),))  # D = 2026-03-22


@pytest.mark.parametrize("lang", LANGS)
def test_sequencing_card_offers_one_of_two_bisphosphonates(lang: str) -> None:
    c = card(sequencing_missing(SEQ_REC, NOW, S), SEQ_REC, lang)
    common_checks(c, lang, "denosumab-sequencing-missing", "critical")
    assert c.detail is not None
    assert "2026-03-22" in c.summary
    assert "2026-03-22" in c.detail and "2026-11-07" in c.detail  # last dose, eGFR date
    assert "62" in c.detail
    assert c.selection_behavior == "at-most-one"
    assert len(c.suggestions) == 2
    codes = []
    for s in c.suggestions:
        (action,) = s.actions
        assert action.type == "create" and action.resource is not None
        resource = MedicationRequest.model_validate(action.resource)
        assert resource.status == "draft"
        assert resource.subject.reference == "Patient/p1"
        start = action.resource["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["start"]
        assert start == NOW.date().isoformat()  # six months have passed: start at once
        codes.append(action.resource["medicationCodeableConcept"]["coding"][0]["code"])
    assert codes == ["705824", "904431"]  # zoledronic acid 5 mg/100 mL, alendronate 70 mg


def test_sequencing_card_words_in_each_language() -> None:
    en = card(sequencing_missing(SEQ_REC, NOW, S), SEQ_REC, "en")
    zh = card(sequencing_missing(SEQ_REC, NOW, S), SEQ_REC, "zh")
    assert en.detail is not None and zh.detail is not None
    assert "rebound bone loss" in en.detail and "type 2 diabetes" in en.detail
    assert "vertebral fractures" in en.detail
    for word in ("地舒单抗", "双膦酸盐", "序贯", "唑来膦酸", "阿仑膦酸钠", "椎体骨折"):
        assert word in zh.detail, word
    assert zh.source.topic is not None and en.source.topic is not None
    assert zh.source.topic.code == en.source.topic.code


def test_a_discontinued_course_starts_six_months_after_the_injection() -> None:
    rec = record(denosumab(100, kind=ExposureKind.REQUEST, status="stopped"), denosumab(100))
    c = card(sequencing_missing(rec, NOW, S), rec, "en")
    start = "2027-02-18"  # D 2026-08-19 + 183 days
    assert start in detail(c)
    assert all(start in s.label for s in c.suggestions)
    assert "stopped" in detail(c)


@pytest.mark.parametrize("lang", LANGS)
def test_ckd_card_suggests_no_medication_and_says_keep_denosumab(lang: str) -> None:
    rec = record(denosumab(250), labs=(lab(Lab.EGFR, 28, 20),))
    c = card(sequencing_missing(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-sequencing-missing", "critical")
    assert c.suggestions == []
    assert c.detail is not None
    assert "28 mL/min/1.73 m²" in c.detail and "2026-11-07" in c.detail
    if lang == "zh":
        assert "不要停用地舒单抗" in c.detail and "专科" in c.detail and "甲状旁腺激素" in c.detail
    else:
        assert "do not stop denosumab" in c.detail
        assert "specialist" in c.detail
        assert "phosphate, PTH and 25-OH vitamin D" in c.detail


def test_cockcroft_gault_is_named_when_used() -> None:
    labs = (lab(Lab.CREATININE, 2.0, 20), lab(Lab.BODY_WEIGHT, 60, 20))
    rec = record(denosumab(250), labs=labs, who=patient(birth=date(1940, 1, 1)))
    c = card(sequencing_missing(rec, NOW, S), rec, "en")
    assert "Cockcroft–Gault" in detail(c)
    assert "serum creatinine 2 mg/dL on 2026-11-07, weight 60 kg on 2026-11-07, age 86, female" in detail(c)
    assert "CrCl (Cockcroft–Gault) 19.1 mL/min rules out a bisphosphonate" in c.summary
    assert c.suggestions == []  # CrCl (140-86)*60/(72*2)*0.85 = 19 mL/min


@pytest.mark.parametrize(
    ("lang", "renal"),
    [
        (
            "en",
            "creatinine clearance 33 mL/min on 2026-11-15 (the lower of the two is used; "
            "eGFR was 48 mL/min/1.73 m² on 2026-11-17)",
        ),
        (
            "zh",
            "肌酐清除率33 mL/min（2026-11-15）（取两者中较低者；估算肾小球滤过率（eGFR）为48 mL/min/1.73 m²，2026-11-17）",
        ),
    ],
)
def test_renal_function_reads_as_on_every_card(lang: str, renal: str) -> None:
    rec = record(denosumab(250), labs=(lab(Lab.EGFR, 48, 10), lab(Lab.CREATININE_CLEARANCE, 33, 12)))
    c = card(sequencing_missing(rec, NOW, S), rec, lang)
    assert renal in detail(c)
    assert ("CrCl 33 mL/min" if lang == "en" else "肌酐清除率33 mL/min") in c.summary


def test_chinese_cards_use_full_width_punctuation() -> None:
    labs = (lab(Lab.EGFR, 25, 10), lab(Lab.CALCIUM, 2.3, 17))
    rec = record(denosumab(20), labs=labs)
    cards = [
        card(hypocalcemia_monitoring(rec, NOW, S), rec, "zh"),
        card(sequencing_missing(SEQ_REC, NOW, S), SEQ_REC, "zh"),
        card(dose_due(record(denosumab(190)), NOW, S), record(denosumab(190)), "zh"),
    ]
    for c in cards:
        for text in (c.summary, detail(c)):
            assert not ASCII_PUNCTUATION_IN_CHINESE.search(text), text


# --- dose due -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_dose_due_card(lang: str) -> None:
    rec = record(denosumab(190))  # D 2026-05-21, due 2026-11-20
    c = card(dose_due(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-dose-due", "warning")
    assert "2026-05-21" in c.summary and "2026-11-20" in c.summary
    assert c.detail is not None and "2026-11-20" in c.detail
    assert ("双膦酸盐" if lang == "zh" else "start a bisphosphonate") in c.detail
    assert c.suggestions == []


def test_dose_due_card_warns_when_a_bisphosphonate_is_no_alternative() -> None:
    rec = record(denosumab(190), labs=(lab(Lab.EGFR, 30, 10),))
    c = card(dose_due(rec, NOW, S), rec, "en")
    assert "should not be stopped" in detail(c)


# --- hypocalcaemia monitoring ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_hypocalcemia_card_orders_calcium(lang: str) -> None:
    labs = (lab(Lab.EGFR, 25, 10), lab(Lab.CALCIUM, 2.10, 40), lab(Lab.ALBUMIN, 30, 40))
    rec = record(denosumab(60), labs=labs)
    c = card(hypocalcemia_monitoring(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-hypocalcemia-monitoring", "warning")
    assert c.detail is not None
    assert "25 mL/min/1.73 m²" in c.detail and "2026-11-17" in c.detail  # eGFR and its date
    assert "2.30 mmol/L" in c.detail and "2026-10-18" in c.detail  # corrected calcium and its date
    assert "2.10 mmol/L" in c.detail  # as measured
    assert ("白蛋白" if lang == "zh" else "albumin") in c.detail
    assert c.selection_behavior == "any"
    (suggestion,) = c.suggestions
    (action,) = suggestion.actions
    assert action.resource is not None
    request = ServiceRequest.model_validate(action.resource)
    assert action.resource["code"]["coding"][0]["code"] == "2000-8"  # serum calcium
    assert request.status == "draft"


def test_hypocalcemia_card_says_which_check_is_missing() -> None:
    labs = (lab(Lab.EGFR, 25, 10), lab(Lab.CALCIUM, 2.3, 17))  # dose day 3
    rec = record(denosumab(20), labs=labs)
    c = card(hypocalcemia_monitoring(rec, NOW, S), rec, "en")
    assert "no serum calcium since day 7 after the dose (2026-11-14; due by 2026-11-21)" in detail(c)
    assert "within 30 days" not in detail(c)
    assert "Latest serum calcium: 2.30 mmol/L on 2026-11-10 (total calcium as measured" in detail(c)
