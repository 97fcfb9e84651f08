"""The glycemic-overtreatment-fall-risk card: the signs in both units, the advice, no order."""

from __future__ import annotations

import pytest

from service.cards import render
from service.cards.glycaemia import ifcc
from service.kernel.record import DrugClass, Lab, Problem, Sex
from service.rules.glycaemia import glycemic_overtreatment
from tests.builders import NOW, born_years_ago, condition, days_ago, lab, patient, record
from tests.builders import medication as med
from tests.service.rules._drug_records import SETTINGS, osteoporosis, t2dm


def chart(*labs, extra=()):  # type: ignore[no-untyped-def]
    return record(
        who=patient(Sex.MALE, born_years_ago(76)),
        conditions=[t2dm(), osteoporosis(), *extra],
        labs=labs,
        meds=[med({DrugClass.SULFONYLUREA}, 300, name="gliclazide")],
    )


def card(r, lang="en"):  # type: ignore[no-untyped-def]
    finding = glycemic_overtreatment(r, NOW, SETTINGS)
    assert finding is not None
    return render(finding, r, NOW, lang)


def test_ifcc_master_equation() -> None:
    assert round(ifcc(7.0)) == 53 and round(ifcc(6.5)) == 48


def test_every_sign_with_its_units_and_the_advice() -> None:
    hypo = condition(Problem.HYPOGLYCAEMIA, onset=days_ago(60))
    c = card(chart(lab(Lab.HBA1C, 6.4, 30), lab(Lab.GLUCOSE, 3.4, 20), lab(Lab.EGFR, 70, 30), extra=(hypo,)))
    assert c.indicator == "warning" and not c.suggestions
    assert c.summary.startswith("Glucose control may be too tight at 76")
    assert "HbA1c 6.4 % on" in c.detail and "(under 7 %, 53 mmol/mol)" in c.detail
    assert "glucose 3.4 mmol/L on" in c.detail and "(under 3.9 mmol/L, 70 mg/dL)" in c.detail
    assert f"hypoglycaemia on {days_ago(60).isoformat()}" in c.detail
    assert "gliclazide" in c.detail and "osteoporosis" in c.detail
    assert "Individualise the glucose target" in c.detail and "metformin" in c.detail
    assert "Zuo & Yang 2025, sections 2.2, 1.4" in c.detail
    assert len(c.detail.rsplit("\n\n", 1)[0]) <= 600


@pytest.mark.parametrize(("egfr", "metformin"), [(30, True), (29, False)])
def test_metformin_is_named_only_with_renal_function_30_or_more(egfr: float, metformin: bool) -> None:
    c = card(chart(lab(Lab.GLUCOSE, 3.4, 20), lab(Lab.EGFR, egfr, 30)))
    assert ("metformin" in c.detail) is metformin
    assert ("except linagliptin" in c.detail) is not metformin


def test_chinese_card() -> None:
    c = card(chart(lab(Lab.HBA1C, 6.4, 30)), "zh")
    assert c.summary.startswith("76岁")
    assert "糖化血红蛋白6.4 %" in c.detail and "左梓旭、杨斌 2025，第2.2、1.4节" in c.detail
    assert len(c.detail.rsplit("\n\n", 1)[0]) <= 300
