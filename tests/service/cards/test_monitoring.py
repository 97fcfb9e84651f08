"""monitoring-overdue card: lists each overdue test with its last date, one LOINC order per test."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_hooks.models import Card
from service.cards import render
from service.kernel.record import DrugClass, ExposureKind, Lab, PatientRecord
from service.kernel.record import TestOrder as ServiceRequestFact
from service.kernel.thresholds import RuleSettings
from service.rules.monitoring import monitoring_overdue
from tests.builders import NOW, ago, lab, medication, record
from tests.service.rules._bone_therapy_records import alendronate, t2dm

S = RuleSettings()


def card(rec: PatientRecord, lang: str) -> Card:
    finding = monitoring_overdue(rec, NOW, S)
    assert finding is not None and finding.fires
    return render(finding, rec, NOW, lang)


def detail(c: Card) -> str:
    assert c.detail is not None
    return c.detail


# alendronate since 2024-08-05; calcium 2025-11-26 (366 days ago), eGFR 2026-05-31, no turnover marker
REC = record(
    alendronate(844),
    labs=(lab(Lab.CALCIUM, 2.35, 366), lab(Lab.EGFR, 64, 180)),
)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_card_lists_overdue_tests_with_their_last_dates(lang: str) -> None:
    c = card(REC, lang)
    assert len(c.summary) < 140
    assert c.indicator == "warning"
    assert c.source.topic is not None and c.source.topic.code == "monitoring-overdue"
    assert c.override_reasons
    text = detail(c)
    assert "2025-11-26" in text and "2.35" in text  # the overdue calcium, when and what
    assert "2026-11-27" in text  # overdue since (2025-11-26 + 366 days)
    assert ("从未检测" if lang == "zh" else "never") in text  # the turnover marker
    assert ("骨转换标志物" if lang == "zh" else "bone turnover marker") in text.lower()
    assert (
        "抗骨吸收治疗：阿仑膦酸钠（自2024-08-05）" if lang == "zh" else "alendronate (since 2024-08-05)"
    ) in text
    assert (
        "第2.3、3节；" if lang == "zh" else "sections 2.3, 3; "
    ) in text  # Chinese: full-width punctuation
    if lang == "zh":
        assert "- 血清钙（每12个月）：上次2025-11-26（2.35" in text


def test_card_offers_one_servicerequest_per_overdue_test() -> None:
    c = card(REC, "en")
    assert c.selection_behavior == "any"
    codes = []
    for s in c.suggestions:
        (action,) = s.actions
        assert action.type == "create" and action.resource is not None
        request = ServiceRequest.model_validate(action.resource)
        assert request.status == "draft" and request.subject.reference == "Patient/p1"
        codes.append(action.resource["code"]["coding"][0]["code"])
    assert codes == ["2000-8", "41171-0"]  # serum calcium, CTX; renal function is up to date


def test_renal_bmd_and_supplement_tests_order_their_codes() -> None:
    rec = record(
        alendronate(100),
        medication({DrugClass.ANABOLIC}, 50, name="teriparatide"),
        medication(
            {DrugClass.NATIVE_VITAMIN_D}, 50, name="cholecalciferol 1000 IU", kind=ExposureKind.STATEMENT
        ),
        conditions=(t2dm(),),
    )
    c = card(rec, "en")
    codes = [(s.actions[0].resource or {})["code"]["coding"][0]["code"] for s in c.suggestions]
    # calcium, creatinine/eGFR, CTX, DXA, phosphate, PTH, 25-OH vitamin D: each once
    assert codes == ["2000-8", "2160-0", "41171-0", "38268-9", "14879-1", "2731-8", "62292-8"]
    assert len(c.summary) < 140
    zh = card(rec, "zh")
    assert len(zh.summary) < 140
    for word in ("抗骨吸收治疗", "促骨形成治疗", "钙剂/维生素D补充", "PTH", "25-羟维生素D"):
        assert word in detail(zh), word


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_ordered_test_is_named_as_ordered_and_not_offered_again(lang: str) -> None:
    ordered = replace(
        REC, test_orders=(ServiceRequestFact(Lab.CALCIUM, "active", ago(10), "ServiceRequest/ca"),)
    )
    c = card(ordered, lang)
    text = detail(c)
    day = ago(10).date().isoformat()
    assert (f"已于{day}开单，尚无结果" if lang == "zh" else f"ordered {day}, no result yet") in text
    offered = [
        a.resource["code"]["coding"][0]["code"]
        for s in c.suggestions or []
        for a in s.actions or []
        if a.resource is not None
    ]
    assert offered == ["41171-0"]  # CTX still offered; the calcium (2000-8) not again
    assert ("血清钙" if lang == "zh" else "calcium") not in c.summary


@pytest.mark.parametrize(
    ("lang", "name"), [("en", "ionised calcium 1.1 mmol/L"), ("zh", "离子钙 1.1 mmol/L")]
)
def test_an_ionised_calcium_is_quoted_as_such(lang: str, name: str) -> None:
    rec = record(
        alendronate(844), labs=(lab(Lab.IONISED_CALCIUM, 1.1, 400, unit="mmol/L"), lab(Lab.EGFR, 64, 180))
    )
    assert name in detail(card(rec, lang))
