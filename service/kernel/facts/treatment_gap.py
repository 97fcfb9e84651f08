"""Facts of ``osteoporosis-untreated`` (revision 3): osteoporosis in type 2 diabetes or obesity with no
anti-osteoporosis treatment (T2DM review sections 3 and 4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.kernel.clinical import BoneFragility, RenalFunction, WithholdReason
from service.kernel.findings import Proposal
from service.kernel.record import Measurement


@dataclass(frozen=True, slots=True)
class DrugHoliday:
    """A bisphosphonate course long enough for a drug holiday, and when it ended.

    ``infusions`` for zoledronic acid (one year per infusion), ``days`` for an oral course (last − first +
    30 days).
    """

    drug: str
    ended: date
    infusions: int | None = None
    days: int | None = None


@dataclass(frozen=True, slots=True)
class Withheld:
    """A drug the card would offer and the drug guard's reasons for not offering it."""

    drug: Proposal
    reasons: tuple[WithholdReason, ...]


@dataclass(frozen=True, slots=True)
class UntreatedFacts:
    """``osteoporosis-untreated``: the evidence of osteoporosis and what the card offers.

    ``fragility`` carries the osteoporosis Condition, the latest fracture that defines bone fragility and
    the low T-score (anti-osteoporosis drugs are never a reason here: the patient takes none).
    ``recent_fracture`` when that fracture is dated within ``recent_fracture_days`` (the card is then
    critical). ``t2dm`` / ``obesity`` (the BMI or waist that shows it) say why the patient is in the
    population. ``holiday`` is set when a fracture came during a drug holiday. ``offered`` are the drugs the
    card offers; ``withheld`` those the drug guard holds back, with the reasons; ``specialist`` when the
    patient is a woman under ``specialist_age`` (no drug is offered: a specialist's choice);
    ``renal`` the renal function within a year (None: unknown), ``dialysis`` when on dialysis; ``low_vitamin_d``
    when alendronate is offered with a low 25-OH vitamin D ("start vitamin D with it"); ``high_calcium``
    leaves calcium supplements out; ``neuropathy`` makes zoledronic acid the recommended offer.
    """

    fragility: BoneFragility
    recent_fracture: bool
    recent_fracture_days: int
    t2dm: bool
    obesity: Measurement | None
    holiday: DrugHoliday | None
    offered: tuple[Proposal, ...]
    withheld: tuple[Withheld, ...]
    specialist: bool
    specialist_age: int
    renal: RenalFunction | None
    dialysis: bool
    low_vitamin_d: bool
    high_calcium: bool
    neuropathy: bool
    renal_threshold: float
    kidney_calcium_threshold: float
