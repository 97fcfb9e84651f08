"""Composer of ``glycemic-overtreatment-fall-risk`` (T2DM review sections 2.2 and 1.4, revision 3).

The card quotes the signs of over-tight control with the patient's own values (HbA1c in % with
mmol/mol, glucose in mmol/L with mg/dL), the orders and the bone fragility, and asks for an individual
glucose target. It offers no order.
"""

from __future__ import annotations

from typing import Any

from service.cards._phrases import num, phrases
from service.cards._text import TopicText
from service.cards._wording import Text, TopicWording
from service.kernel.facts.glycaemia import OvertreatmentFacts
from service.kernel.findings import Finding, Topic
from service.kernel.record import Lab

GLUCOSE_MG_PER_DL_PER_MMOL = 18.016


def ifcc(percent: float) -> float:
    """HbA1c from % (NGSP) to mmol/mol (IFCC master equation)."""
    return (percent - 2.152) * 10.929


def _overtreatment(finding: Finding[OvertreatmentFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    signs = [t("signs_heading")]
    if facts.hba1c is not None:
        signs.append(
            t(
                "sign_hba1c",
                hba1c_value=p.lab(Lab.HBA1C, facts.hba1c.value, facts.hba1c.on),
                hba1c_day=p.day(facts.hba1c.on),
                hba1c_limit=num(facts.hba1c_threshold, 1),
                hba1c_limit_mmol_mol=num(ifcc(facts.hba1c_threshold), 0),
            )
        )
    if facts.hypoglycaemia_on is not None:
        signs.append(t("sign_hypoglycaemia", hypoglycaemia_day=p.day(facts.hypoglycaemia_on)))
    if facts.low_glucose is not None:
        signs.append(
            t(
                "sign_glucose",
                glucose_value=p.lab(Lab.GLUCOSE, facts.low_glucose.value, facts.low_glucose.on),
                glucose_day=p.day(facts.low_glucose.on),
                glucose_limit=num(facts.low_glucose_threshold, 1),
                glucose_limit_mg_dl=num(facts.low_glucose_threshold * GLUCOSE_MG_PER_DL_PER_MMOL, 0),
            )
        )
    parts = [
        p.orders(facts.orders),
        "\n".join(signs),
        t("fragility_line", fragility=p.fragility_inline(facts.fragility)),
        t("advice") + t("alternatives" if facts.metformin else "alternatives_renal"),
    ]
    return Text(t("summary", age=facts.age), "\n\n".join(parts))


WORDING: dict[Topic, TopicWording[Any]] = {
    Topic.GLYCEMIC_OVERTREATMENT_FALL_RISK: TopicWording(
        OvertreatmentFacts,
        _overtreatment,
        derived=frozenset(
            {
                "hba1c_value",
                "hba1c_day",
                "hba1c_limit",
                "hba1c_limit_mmol_mol",
                "hypoglycaemia_day",
                "glucose_value",
                "glucose_day",
                "glucose_limit",
                "glucose_limit_mg_dl",
            }
        ),
    ),
}
