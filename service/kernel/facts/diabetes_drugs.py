"""Facts of the glucose-lowering drug topics (T2DM review sections 1.4, 2.1, 2.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.kernel.clinical import BoneFragility, DrugOrders, RenalFunction


@dataclass(frozen=True, slots=True)
class TzdFacts:
    """``tzd-fracture-risk``: the TZD orders, and the bone fragility that makes it a warning.

    ``fragility`` is None when the card fires only because the patient is a woman with T2DM (info).
    """

    orders: DrugOrders
    fragility: BoneFragility | None


@dataclass(frozen=True, slots=True)
class Sglt2Facts:
    """``sglt2-fracture-caution``: the SGLT2 draft, the eGFR below the threshold, the bone fragility."""

    orders: DrugOrders
    egfr: RenalFunction
    egfr_threshold: float
    fragility: BoneFragility


@dataclass(frozen=True, slots=True)
class InsulinFacts:
    """``insulin-hypoglycemia-fall-risk``: why this patient (older with bone fragility, or hypoglycaemia)."""

    orders: DrugOrders
    age: int | None
    older_age_years: int
    older_with_fragility: bool
    hypoglycaemia: bool
    hypoglycaemia_onset: date | None  # the latest recorded onset, when known
    fragility: BoneFragility | None
