"""Facts of the bone drug topics: bisphosphonates and renal function, calcium before antiresorptives,
anabolic therapy, hypercalcaemia on therapy (T2DM review sections 2.3 and 3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from service.kernel.clinical import DrugOrders, RenalFunction, SerumCalcium
from service.kernel.record import Lab


@dataclass(frozen=True, slots=True)
class LabResult:
    """A laboratory value in its canonical unit and the day it was taken."""

    lab: Lab
    value: float
    on: date


@dataclass(frozen=True, slots=True)
class RenalContraindicationFacts:
    """``bisphosphonate-renal-contraindication``: the bisphosphonate orders and the renal function below
    the threshold; ``dialysis`` when an active dialysis Condition is on record. The card also quotes the
    renal threshold of denosumab's boxed warning on severe hypocalcaemia, the alternative it names."""

    orders: DrugOrders
    renal: RenalFunction
    dialysis: bool
    renal_threshold: float
    hypocalcaemia_renal_threshold: float


@dataclass(frozen=True, slots=True)
class RenalUnknownFacts:
    """``bisphosphonate-renal-function-unknown``: the drafts without a renal function in their window.

    ``iv`` when one of them is intravenous (then ``window_days`` is the IV window); ``last_renal_test``
    the latest eGFR, creatinine clearance or serum creatinine ever taken (None when there is none with
    a value).
    """

    orders: DrugOrders
    iv: bool
    window_days: int
    dialysis: bool
    renal_threshold: float
    last_renal_test: LabResult | None


class PreInfusionReason(StrEnum):
    """Why a zoledronic acid or denosumab draft needs attention first."""

    CALCIUM_MISSING = "calcium-missing"
    CALCIUM_LOW = "calcium-low"
    VITAMIN_D_LOW = "vitamin-d-low"


@dataclass(frozen=True, slots=True)
class PreInfusionFacts:
    """``pre-infusion-calcium-check``: the drafts, the reasons, and the calcium and vitamin D behind them.

    ``calcium`` is the serum calcium within ``calcium_window_days``; without one, ``last_calcium`` is the
    latest ever (None when never measured). ``vitamin_d`` is the 25-OH vitamin D within
    ``vitamin_d_window_days``. ``first_zoledronic_acid``: zoledronic acid is drafted and none is on the
    chart; ``first_antiresorptive``: no bisphosphonate or denosumab is on the chart.
    """

    orders: DrugOrders
    reasons: tuple[PreInfusionReason, ...]
    calcium: SerumCalcium | None
    last_calcium: SerumCalcium | None
    vitamin_d: LabResult | None
    native_vitamin_d: bool
    zoledronic_acid: bool
    denosumab: bool
    first_zoledronic_acid: bool
    first_antiresorptive: bool
    calcium_window_days: int
    low_calcium: float
    vitamin_d_threshold: float
    vitamin_d_window_days: int


@dataclass(frozen=True, slots=True)
class AnabolicFacts:
    """``anabolic-duration-limit``: the anabolic orders, the first recorded anabolic exposure and how many
    days ago it was, against the limit."""

    orders: DrugOrders
    first_drug: str
    first_date: date
    days: int
    limit_days: int


@dataclass(frozen=True, slots=True)
class HypercalcaemiaFacts:
    """``hypercalcemia-on-therapy``: the active calcium, vitamin D or anabolic orders and the high calcium.

    ``severe`` when the calcium is above ``severe_threshold`` (the card is then critical); ``anabolic``
    when one of the therapies is teriparatide or abaloparatide.
    """

    orders: DrugOrders
    calcium: SerumCalcium
    threshold: float
    severe_threshold: float
    severe: bool
    anabolic: bool
