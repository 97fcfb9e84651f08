"""Clinical values that several rules conclude and several cards quote.

Each is computed once, by the shared definitions in :mod:`service.rules.definitions`, and carries its
own evidence (which measurement, which date, how it was obtained), so that every card words the same
value the same way through the phrase library of :mod:`service.cards`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from service.kernel.record import BmdSite, Sex


class RenalMeasure(StrEnum):
    """How a renal function value was obtained."""

    EGFR = "egfr"  # mL/min/1.73 m², as reported
    CRCL = "crcl"  # creatinine clearance, mL/min, as reported
    COCKCROFT_GAULT = (
        "crcl-cockcroft-gault"  # creatinine clearance computed from creatinine, weight, age, sex
    )


@dataclass(frozen=True, slots=True)
class CockcroftGaultInputs:
    """What a computed creatinine clearance was computed from (the card names each input)."""

    creatinine_mg_per_dl: float
    creatinine_on: date
    weight_kg: float
    weight_on: date
    age: int
    sex: Sex


@dataclass(frozen=True, slots=True)
class RenalFunction:
    """The renal function a rule decides on (rules.md "Renal function"), with its evidence.

    ``other`` is the other reported measure when both an eGFR and a creatinine clearance exist (the lower
    one decides); ``inputs`` are set when the value was computed by the Cockcroft–Gault formula.
    """

    value: float
    kind: RenalMeasure
    at: datetime
    other: RenalFunction | None = None
    inputs: CockcroftGaultInputs | None = None


@dataclass(frozen=True, slots=True)
class SerumCalcium:
    """Serum calcium in mmol/L, albumin-corrected when an albumin of the same day exists."""

    value: float
    measured: float
    at: datetime
    albumin_g_per_l: float | None  # set when corrected


class FragilityReason(StrEnum):
    """Why a patient counts as having bone fragility (rules.md "Bone fragility (BF)")."""

    OSTEOPOROSIS = "osteoporosis"
    FRAGILITY_FRACTURE = "fragility-fracture"
    T_SCORE = "t-score"
    ANTI_OSTEOPOROSIS_DRUG = "anti-osteoporosis-drug"


@dataclass(frozen=True, slots=True)
class TScore:
    """The lowest spine, hip or femoral-neck T-score of the latest DXA examination."""

    value: float
    site: BmdSite | None
    on: date


@dataclass(frozen=True, slots=True)
class BoneFragility:
    """Bone fragility with its full evidence: the reasons, and the dates and values a card quotes.

    ``osteoporosis_since`` is the earliest onset of an active osteoporosis Condition; ``fracture_on`` the
    latest onset of any fragility fracture; ``t_score`` the low T-score when it is a reason; ``drug`` and
    ``drug_on`` the most recent anti-osteoporosis drug on the chart.
    """

    reasons: tuple[FragilityReason, ...]
    osteoporosis_since: date | None = None
    fracture_on: date | None = None
    t_score: TScore | None = None
    drug: str | None = None
    drug_on: date | None = None


@dataclass(frozen=True, slots=True)
class DrugOrders:
    """The orders a drug card is about: drafts at order time, or active chart orders with their dates.

    ``ordered`` is None for draft orders, and one order date (or None, not recorded) per drug for chart
    orders: EHRs leave long-term orders open, so a card says how old each one is.
    """

    names: tuple[str, ...]
    ordered: tuple[date | None, ...] | None = None

    @property
    def from_chart(self) -> bool:
        return self.ordered is not None
