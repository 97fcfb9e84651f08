"""Facts of ``glycemic-overtreatment-fall-risk`` (T2DM review sections 1.4 and 2.2, revision 3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.kernel.clinical import BoneFragility, DrugOrders


@dataclass(frozen=True, slots=True)
class Reading:
    """A value in its canonical unit (HbA1c %, glucose mmol/L) and the day it was taken."""

    value: float
    on: date


@dataclass(frozen=True, slots=True)
class OvertreatmentFacts:
    """``glycemic-overtreatment-fall-risk``: an older patient with T2DM and bone fragility on insulin or an
    insulin secretagogue, with the signs of over-tight control that make the card fire.

    ``hba1c`` is the latest HbA1c in its window when it is below ``hba1c_threshold`` (None otherwise);
    ``hypoglycaemia_on`` the latest onset of a hypoglycaemia Condition in its window; ``low_glucose`` the
    latest glucose below ``low_glucose_threshold`` in its window. At least one is set. ``metformin`` is
    whether the card may name metformin (renal function within 365 days ≥ 30 and not on dialysis).
    """

    orders: DrugOrders
    age: int
    fragility: BoneFragility
    hba1c: Reading | None
    hba1c_threshold: float
    hypoglycaemia_on: date | None
    low_glucose: Reading | None
    low_glucose_threshold: float
    metformin: bool
