"""Bone-therapy exposures for the denosumab and monitoring tests (the builders are tests/builders.py)."""

from __future__ import annotations

from datetime import datetime

from service.kernel.record import ConditionFact, DrugClass, ExposureKind, MedicationExposure, Problem
from tests.builders import NOW, condition, medication


def denosumab(
    days: int,
    *,
    kind: ExposureKind = ExposureKind.ADMINISTRATION,
    status: str = "completed",
    now: datetime = NOW,
) -> MedicationExposure:
    """A denosumab 60 mg exposure (an injection by default)."""
    return medication(
        {DrugClass.DENOSUMAB},
        days,
        name="Prolia 60 mg",
        kind=kind,
        status=status,
        source=f"{kind.value}/dmab-{days}-{status}",
        now=now,
    )


def alendronate(
    days: int, *, kind: ExposureKind = ExposureKind.STATEMENT, now: datetime = NOW
) -> MedicationExposure:
    return medication({DrugClass.BISPHOSPHONATE}, days, name="alendronate 70 mg weekly", kind=kind, now=now)


def t2dm() -> ConditionFact:
    return condition(Problem.T2DM, display="Type 2 diabetes mellitus")
