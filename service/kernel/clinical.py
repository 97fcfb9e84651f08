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
    # revision 3: with a creatinine but no body weight, the CKD-EPI 2021 eGFR stands in ("no weight recorded")
    CKD_EPI_COMPUTED = "egfr-ckd-epi-computed"  # mL/min/1.73 m², computed from creatinine, age, sex


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
class CkdEpiInputs:
    """What a computed CKD-EPI 2021 eGFR was computed from (no body weight was recorded)."""

    creatinine_mg_per_dl: float
    creatinine_on: date
    age: int
    sex: Sex


@dataclass(frozen=True, slots=True)
class RenalFunction:
    """The renal function a rule decides on (rules.md "Renal function"), with its evidence.

    ``other`` is the next-lowest of the values compared when more than one was (the lowest decides): with
    an eGFR and a creatinine clearance reported and nothing computed, the other reported measure, as
    before revision 3. ``inputs`` are set when the value was computed by the Cockcroft–Gault formula,
    ``egfr_inputs`` when it is the CKD-EPI 2021 eGFR computed because no body weight was recorded.
    """

    value: float
    kind: RenalMeasure
    at: datetime
    other: RenalFunction | None = None
    inputs: CockcroftGaultInputs | None = None
    egfr_inputs: CkdEpiInputs | None = None

    @property
    def no_weight(self) -> bool:
        """The value is the CKD-EPI eGFR that stands in for Cockcroft–Gault: "no weight recorded"."""
        return self.kind is RenalMeasure.CKD_EPI_COMPUTED


@dataclass(frozen=True, slots=True)
class SerumCalcium:
    """Serum calcium in mmol/L: a total calcium albumin-corrected when an albumin within 24 hours exists
    (revision 3; before, of the same day), or (``ionised``) an ionised calcium, never corrected.
    """

    value: float
    measured: float
    at: datetime
    albumin_g_per_l: float | None  # set when corrected
    ionised: bool = False  # an ionised calcium: compared with its own limits only


@dataclass(frozen=True, slots=True)
class CalciumStatus:
    """The calcium result that decides (rules.md "Serum calcium", "Hypocalcaemia (r3)"), and what it says.

    ``calcium`` is the latest result of either kind (a total one corrected), or the ionised result of the
    same day on dialysis or with renal function < 30. ``low``/``severe``: it is within the hypocalcaemia
    window (30 days) and below the low/severe limit of its kind; ``high``/``critical``: it is within the
    high-calcium window (92 days) and above the high/critical limit of its kind (total 2.60/3.00,
    ionised 1.32/1.60 mmol/L).
    """

    calcium: SerumCalcium
    low: bool
    severe: bool
    high: bool
    critical: bool

    @property
    def ionised(self) -> bool:
        return self.calcium.ionised


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
    latest onset of a fracture that defines BF (fragility fracture, or a hip or vertebral fracture at age
    ≥ 50; never the history code Z87.310, which has no fracture date); ``t_score`` the low T-score when
    it is a reason; ``drug`` and ``drug_on`` the most recent anti-osteoporosis drug on the chart.
    ``confirm_low_trauma`` (revision 3): a hip or vertebral fracture at age ≥ 50 counts, and the card says
    "confirm it was a low-trauma fracture".
    """

    reasons: tuple[FragilityReason, ...]
    osteoporosis_since: date | None = None
    fracture_on: date | None = None
    t_score: TScore | None = None
    drug: str | None = None
    drug_on: date | None = None
    confirm_low_trauma: bool = False


class WithholdReason(StrEnum):
    """Why the drug guard does not offer a bisphosphonate (rules.md "Bisphosphonate suitability (r3)")."""

    RENAL_LOW = "renal-low"  # renal function (365 days) below 35
    DIALYSIS = "dialysis"
    RENAL_UNKNOWN = "renal-unknown"  # no renal function within 365 days: offer a creatinine/eGFR test
    HYPOCALCAEMIA = "hypocalcaemia"  # correct it first
    VITAMIN_D_LOW = "vitamin-d-low"  # zoledronic acid only: 25-OH D < 20 and no native vitamin D active
    PREGNANCY = "pregnancy"
    ANABOLIC_ACTIVE = "anabolic-active"  # an anabolic or romosozumab is active
    ALLERGY = "allergy"  # an active AllergyIntolerance names the drug or its class
    JAW_OSTEONECROSIS = "osteonecrosis-of-the-jaw"  # specialist advice
    ATYPICAL_FEMORAL_FRACTURE = "atypical-femoral-fracture"  # specialist advice
    BED_BOUND = "bed-bound"  # oral alendronate only
    OESOPHAGEAL_DISORDER = "oesophageal-disorder"  # oral alendronate only
    ONCOLOGY_REGIMEN = "oncology-regimen"  # denosumab 120 mg / zoledronic acid 4 mg active or given recently
    ALREADY_TAKEN = "already-taken"  # an active order of the same ingredient


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
