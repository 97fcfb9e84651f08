"""Facts of ``ckd-mineral-bone-workup`` (T2DM review sections 1.3 and 1.4, KDIGO, revision 3)."""

from __future__ import annotations

from dataclasses import dataclass

from service.kernel.clinical import BoneFragility, RenalFunction
from service.kernel.facts.calcium import PendingTest
from service.kernel.record import Lab


@dataclass(frozen=True, slots=True)
class CkdMbdFacts:
    """``ckd-mineral-bone-workup``: advanced diabetic kidney disease with bone fragility, and the
    CKD–mineral and bone disorder tests without a result within ``interval_days``.

    ``egfr`` is the latest eGFR within its window (None when the card fires on dialysis alone); ``dialysis``
    when on dialysis. ``missing`` are the tests the card offers, one order each; ``pending`` those ordered
    and not yet resulted (not offered again).
    """

    egfr: RenalFunction | None
    egfr_threshold: float
    dialysis: bool
    fragility: BoneFragility
    interval_days: int
    missing: tuple[Lab, ...]
    pending: tuple[PendingTest, ...]
