"""Observation values into each Lab's canonical unit (see service.kernel.record.Lab).

Dimensional conversions go through pint; mass <-> molar conversions use the molar-mass factors of
rules.md (calcium 1 mmol/L = 4.008 mg/dL, 25-OH vitamin D 1 ng/mL = 2.496 nmol/L, creatinine
1 mg/dL = 88.42 umol/L, phosphate 1 mmol/L = 3.097 mg/dL, PTH 1 pmol/L = 9.43 pg/mL; revision 3: ionised
calcium as total calcium, glucose 1 mmol/L = 18.016 mg/dL, magnesium 1 mmol/L = 2.431 mg/dL = 2 mEq/L) and
HbA1c mmol/mol -> % by the IFCC-NGSP master equation. Enzyme activities (alkaline phosphatase) are in U/L
(1 ukat/L = 60 U/L).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import pint

from service.kernel.record import Lab

_UREG: pint.UnitRegistry = pint.UnitRegistry()
_UREG.define("std_bsa = 1.73 * meter ** 2")  # the 1.73 m2 body-surface normalisation of eGFR


class UnitError(ValueError):
    """The unit is missing, unknown or of another kind than the concept's."""


@dataclass(frozen=True, slots=True)
class _Rule:
    canonical: str  # pint expression of the canonical unit
    display: str  # how cards show it
    alternate: str | None = None  # pint expression of the other (mass or molar) dimension
    per_canonical: float = 1.0  # 1 canonical unit = per_canonical alternate units


_RULES: dict[Lab, _Rule] = {
    Lab.EGFR: _Rule("mL/min/std_bsa", "mL/min/1.73 m2"),
    Lab.CREATININE_CLEARANCE: _Rule("mL/min", "mL/min"),
    Lab.CREATININE: _Rule("mg/dL", "mg/dL", "umol/L", 88.42),
    Lab.CALCIUM: _Rule("mmol/L", "mmol/L", "mg/dL", 4.008),
    Lab.IONISED_CALCIUM: _Rule("mmol/L", "mmol/L", "mg/dL", 4.008),
    Lab.GLUCOSE: _Rule("mmol/L", "mmol/L", "mg/dL", 18.016),
    Lab.MAGNESIUM: _Rule("mmol/L", "mmol/L", "mg/dL", 2.431),
    Lab.ALBUMIN: _Rule("g/L", "g/L"),
    Lab.PHOSPHATE: _Rule("mmol/L", "mmol/L", "mg/dL", 3.097),
    Lab.PTH: _Rule("pg/mL", "pg/mL", "pmol/L", 1 / 9.43),
    Lab.VITAMIN_D: _Rule("ng/mL", "ng/mL", "nmol/L", 2.496),
    Lab.BMD: _Rule("g/cm**2", "g/cm2"),
    Lab.BMI: _Rule("kg/m**2", "kg/m2"),
    Lab.WAIST: _Rule("cm", "cm"),
    Lab.BODY_WEIGHT: _Rule("kg", "kg"),
}
_AS_REPORTED = frozenset({Lab.CTX, Lab.P1NP, Lab.BONE_ALP})
_SCORES = frozenset({Lab.T_SCORE, Lab.Z_SCORE})
_SCORE_UNITS = frozenset(
    {"", "1", "sd", "{sd}", "s.d.", "score", "{t-score}", "{z-score}", "t-score", "z-score"}
)
_PERCENT = frozenset({"%", "percent", "%{hba1c}", "%{hemoglobin}", "% of total hgb", "%hba1c"})
_IFCC = frozenset({"mmol/mol", "mmol/mol{hb}", "mmol/mol hb", "mmol/molhb"})
# Enzyme activity per litre: U/L is the canonical unit; pint has no enzyme unit, so the spellings are listed.
_ACTIVITY = {
    "u/l": 1.0,
    "iu/l": 1.0,
    "[iu]/l": 1.0,
    "unit/l": 1.0,
    "units/l": 1.0,
    "mu/ml": 1.0,
    "ukat/l": 60.0,
    "µkat/l": 60.0,
    "μkat/l": 60.0,
    "nkat/l": 0.06,
}
# Magnesium is divalent: 1 mmol/L = 2 mEq/L.
_MAGNESIUM_EQ = frozenset({"meq/l", "meq/l{mg}"})

