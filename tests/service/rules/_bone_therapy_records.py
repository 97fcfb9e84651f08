"""Builders of PatientRecords on bone therapies, for the denosumab and monitoring tests (fixed clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from service.kernel.record import (
    ConditionFact,
    DrugClass,
    ExposureKind,
    Lab,
    Measurement,
    MedicationExposure,
    Patient,
    PatientRecord,
    Problem,
    Sex,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

_UNITS = {
    Lab.EGFR: "mL/min/1.73 m2",
    Lab.CREATININE_CLEARANCE: "mL/min",
    Lab.CREATININE: "mg/dL",
    Lab.CALCIUM: "mmol/L",
    Lab.ALBUMIN: "g/L",
    Lab.PHOSPHATE: "mmol/L",
    Lab.PTH: "pg/mL",
    Lab.VITAMIN_D: "ng/mL",
}


def ago(days: int, now: datetime = NOW) -> datetime:
    return now - timedelta(days=days)


def lab(kind: Lab, value: float | None, days: int, now: datetime = NOW) -> Measurement:
    """A result ``days`` calendar days before ``now``."""
    return Measurement(kind, value, ago(days, now), f"Observation/{kind.value}-{days}", unit=_UNITS.get(kind))


def denosumab(
    days: int,
    *,
    kind: ExposureKind = ExposureKind.ADMINISTRATION,
    status: str = "completed",
    now: datetime = NOW,
) -> MedicationExposure:
    """A denosumab 60 mg exposure (an injection by default)."""
    is_active = kind is ExposureKind.REQUEST and status in ("active", "on-hold")
    return MedicationExposure(
        frozenset({DrugClass.DENOSUMAB}),
        "Prolia 60 mg",
        kind,
        status,
        ago(days, now),
        is_active,
        f"{kind.value}/dmab-{days}-{status}",
    )


def drug(
    classes: set[DrugClass],
    days: int | None,
    *,
    name: str = "drug",
    kind: ExposureKind = ExposureKind.REQUEST,
    status: str = "active",
    active: bool | None = None,
    draft: bool = False,
    now: datetime = NOW,
) -> MedicationExposure:
    is_active = active if active is not None else status in ("active", "on-hold") and not draft
    return MedicationExposure(
        frozenset(classes),
        name,
        kind,
        status,
        ago(days, now) if days is not None else None,
        is_active,
        f"{kind.value}/{name}-{days}-{status}",
        draft=draft,
    )


def alendronate(
    days: int, *, kind: ExposureKind = ExposureKind.STATEMENT, now: datetime = NOW
) -> MedicationExposure:
    status = "active"
    return drug(
        {DrugClass.BISPHOSPHONATE}, days, name="alendronate 70 mg weekly", kind=kind, status=status, now=now
    )


def t2dm() -> ConditionFact:
    return ConditionFact(Problem.T2DM, True, None, "Condition/t2dm", "Type 2 diabetes mellitus")


def record(
    *medications: MedicationExposure,
    labs: tuple[Measurement, ...] = (),
    conditions: tuple[ConditionFact, ...] = (),
    drafts: tuple[MedicationExposure, ...] = (),
    birth_date: date | None = None,
) -> PatientRecord:
    return PatientRecord(
        patient=Patient("p1", Sex.FEMALE, birth_date),
        conditions=conditions,
        measurements=tuple(sorted(labs, key=lambda m: m.at)),
        medications=tuple(sorted(medications, key=lambda m: m.at or NOW)),
        drafts=drafts,
    )
