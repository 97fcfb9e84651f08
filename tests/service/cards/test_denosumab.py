"""Denosumab cards (revision 3): en and zh wording with the patient's dates and values, the drug guard's
suggestions as valid FHIR, and the sentences rules.md asks for word for word."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_hooks.models import Card
from service.cards import render
from service.kernel.findings import Finding
from service.kernel.record import DrugClass, ExposureKind, Lab, PatientRecord, Problem
from service.kernel.thresholds import RuleSettings
from service.rules.denosumab import dose_due, hypocalcemia_monitoring, sequencing_missing
from tests.builders import NOW, condition, lab, medication, patient, record
from tests.service.cards.test_wording_files import ASCII_PUNCTUATION_IN_CHINESE
from tests.service.rules._bone_therapy_records import alendronate, denosumab

S = RuleSettings()
LANGS = ("en", "zh")
READY = (lab(Lab.EGFR, 62, 20), lab(Lab.CALCIUM, 2.35, 10), lab(Lab.VITAMIN_D, 32, 10))
DETAIL_BUDGET = {"en": 600, "zh": 300}


def stopped(days: int, *more: object, labs: tuple = READY, conditions: tuple = ()) -> PatientRecord:
    meds = [denosumab(days + 5, kind=ExposureKind.REQUEST, status="stopped"), denosumab(days), *more]
    return record(*meds, labs=labs, conditions=conditions)  # type: ignore[arg-type]


def continuing(days: int, *more: object, labs: tuple = READY, conditions: tuple = ()) -> PatientRecord:
    meds = [denosumab(days + 5, kind=ExposureKind.REQUEST, status="active"), denosumab(days), *more]
    return record(*meds, labs=labs, conditions=conditions)  # type: ignore[arg-type]


def card(finding: Finding | None, rec: PatientRecord, lang: str = "en") -> Card:
    assert finding is not None
    return render(finding, rec, NOW, lang)


def detail(c: Card) -> str:
    assert c.detail is not None
    return c.detail


def common_checks(c: Card, lang: str, topic: str, indicator: str) -> None:
    assert len(c.summary) < 140
    assert c.indicator == indicator
    assert c.source.topic is not None and c.source.topic.code == topic
    assert ("第3节" if lang == "zh" else "section 3") in detail(c)
    assert ("来源" if lang == "zh" else "Source") in detail(c)
    body = detail(c).rsplit("\n\n", 1)[0]
    assert len(body) <= DETAIL_BUDGET[lang], body
    if lang == "zh":
        for text in (c.summary, body):
            assert not ASCII_PUNCTUATION_IN_CHINESE.search(text), text


def actions(c: Card) -> list[list[str]]:
    """Each suggestion's created resources, as their codes."""
    found = []
    for s in c.suggestions:
        codes = []
        for a in s.actions:
            assert a.type == "create" and a.resource is not None
            if a.resource["resourceType"] == "MedicationRequest":
                MedicationRequest.model_validate(a.resource)
                codes.append(a.resource["medicationCodeableConcept"]["coding"][0]["code"])
            else:
                ServiceRequest.model_validate(a.resource)
                codes.append(a.resource["code"]["coding"][0]["code"])
        found.append(codes)
    return found