_UCUM = {
    "[in_i]": "inch",
    "[in_us]": "inch",
    "in": "inch",
    "inches": "inch",
    "[lb_av]": "pound",
    "lb": "pound",
    "lbs": "pound",
    "[oz_av]": "ounce",
}
_BSA = re.compile(r"\{?1[.,]73[ _]?(m2|m\^2|m²|m\*\*2|sq\.? ?m)\}?", re.IGNORECASE)  # 1,73: decimal comma
# Every eGFR LOINC code is "/1.73 sq M" by definition: a value sent under one with a plain volume rate
# ("mL/min", as some interfaces write it) is that normalised eGFR, not a clearance.
_EGFR_AS_RATE = "mL/min"


def _pint_expression(unit: str) -> str:
    """UCUM-ish text to a pint expression ("mL/min/{1.73_m2}" -> "mL/min/std_bsa")."""
    text = unit.strip()
    if text.lower() in _UCUM:
        return _UCUM[text.lower()]
    text = _BSA.sub("std_bsa", text)
    text = re.sub(r"\s+per\s+", "/", text)
    text = re.sub(r"\{[^}]*\}", "", text)  # UCUM annotations carry no dimension
    text = text.replace("µ", "u").replace("μ", "u").replace("²", "2").replace(" ", "")
    text = re.sub(r"(?<=[a-zA-Z])([23])\b", r"**\1", text)  # m2 -> m**2
    return text


@cache
def _factor(source: str, target: str) -> float | None:
    """How many target units one source unit is; None when pint cannot relate them."""
    try:
        return float(_UREG.Quantity(1.0, _pint_expression(source)).to(target).magnitude)
    except (pint.errors.PintError, AttributeError, TypeError, ValueError, AssertionError, SyntaxError):
        return None


def to_canonical(lab: Lab, value: float, unit: str | None) -> tuple[float, str | None]:
    """(value in the canonical unit, unit to display); raises UnitError when it cannot be converted."""
    text = (unit or "").strip()
    if lab in _AS_REPORTED:
        return value, text or None
    if lab in _SCORES:
        if text.lower() not in _SCORE_UNITS:
            raise UnitError(f"unit {text!r} is not a score")
        return value, "SD"
    if not text:
        raise UnitError("no unit")
    if lab is Lab.HBA1C:
        lower = text.lower()
        if lower in _PERCENT:
            return value, "%"
        if lower in _IFCC:
            return round(value * 0.09148 + 2.152, 6), "%"
        raise UnitError(f"unit {text!r} is not % or mmol/mol")
    if lab is Lab.ALKALINE_PHOSPHATASE:
        per_unit = _ACTIVITY.get(text.lower().replace(" ", ""))
        if per_unit is None:
            raise UnitError(f"unit {text!r} is not an enzyme activity per litre")
        return round(value * per_unit, 6), "U/L"
    if lab is Lab.MAGNESIUM and text.lower().replace(" ", "") in _MAGNESIUM_EQ:
        return round(value / 2, 6), "mmol/L"
    rule = _RULES.get(lab)
    if rule is None:
        raise UnitError(f"{lab.value} has no unit")
    factor = _factor(text, rule.canonical)
    if factor is None and lab is Lab.EGFR:
        factor = _factor(text, _EGFR_AS_RATE)
    if factor is not None:
        return round(value * factor, 6), rule.display
    if rule.alternate is not None:
        factor = _factor(text, rule.alternate)
        if factor is not None:
            return round(value * factor / rule.per_canonical, 6), rule.display
    raise UnitError(f"unit {text!r} is not convertible to {rule.display}")
