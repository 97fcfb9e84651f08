"""Facts of the denosumab topics (T2DM review section 3; the denosumab product label).

Every topic is time-bound: the finding's ``due`` is the day it falls due, and a sequencing finding's
``proposal_start`` the day the proposed bisphosphonate starts, so neither is repeated here. D is the last
denosumab dose on the chart; ``name`` the product as charted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.kernel.clinical import RenalFunction, SerumCalcium


@dataclass(frozen=True, slots=True)
class SequencingFacts:
    """``denosumab-sequencing-missing``: the course stopped or overdue with no bisphosphonate after D.

    ``renal`` is the renal function within its window (None: none on record); ``renal_low`` that it is
    below the bisphosphonate threshold, so the card proposes nothing and says to keep denosumab.
    """

    last_dose: date  # D
    name: str
    discontinued: bool  # the latest denosumab order is stopped
    days_since: int  # now − D, in days
    renal: RenalFunction | None
    renal_low: bool


@dataclass(frozen=True, slots=True)
class DoseDueFacts:
    """``denosumab-dose-due``: the next 6-monthly dose, due from D + 183 until ``window_end`` (D + 213).

    ``renal_low``: the renal function is below the bisphosphonate threshold, so a bisphosphonate is no
    alternative and denosumab should not be stopped.
    """

    last_dose: date  # D
    name: str
    days_since: int
    window_end: date
    renal: RenalFunction | None
    renal_low: bool


@dataclass(frozen=True, slots=True)
class HypocalcemiaFacts:
    """``denosumab-hypocalcemia-monitoring``: low renal function, D within a year, a calcium check missing.

    ``calcium`` is the latest serum calcium ever (None: never drawn); ``post_dose_check`` that one was
    drawn on or after ``check_from`` (D + 7); ``missing_post_dose`` that none was by ``check_by``
    (D + 14); ``missing_recent`` that none was within ``window_days``.
    """

    last_dose: date  # D
    name: str
    renal: RenalFunction
    calcium: SerumCalcium | None
    check_from: date
    check_by: date
    post_dose_check: bool
    window_days: int
    missing_post_dose: bool
    missing_recent: bool
