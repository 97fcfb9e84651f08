"""Facts of ``hypocalcemia-on-antiresorptive`` (T2DM review section 3 and the product labels, revision 3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.kernel.clinical import RenalFunction, SerumCalcium
from service.kernel.record import Lab


@dataclass(frozen=True, slots=True)
class PendingTest:
    """A test ordered and not yet resulted (rules.md "Ordered, not yet resulted (r3)"): not offered again."""

    lab: Lab
    ordered_on: date


@dataclass(frozen=True, slots=True)
class HypocalcaemiaFacts:
    """``hypocalcemia-on-antiresorptive``: the low calcium and the antiresorptive dose behind it.

    ``calcium`` is the result that decides (total, albumin-corrected, or ionised), ``severe`` when below
    the severe limit of its kind. ``drug`` names the dose: the last denosumab dose D (``denosumab``) or a
    zoledronic acid exposure, dated ``dose_on`` (``days_since_dose`` days ago); ``oncology`` when it is denosumab 120 mg or zoledronic
    acid 4 mg. ``renal`` is the renal function within 365 days (None: unknown); ``dialysis`` when on
    dialysis. ``tests`` are the tests the card offers (calcium, then 25-OH vitamin D, PTH and magnesium
    without a result within ``workup_window_days``); ``pending`` those ordered and not yet resulted.
    """

    calcium: SerumCalcium
    severe: bool
    low_limit: float
    drug: str
    denosumab: bool
    oncology: bool
    dose_on: date
    days_since_dose: int
    renal: RenalFunction | None
    dialysis: bool
    recheck_days: int
    workup_window_days: int
    tests: tuple[Lab, ...]
    pending: tuple[PendingTest, ...]
