"""The hypocalcemia-on-antiresorptive card: values in both units, the dose, renal function, the advice."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from service.cards import render
from service.kernel.findings import Topic
from service.kernel.record import DrugClass, ExposureKind, Lab, Problem, Sex
from service.kernel.record import TestOrder as Ordered
from service.rules import Moment, evaluate
from service.rules.calcium import hypocalcemia_on_antiresorptive
from tests.builders import NOW, ago, born_years_ago, condition, lab, patient, record
from tests.builders import medication as med
from tests.conftest import REPO
from tests.scenarios._scenario import load
from tests.service.cards._every_card import Chart, answer
from tests.service.rules._drug_records import DENOSUMAB, SETTINGS

ADMIN = {"kind": ExposureKind.ADMINISTRATION, "status": "completed"}


def chart(*labs, meds=None, extra=()):  # type: ignore[no-untyped-def]
    return record(
        who=patient(Sex.FEMALE, born_years_ago(72)),
        conditions=extra,
        labs=labs,
        meds=meds or [med(DENOSUMAB, 40, name="Prolia", **ADMIN)],
    )


def card(r, lang="en"):  # type: ignore[no-untyped-def]
    finding = hypocalcemia_on_antiresorptive(r, NOW, SETTINGS)
    assert finding is not None
    return render(finding, r, NOW, lang)


def body(c) -> str:  # type: ignore[no-untyped-def]
    return c.detail.rsplit("\n\n", 1)[0]


def test_severe_total_calcium_in_mmol_and_mg_dl_with_the_dose_and_advice() -> None:
    c = card(chart(lab(Lab.CALCIUM, 1.82, 2), lab(Lab.EGFR, 52, 20)))
    assert c.indicator == "critical"
    assert c.summary == "Severe hypocalcaemia (1.82 mmol/L) after denosumab: assess and treat now"
    assert "1.82 mmol/L on" in c.detail and "mg/dL" not in c.detail and ": severe" in c.detail
    assert "Prolia" in c.detail and "(40 days ago)" in c.detail
    assert "eGFR 52" in c.detail
    assert "recheck calcium within 7 days" in c.detail and "hold the next antiresorptive dose" in c.detail
    assert "Zuo & Yang 2025, section 3" in c.detail and "the product labels" in c.detail
    assert [s.label for s in c.suggestions or []] == [
        "Order serum calcium",
        "Order 25-OH vitamin D",
        "Order intact PTH",
        "Order serum magnesium",
    ]
    assert c.selection_behavior == "any"
    assert len(body(c)) <= 600


def test_ionised_albumin_corrected_oncology_and_dialysis_wording() -> None:
    zometa = [med({DrugClass.ZOLEDRONIC_ACID_ONCOLOGY}, 12, name="Zometa", **ADMIN)]
    ionised = card(
        chart(lab(Lab.IONISED_CALCIUM, 1.11, 2), meds=zometa, extra=(condition(Problem.DIALYSIS),))
    )
    assert ionised.indicator == "warning"
    assert "**Ionised calcium:** 1.11 mmol/L on" in ionised.detail
    assert "(oncology dose)" in ionised.detail and "on dialysis" in ionised.detail
    assert "as the renal team advises (KDIGO)" in ionised.detail
    assert ionised.summary.endswith("after zoledronic acid: replete, recheck, hold the next dose")
    corrected = card(chart(lab(Lab.CALCIUM, 1.95, 2), lab(Lab.ALBUMIN, 45, 2)))
    assert "albumin-corrected: measured 1.95 mmol/L, albumin 45 g/L" in corrected.detail
    assert "**Renal function:** none within 12 months" in corrected.detail
    assert "renal team" not in corrected.detail
    low_egfr = card(chart(lab(Lab.CALCIUM, 2.0, 2), lab(Lab.EGFR, 29, 20)))
    assert "as the renal team advises (KDIGO)" in low_egfr.detail
    assert "renal team" not in card(chart(lab(Lab.CALCIUM, 2.0, 2), lab(Lab.EGFR, 30, 20))).detail


def test_a_pending_order_is_named_and_not_offered() -> None:
    r = replace(
        chart(lab(Lab.CALCIUM, 2.0, 2)), test_orders=(Ordered(Lab.PTH, "active", ago(4), "ServiceRequest/1"),)
    )
    c = card(r)
    assert "Ordered, no result yet: intact PTH (ordered 2026-11-23)." in c.detail
    assert "Order intact PTH" not in [s.label for s in c.suggestions or []]


def test_chinese_card() -> None:
    c = card(chart(lab(Lab.CALCIUM, 1.82, 2)), "zh")
    assert c.summary == "地舒单抗后严重低钙血症（1.82 mmol/L）：请立即评估和处理"
    assert "1.82 mmol/L，" in c.detail and "40天前" in c.detail
    assert "左梓旭、杨斌 2025，第3节" in c.detail and "药品说明书" in c.detail
    assert len(body(c)) <= 300


def test_palliative_care_card_has_no_suggestions_and_the_goals_of_care_line() -> None:
    r = chart(lab(Lab.CALCIUM, 1.86, 2), extra=(condition(Problem.PALLIATIVE_CARE, onset=NOW.date()),))
    (finding,) = [
        f
        for f in evaluate(r, NOW, SETTINGS, Moment.VIEW).cards
        if f.topic is Topic.HYPOCALCEMIA_ON_ANTIRESORPTIVE
    ]
    c = render(finding, r, NOW, "en")
    assert not c.suggestions and "Weigh treatment against the goals of care." in c.detail


TOPIC = Topic.HYPOCALCEMIA_ON_ANTIRESORPTIVE.value

# --- lab values in the unit the lab reported (rules.md r3) -------------------------------------------

PROLIA_7_5 = REPO / "tests" / "scenarios" / "calcium" / "prolia-calcium-7-5-mg-dl-severe-critical.yaml"


def _hypocalcaemia_card(value: float, unit: str, language: str) -> tuple[str, str]:
    """(summary, detail) of the scenario's card with its calcium reported as ``value`` ``unit``."""
    scenario = load(PROLIA_7_5)
    request = copy.deepcopy(scenario.request)
    for entry in request["prefetch"]["observations"]["entry"]:
        entry["resource"]["valueQuantity"] |= {"value": value, "unit": unit, "code": unit}
    chart = Chart("prolia", request, scenario.now, {})
    (card,) = [c for c in answer(chart, language) if c.source.topic and c.source.topic.code == TOPIC]
    return card.summary, card.detail or ""


@pytest.mark.parametrize(
    ("language", "shown"), [("en", "7.5 mg/dL (1.87 mmol/L)"), ("zh", "7.5 mg/dL（1.87 mmol/L）")]
)
def test_a_calcium_reported_in_mg_dl_is_quoted_in_mg_dl_with_mmol_l_in_brackets(
    language: str, shown: str
) -> None:
    summary, detail = _hypocalcaemia_card(7.5, "mg/dL", language)
    assert shown in detail
    assert "7.5 mg/dL" in summary and "mmol/L" not in summary  # a summary quotes the reported unit alone


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_calcium_reported_in_mmol_l_is_quoted_once(language: str) -> None:
    summary, detail = _hypocalcaemia_card(1.87, "mmol/L", language)
    assert "1.87 mmol/L" in summary and "1.87 mmol/L" in detail
    assert "mg/dL" not in summary + detail
