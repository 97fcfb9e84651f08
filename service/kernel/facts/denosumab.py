"""Facts of the denosumab topics (T2DM review section 3; the denosumab product label), revision 3.

Every topic is time-bound: the finding's ``due`` is the day it falls due, and a sequencing finding's
``proposal_start`` the day the proposed bisphosphonate starts, so neither is repeated here. D is the last
denosumab dose on the chart (administrations first: a renewed order is not a dose); ``name`` the product
as charted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.kernel.clinical import RenalFunction, SerumCalcium, WithholdReason
from service.kernel.findings import Proposal


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An order named on the card: a bisphosphonate order left open from before the first denosumab
    dose ("alendronate order of 2016-05-02 still open: confirm whether it is taken"), or a denosumab
    order renewed after the last injection ("order of 2026-10-15, no administration recorded")."""

    name: str
    ordered: date | None


@dataclass(frozen=True, slots=True)
class Course:
    """What every denosumab card says about the course: D, the orders that are not doses, the kidneys.

    ``renal`` is the renal function within 365 days (None: none on record); ``dialysis`` that the patient
    is on dialysis (renal function below every threshold, whatever the value). ``oncology`` names an
    oncology regimen (denosumab 120 mg, zoledronic acid 4 mg) active or given within 365 days.
    """

    last_dose: date  # D
    name: str
    days_since: int  # now − D, in days
    renewed: tuple[OpenOrder, ...]  # denosumab orders dated after D: not doses
    open_bisphosphonates: tuple[OpenOrder, ...]  # open orders from before the first dose: not sequencing
    renal: RenalFunction | None
    dialysis: bool
    pregnant: bool
    oncology: str | None


@dataclass(frozen=True, slots=True)
class Withheld:
    """A drug the guard does not offer, and why (rules.md "Bisphosphonate suitability (r3)")."""

    drug: Proposal
    reasons: tuple[WithholdReason, ...]


@dataclass(frozen=True, slots=True)
class SequencingFacts:
    """``denosumab-sequencing-missing``: the course is stopped and no bisphosphonate has followed.

    ``renal_low``: renal function below 35 or on dialysis, so no order is offered and the card asks for
    specialist advice. ``withheld``: the drugs the guard keeps back (an offered drug is a proposal of the
    finding). ``calcium`` is set when hypocalcaemia is present, ``vitamin_d`` (ng/mL) when it is low with
    no native vitamin D active. ``creatinine_first``: zoledronic acid is offered with a creatinine test.
    """

    course: Course
    start_in: int  # days from today until the proposed bisphosphonate starts (0: now)
    renal_low: bool
    withheld: tuple[Withheld, ...]
    calcium: SerumCalcium | None
    vitamin_d: float | None
    creatinine_first: bool
    neuropathy: bool  # zoledronic acid is the recommended one


@dataclass(frozen=True, slots=True)
class DoseDueFacts:
    """``denosumab-dose-due``: a continuing course whose next 6-monthly dose is due (from D + 183).

    ``overdue_days`` is set after D + 213 (critical): the days since the dose fell due. ``rebound`` after
    D + 365. ``renal_low``: below 35 or on dialysis (no bisphosphonate to follow); ``boxed``: below 30 or
    on dialysis (the label's boxed warning). ``calcium`` is set when hypocalcaemia is present: correct it
    before the dose.
    """

    course: Course
    overdue_days: int | None
    rebound: bool
    renal_low: bool
    boxed: bool
    calcium: SerumCalcium | None


@dataclass(frozen=True, slots=True)
class HypocalcemiaFacts:
    """``denosumab-hypocalcemia-monitoring``: renal function below 30 or dialysis, D within 365 days.

    ``weekly``: the first month after the dose (D + 7 to D + 35), when calcium is checked weekly; else
    monthly. ``window_days`` is that interval (7 or 30); ``calcium`` the latest calcium of either kind
    (None: never drawn).
    """

    course: Course
    weekly: bool
    window_days: int
    calcium: SerumCalcium | None
