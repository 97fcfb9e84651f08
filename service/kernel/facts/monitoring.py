"""Facts of ``monitoring-overdue`` (T2DM review sections 2.3 and 3): the therapies that call for tests,
and where each test stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from service.kernel.record import Measurement, TestOrder


class Check(StrEnum):
    """A monitoring test (which results count for it and what it orders: :mod:`service.rules.monitoring`)."""

    CALCIUM = "calcium"
    RENAL_FUNCTION = "renal-function"
    TURNOVER_MARKER = "turnover-marker"
    BMD = "bmd"
    PHOSPHATE = "phosphate"
    PTH = "pth"
    VITAMIN_D = "vitamin-d"


class TherapyKind(StrEnum):
    ANTIRESORPTIVE = "antiresorptive"  # bisphosphonate or denosumab
    ANABOLIC = "anabolic"  # teriparatide, abaloparatide
    SUPPLEMENT = "supplement"  # calcium or vitamin D, in T2DM or bone fragility


@dataclass(frozen=True, slots=True)
class Therapy:
    """A therapy that calls for monitoring now."""

    kind: TherapyKind
    names: tuple[str, ...]  # the drugs as charted
    since: date | None  # first recorded date of the classes that make it apply
    tests: tuple[tuple[Check, int], ...]  # (test, interval in days)
    until: date | None = None  # r3: the last day it applies (None: an active order, no end in sight)


@dataclass(frozen=True, slots=True)
class CheckStatus:
    """One test the therapies call for, and where it stands."""

    check: Check
    interval_days: int
    last: Measurement | None  # the latest result, any age
    due: date | None  # the day it falls (or fell) due; None: never done and no therapy date
    overdue: bool
    ordered: TestOrder | None = None  # r3: ordered and not yet resulted: not offered again


@dataclass(frozen=True, slots=True)
class MonitoringFacts:
    """``monitoring-overdue``: the therapies (in the order the card lists them) and every test they call
    for, each once with the shortest interval of its therapies."""

    therapies: tuple[Therapy, ...]
    tests: tuple[CheckStatus, ...]

    @property
    def overdue(self) -> tuple[CheckStatus, ...]:
        """The overdue tests, in the order of ``tests``."""
        return tuple(s for s in self.tests if s.overdue)

    @property
    def to_order(self) -> tuple[CheckStatus, ...]:
        """The overdue tests to order: not ordered already (r3, "Ordered, not yet resulted")."""
        return tuple(s for s in self.tests if s.overdue and s.ordered is None)

    @property
    def awaited(self) -> tuple[CheckStatus, ...]:
        """The overdue tests ordered and not yet resulted ("ordered on …, no result yet")."""
        return tuple(s for s in self.tests if s.overdue and s.ordered is not None)

    @property
    def up_to_date(self) -> tuple[CheckStatus, ...]:
        return tuple(s for s in self.tests if not s.overdue)