# --- sequencing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_sequencing_card_before_d_plus_183_is_a_warning_starting_in_n_days(lang: str) -> None:
    rec = stopped(140)  # D 2026-07-10; D + 183 = 2027-01-09, in 43 days
    c = card(sequencing_missing(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-sequencing-missing", "warning")
    assert ("43天后" if lang == "zh" else "in 43 days") in c.summary
    assert "2026-07-10" in c.summary and "2026-07-10" in detail(c)
    assert c.selection_behavior == "at-most-one"
    assert actions(c) == [["705824"], ["904431"]]  # zoledronic acid 5 mg/100 mL, alendronate 70 mg
    for s in c.suggestions:
        assert "2027-01-09" in s.label
        start = s.actions[0].resource["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["start"]  # type: ignore[index]
        assert start == "2027-01-09"
        assert s.is_recommended is None


@pytest.mark.parametrize("lang", LANGS)
def test_sequencing_card_from_d_plus_183_is_critical_starting_now(lang: str) -> None:
    rec = stopped(250)
    c = card(sequencing_missing(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-sequencing-missing", "critical")
    assert ("现在" if lang == "zh" else "start one now") in c.summary
    if lang == "en":
        assert "rebound bone loss" in detail(c) and "vertebral fractures" in detail(c)
        assert "Monitor calcium closely during sequencing" in detail(c)
    else:
        for word in ("地舒单抗", "双膦酸盐", "唑来膦酸", "阿仑膦酸钠", "椎体骨折", "血钙"):
            assert word in detail(c), word


@pytest.mark.parametrize("lang", LANGS)
def test_zoledronic_acid_comes_with_its_creatinine_test_in_the_same_suggestion(lang: str) -> None:
    labs = (lab(Lab.EGFR, 62, 40), *READY[1:])  # renal function ≥ 35 within 365 days, none within 30
    rec = stopped(250, labs=labs)
    c = card(sequencing_missing(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-sequencing-missing", "critical")
    assert actions(c) == [["705824", "2160-0"], ["904431"]]
    assert c.selection_behavior == "at-most-one"
    text = (
        "输注前请查肌酐清除率（药品说明书）"
        if lang == "zh"
        else "check creatinine clearance before the infusion (the product label)"
    )
    assert text.lower() in detail(c).lower()


def test_missing_calcium_and_vitamin_d_are_prepared_inside_each_drug() -> None:
    rec = stopped(250, labs=(lab(Lab.EGFR, 62, 20),))
    c = card(sequencing_missing(rec, NOW, S), rec)
    assert actions(c) == [["705824", "2000-8", "62292-8"], ["904431", "2000-8", "62292-8"]]


def test_neuropathy_marks_zoledronic_acid_recommended() -> None:
    rec = stopped(250, conditions=(condition(Problem.DIABETIC_NEUROPATHY),))
    c = card(sequencing_missing(rec, NOW, S), rec)
    assert [s.is_recommended for s in c.suggestions] == [True, None]
    assert "diabetic neuropathy zoledronic acid is preferred" in detail(c)
    assert '"isRecommended":true' in c.model_dump_json(by_alias=True, exclude_none=True)


@pytest.mark.parametrize("lang", LANGS)
def test_bed_bound_patients_are_offered_zoledronic_acid_only_and_told_why(lang: str) -> None:
    rec = stopped(250, conditions=(condition(Problem.BED_BOUND),))
    c = card(sequencing_missing(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-sequencing-missing", "critical")
    assert actions(c) == [["705824"]]
    assert c.selection_behavior == "at-most-one"
    assert (
        "不提供阿仑膦酸钠：长期卧床" if lang == "zh" else "alendronate is not offered: bed-bound"
    ) in detail(c)


@pytest.mark.parametrize("lang", LANGS)
def test_unknown_renal_function_offers_the_test_and_says_in_one_sentence_why_no_order(lang: str) -> None:
    rec = stopped(250, labs=READY[1:])
    c = card(sequencing_missing(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-sequencing-missing", "critical")
    assert actions(c) == [["2160-0"]]
    assert c.selection_behavior == "any"
    sentence = (
        "不提供药物医嘱：12个月内无肾功能结果"
        if lang == "zh"
        else "No order is offered: no renal function within 12 months"
    )
    assert sentence in detail(c)
    assert detail(c).count("No order is offered") <= 1


def test_hypocalcaemia_says_correct_it_first_and_offers_the_missing_vitamin_d_test() -> None:
    rec = stopped(250, labs=(lab(Lab.EGFR, 62, 20), lab(Lab.CALCIUM, 2.05, 3)))
    c = card(sequencing_missing(rec, NOW, S), rec)
    assert actions(c) == [["62292-8"]]
    assert "Calcium 2.05 mmol/L on 2026-11-24" in detail(c) and "correct it first" in detail(c)
    assert "No order is offered: hypocalcaemia: correct it first" in detail(c)


@pytest.mark.parametrize("lang", LANGS)
def test_renal_function_below_35_asks_for_specialist_advice_and_offers_nothing(lang: str) -> None:
    rec = stopped(250, labs=(lab(Lab.EGFR, 28, 20), *READY[1:]))
    c = card(sequencing_missing(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-sequencing-missing", "critical")
    assert c.suggestions == []
    assert "28 mL/min/1.73 m²" in detail(c) and "2026-11-07" in detail(c)
    if lang == "zh":
        assert "专科" in detail(c) and "甲状旁腺激素" in detail(c)
    else:
        assert "seek specialist advice before choosing the follow-on drug" in detail(c)
        assert "phosphate, PTH and 25-OH vitamin D" in detail(c)


def test_on_dialysis_the_card_says_so() -> None:
    rec = stopped(250, conditions=(condition(Problem.DIALYSIS),))
    c = card(sequencing_missing(rec, NOW, S), rec)
    assert "on dialysis" in c.summary and c.suggestions == []


@pytest.mark.parametrize("lang", LANGS)
def test_in_pregnancy_sequencing_is_a_warning_with_the_pregnancy_sentence_and_no_drug(lang: str) -> None:
    rec = stopped(250, conditions=(condition(Problem.PREGNANCY, onset=date(2026, 9, 1)),))
    c = card(sequencing_missing(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-sequencing-missing", "warning")
    assert c.suggestions == []
    if lang == "en":
        assert (
            "pregnant: denosumab and bisphosphonates are not used in pregnancy (the product labels); plan the "
            "follow-on treatment with a specialist after delivery"
        ) in detail(c).lower()
        assert "start zoledronic acid" not in detail(c) and "alendronate" not in detail(c)
    else:
        assert "妊娠期不使用地舒单抗和双膦酸盐" in detail(c) and "唑来膦酸" not in detail(c)


def test_an_old_open_alendronate_order_is_named() -> None:
    rec = stopped(250, alendronate(2000, kind=ExposureKind.REQUEST))
    c = card(sequencing_missing(rec, NOW, S), rec)
    assert "alendronate 70 mg weekly order of 2021-06-06 still open: confirm whether it is taken" in detail(c)
    assert actions(c) == [["705824"]]
    assert "alendronate is not offered: already ordered" in detail(c)


def test_cockcroft_gault_is_named_when_used() -> None:
    labs = (lab(Lab.CREATININE, 2.0, 20), lab(Lab.BODY_WEIGHT, 60, 20))
    rec = replace(stopped(250, labs=labs), patient=patient(birth=date(1940, 1, 1)))
    c = card(sequencing_missing(rec, NOW, S), rec)
    assert "Cockcroft–Gault" in detail(c)
    assert "CrCl (Cockcroft–Gault) 19.1 mL/min" in c.summary
    assert c.suggestions == []


# --- dose due -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_dose_due_card_in_the_window(lang: str) -> None:
    rec = continuing(190)  # D 2026-05-21, due 2026-11-20
    c = card(dose_due(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-dose-due", "warning")
    assert "2026-05-21" in c.summary and "2026-11-20" in c.summary
    assert ("现在注射" if lang == "zh" else "give it now") in detail(c)
    assert ("改用双膦酸盐" if lang == "zh" else "start the bisphosphonate now instead") in detail(c)
    assert c.suggestions == []


@pytest.mark.parametrize("lang", LANGS)
def test_an_overdue_dose_is_critical_overdue_by_n_days_and_names_the_renewed_order(lang: str) -> None:
    rec = record(denosumab(228), denosumab(20, kind=ExposureKind.REQUEST, status="active"), labs=READY)
    c = card(dose_due(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-dose-due", "critical")
    assert ("已逾期45天" if lang == "zh" else "overdue by 45 days") in c.summary
    renewed = (
        "2026-11-07的医嘱未记录注射" if lang == "zh" else "Order of 2026-11-07, no administration recorded"
    )
    assert renewed in detail(c)
    assert c.suggestions == []


@pytest.mark.parametrize(("days_since", "rebound"), [(365, False), (366, True)])
def test_rebound_and_spine_x_ray_after_d_plus_365(days_since: int, rebound: bool) -> None:
    rec = continuing(days_since)
    assert ("consider a spine X-ray" in detail(card(dose_due(rec, NOW, S), rec))) is rebound


@pytest.mark.parametrize("lang", LANGS)
def test_with_hypocalcaemia_the_dose_is_not_given_now(lang: str) -> None:
    rec = continuing(220, labs=(lab(Lab.EGFR, 62, 20), lab(Lab.CALCIUM, 2.0, 2)))
    c = card(dose_due(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-dose-due", "critical")
    if lang == "en":
        assert (
            "the dose is due, but correct calcium first (the product label), recheck, then give it"
            in detail(c)
        )
        assert "give it now" not in detail(c) and "give it now" not in c.summary
    else:
        assert "请先纠正血钙（药品说明书），复查后再注射" in detail(c) and "现在注射" not in detail(c)


@pytest.mark.parametrize(("egfr", "boxed"), [(29.9, True), (30.0, False)])
def test_the_boxed_warning_below_30(egfr: float, boxed: bool) -> None:
    rec = continuing(190, labs=(lab(Lab.EGFR, egfr, 10),))
    text = detail(card(dose_due(rec, NOW, S), rec))
    assert ("the product label's boxed warning" in text) is boxed
    assert "seek specialist advice on the follow-on drug" in text  # below 35 either way
    assert "start the bisphosphonate now instead" not in text


def test_dialysis_gets_the_boxed_warning() -> None:
    rec = continuing(190, conditions=(condition(Problem.DIALYSIS),))
    c = card(dose_due(rec, NOW, S), rec)
    assert "on dialysis: before this dose check calcium, phosphate, PTH and 25-OH vitamin D" in detail(c)


@pytest.mark.parametrize("lang", LANGS)
def test_in_pregnancy_the_dose_card_advises_no_drug(lang: str) -> None:
    rec = continuing(240, conditions=(condition(Problem.PREGNANCY, onset=date(2026, 9, 1)),))
    c = card(dose_due(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-dose-due", "warning")
    if lang == "en":
        assert "give it now" not in detail(c) + c.summary and "bisphosphonate now" not in detail(c)
        assert "not used in pregnancy (the product labels)" in detail(c)
    else:
        assert "现在注射" not in detail(c) + c.summary and "妊娠期不使用" in detail(c)


def test_an_open_alendronate_order_from_before_the_switch_is_named_on_the_dose_card() -> None:
    rec = continuing(390, alendronate(1500, kind=ExposureKind.REQUEST))
    c = card(dose_due(rec, NOW, S), rec)
    assert c.indicator == "critical"
    assert "alendronate 70 mg weekly order of 2022-10-19 still open: confirm whether it is taken" in detail(c)


# --- hypocalcaemia monitoring ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_monthly_calcium_card_orders_calcium(lang: str) -> None:
    labs = (lab(Lab.EGFR, 25, 10), lab(Lab.CALCIUM, 2.10, 40), lab(Lab.ALBUMIN, 30, 40))
    rec = record(denosumab(60), labs=labs)
    c = card(hypocalcemia_monitoring(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-hypocalcemia-monitoring", "warning")
    assert "25 mL/min/1.73 m²" in detail(c) and "2026-11-17" in detail(c)
    assert "2.30 mmol/L" in detail(c) and "2026-10-18" in detail(c)  # corrected, and its date
    assert (
        "每月一次的血钙：近30天内无结果" if lang == "zh" else "the monthly calcium: none within 30 days"
    ) in detail(c)
    assert c.selection_behavior == "any"
    assert actions(c) == [["2000-8"]]


@pytest.mark.parametrize("lang", LANGS)
def test_weekly_calcium_card_on_dialysis(lang: str) -> None:
    rec = record(
        denosumab(18),
        labs=(lab(Lab.EGFR, 8, 11), lab(Lab.IONISED_CALCIUM, 1.18, 11)),
        conditions=(condition(Problem.DIALYSIS),),
    )
    c = card(hypocalcemia_monitoring(rec, NOW, S), rec, lang)
    common_checks(c, lang, "denosumab-hypocalcemia-monitoring", "warning")
    assert ("透析中" if lang == "zh" else "on dialysis") in c.summary
    weekly = (
        "注射后第一个月每周一次的血钙：近7天内无结果"
        if lang == "zh"
        else "the weekly calcium of the first month"
    )
    assert weekly in detail(c)
    assert ("离子钙1.18 mmol/L" if lang == "zh" else "ionised calcium 1.18 mmol/L on 2026-11-16") in detail(c)


def test_with_an_oncology_regimen_the_dose_card_does_not_advise_the_dose() -> None:
    xgeva = medication(
        {DrugClass.DENOSUMAB_ONCOLOGY},
        30,
        name="Xgeva 120 mg",
        kind=ExposureKind.ADMINISTRATION,
        status="completed",
    )
    rec = continuing(190, xgeva)
    c = card(dose_due(rec, NOW, S), rec)
    assert (
        "Xgeva 120 mg (oncology) active or given within 12 months: not with denosumab 60 mg (the labels)"
        in detail(c)
    )
    assert "give it now" not in detail(c)
