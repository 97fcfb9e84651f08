"""The ckd-mineral-bone-workup card: the eGFR or dialysis, the missing tests (one order each), pending ones."""

from __future__ import annotations

from dataclasses import replace

from service.cards import render
from service.kernel.record import Lab, Problem, Sex
from service.kernel.record import TestOrder as Ordered
from service.rules.ckd_mbd import ckd_mineral_bone_workup
from tests.builders import NOW, ago, born_years_ago, condition, lab, patient, record
from tests.service.rules._drug_records import SETTINGS, osteoporosis, t2dm


def chart(*labs, extra=()):  # type: ignore[no-untyped-def]
    return record(
        who=patient(Sex.MALE, born_years_ago(69)), conditions=[t2dm(), osteoporosis(), *extra], labs=labs
    )


def card(r, lang="en"):  # type: ignore[no-untyped-def]
    finding = ckd_mineral_bone_workup(r, NOW, SETTINGS)
    assert finding is not None
    return render(finding, r, NOW, lang)


def test_the_egfr_the_missing_tests_and_one_order_each() -> None:
    c = card(chart(lab(Lab.EGFR, 26, 10), lab(Lab.CALCIUM, 2.3, 10)))
    assert c.indicator == "info"
    assert "eGFR 26 mL/min/1.73 m²" in c.detail and "below 30" in c.detail
    assert (
        "**No result within 12 months:** intact PTH; serum phosphate; 25-OH vitamin D; serum alkaline phosphatase"
        in c.detail
    )
    assert "Zuo & Yang 2025, sections 1.3, 1.4" in c.detail and "KDIGO" in c.detail
    suggestions = c.suggestions or []
    assert len(suggestions) == 4 and c.selection_behavior == "any"
    alp = suggestions[-1].actions[0].resource or {}
    assert alp["code"]["coding"][0]["code"] == "6768-6"
    assert len(c.detail.rsplit("\n\n", 1)[0]) <= 600


def test_dialysis_and_a_pending_order() -> None:
    r = replace(
        chart(extra=(condition(Problem.DIALYSIS),)),
        test_orders=(Ordered(Lab.PTH, "active", ago(3), "ServiceRequest/1"),),
    )
    c = card(r)
    assert "**Kidney:** on dialysis" in c.detail
    assert "Ordered, no result yet: intact PTH (ordered 2026-11-24)." in c.detail


def test_chinese_card() -> None:
    c = card(chart(lab(Lab.EGFR, 26, 10)), "zh")
    assert (
        "慢性肾脏病-矿物质和骨异常" in c.summary and "血清碱性磷酸酶" in c.detail and "KDIGO指南" in c.detail
    )
    assert len(c.detail.rsplit("\n\n", 1)[0]) <= 300
