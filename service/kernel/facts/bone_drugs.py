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
class PendingTest:
    """A test ordered (an active or completed ServiceRequest) and not yet resulted (rules.md r3): the card
    says "ordered on …, no result yet; confirm the result before the first dose" and offers no test for
    it."""

    lab: Lab
    ordered_on: date


@dataclass(frozen=True, slots=True)
class RenalContraindicationFacts:
    """``bisphosphonate-renal-contraindication``: the bisphosphonate orders and the renal function below
    the threshold, or dialysis (r3: renal function known and below every threshold, whatever the latest
    value; ``renal`` is then the latest value, if any). ``renal_threshold`` is the one that applied: 35
    for the osteoporosis products, 30 when every order is zoledronic acid 4 mg (``oncology``, its label).
    The card also quotes the renal threshold of denosumab's boxed warning on severe hypocalcaemia, the
    alternative it names, unless the patient is ``pregnant`` (no card advises denosumab then)."""

    orders: DrugOrders
    renal: RenalFunction | None
    dialysis: bool
    renal_threshold: float
    hypocalcaemia_renal_threshold: float
    oncology: bool = False
    pregnant: bool = False


@dataclass(frozen=True, slots=True)
class RenalUnknownFacts:
    """``bisphosphonate-renal-function-unknown``: the drafts without a renal function in their window.

    ``iv`` when one of them is intravenous (then ``window_days`` is the IV window); ``last_renal_test``
    the latest eGFR, creatinine clearance or serum creatinine ever taken (None when there is none with
    a value); ``pending`` the creatinine/eGFR ordered and not yet resulted (r3: no test is offered).
    """

    orders: DrugOrders
    iv: bool
    window_days: int
    renal_threshold: float
    last_renal_test: LabResult | None
    pending: PendingTest | None = None


class PreInfusionReason(StrEnum):
    """Why a zoledronic acid or denosumab draft needs attention first."""

    CALCIUM_MISSING = "calcium-missing"
    HYPOCALCAEMIA = "hypocalcaemia"  # r3: the card is critical and offers to delete the draft
    VITAMIN_D_LOW = "vitamin-d-low"
    ADVANCED_CKD = "advanced-ckd"  # r3: a denosumab draft with renal function < 30 or on dialysis


@dataclass(frozen=True, slots=True)
class PreInfusionFacts:
    """``pre-infusion-calcium-check``: the drafts, the reasons, and the calcium and vitamin D behind them.

    ``calcium`` is the calcium (total, corrected, or ionised) within ``calcium_window_days``; without
    one, ``last_calcium`` is the latest ever (None when never measured); ``low_calcium`` the low limit of
    its kind and ``severe`` whether it is severely low. ``vitamin_d`` is the 25-OH vitamin D within
    ``vitamin_d_window_days``. ``first_zoledronic_acid``: zoledronic acid is drafted and none is on the
    chart; ``first_antiresorptive``: no bisphosphonate or denosumab is on the chart. In the advanced-CKD
    case (r3) ``renal`` and ``dialysis`` say why (below ``ckd_renal_threshold``), ``ckd_window_days`` is the window of phosphate, PTH
    and 25-OH vitamin D. ``missing`` are the tests the card offers, ``pending`` those ordered and not
    yet resulted (not offered again).
    """

    orders: DrugOrders
    reasons: tuple[PreInfusionReason, ...]
    calcium: SerumCalcium | None
    last_calcium: SerumCalcium | None
    severe: bool
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
    renal: RenalFunction | None = None
    dialysis: bool = False
    ckd_renal_threshold: float = 30.0
    ckd_window_days: int = 92
    missing: tuple[Lab, ...] = ()
    pending: tuple[PendingTest, ...] = ()


@dataclass(frozen=True, slots=True)
class AnabolicCourse:
    """One course of anabolic therapy (rules.md r3): exposures no more than the gap apart, from ``first``
    to ``last`` (the last exposure day; a statement's period counts throughout); ``days`` is last −
    first + 30, or first to now while the course is ``running`` (an active order or statement)."""

    first: date
    last: date
    days: int
    running: bool


@dataclass(frozen=True, slots=True)
class AnabolicFacts:
    """``anabolic-duration-limit``: the anabolic orders, the courses of teriparatide and abaloparatide on
    record (they add up; ``gap_days`` separates two courses) and their cumulative days, against the
    limit. ``pregnant``: no card advises
    an antiresorptive then."""

    orders: DrugOrders
    courses: tuple[AnabolicCourse, ...]
    days: int
    limit_days: int
    gap_days: int = 92
    pregnant: bool = False


@dataclass(frozen=True, slots=True)
class HypercalcaemiaFacts:
    """``hypercalcemia-on-therapy``: the active calcium, vitamin D or anabolic orders and the high calcium.

    ``calcium`` is the result that decides (total corrected, or ionised: r3, with its own limits);
    ``threshold`` and ``severe_threshold`` are the limits of its kind; ``severe`` when above the latter
    (the card is then critical); ``anabolic`` when one of the therapies is teriparatide or abaloparatide.
    """

    orders: DrugOrders
    calcium: SerumCalcium
    threshold: float
    severe_threshold: float
    severe: bool
    anabolic: bool
