"""Facts of the glucose-lowering drug topics (T2DM review sections 1.4, 2.1, 2.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from service.kernel.clinical import BoneFragility, DrugOrders, RenalFunction


class MetforminBar(StrEnum):
    """Why metformin is not named as an alternative (rules.md r3, "No contradictions")."""

    DIALYSIS = "dialysis"
    RENAL_LOW = "renal-low"  # renal function (365 days) below the metformin threshold
    RENAL_UNKNOWN = "renal-unknown"  # no renal function within 365 days


@dataclass(frozen=True, slots=True)
class TzdFacts:
    """``tzd-fracture-risk``: the TZD orders, and the bone fragility that makes it a warning.

    ``fragility`` is None when the card fires only because the patient is a woman with T2DM (info).
    ``metformin_bar`` is None when metformin may be named as an alternative; otherwise the card names a
    GLP-1 RA or DPP-4 inhibitor and says why not metformin (``renal``: the renal function that decided).
    """

    orders: DrugOrders
    fragility: BoneFragility | None
    metformin_bar: MetforminBar | None = None
    renal: RenalFunction | None = None
    metformin_threshold: float = 30.0


@dataclass(frozen=True, slots=True)
class Sglt2Facts:
    """``sglt2-fracture-caution``: the SGLT2 draft, the eGFR below the threshold, the bone fragility."""

    orders: DrugOrders
    egfr: RenalFunction
    egfr_threshold: float
    fragility: BoneFragility


@dataclass(frozen=True, slots=True)
class InsulinFacts:
    """``insulin-hypoglycemia-fall-risk``: why this patient (older with bone fragility, or hypoglycaemia).

    ``insulin`` and ``secretagogue`` say which drafts the card is about (r3: a sulfonylurea or glinide,
    the insulin secretagogues, carries the same hypoglycaemia risk).
    """

    orders: DrugOrders
    age: int | None
    older_age_years: int
    older_with_fragility: bool
    hypoglycaemia: bool
    hypoglycaemia_onset: date | None  # the latest recorded onset, when known
    fragility: BoneFragility | None
    insulin: bool = True
    secretagogue: bool = False
