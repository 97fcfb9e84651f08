"""Builders of PatientRecords for the diabetes-drug and bone-drug tests, on a fixed clock."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from itertools import count

from service.kernel.record import (
    BmdSite,
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
from service.kernel.thresholds import RuleSettings

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SETTINGS = RuleSettings()
_ids = count(1)

TZD = {DrugClass.TZD}
SGLT2 = {DrugClass.SGLT2_INHIBITOR}
INSULIN = {DrugClass.INSULIN}
METFORMIN = {DrugClass.METFORMIN}
ORAL_BP = {DrugClass.BISPHOSPHONATE}
ZOLEDRONIC = {DrugClass.BISPHOSPHONATE, DrugClass.BISPHOSPHONATE_IV, DrugClass.ZOLEDRONIC_ACID}
IBANDRONATE_IV = {DrugClass.BISPHOSPHONATE, DrugClass.BISPHOSPHONATE_IV}
DENOSUMAB = {DrugClass.DENOSUMAB}
ANABOLIC = {DrugClass.ANABOLIC}
CALCIUM = {DrugClass.CALCIUM_SUPPLEMENT}
NATIVE_D = {DrugClass.NATIVE_VITAMIN_D}
ACTIVE_D = {DrugClass.ACTIVE_VITAMIN_D}


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def born_years_ago(years: int, *, days_after: int = 0) -> date:
    """A birth date making the patient exactly ``years`` old today (or turning so ``days_after`` days later)."""
    return NOW.date().replace(year=NOW.year - years) + timedelta(days=days_after)


def patient(sex: Sex = Sex.FEMALE, birth: date | None = date(1950, 6, 1)) -> Patient:
    return Patient("p1", sex, birth)


def condition(problem: Problem, *, active: bool = True, onset: date | None = None) -> ConditionFact:
    return ConditionFact(problem, active, onset, f"Condition/c{next(_ids)}")


def lab(kind: Lab, value: float | None, days: int, *, site: BmdSite | None = None) -> Measurement:
    return Measurement(kind, value, ago(days), f"Observation/o{next(_ids)}", site=site)


def med(
    classes: set[DrugClass],
    days: int | None,
    *,
    name: str = "a drug",
    status: str = "active",
    kind: ExposureKind = ExposureKind.REQUEST,
) -> MedicationExposure:
    """A chart exposure; active when a MedicationRequest is active/on-hold or a MedicationStatement active."""
    is_active = (kind is ExposureKind.REQUEST and status in ("active", "on-hold")) or (
        kind is ExposureKind.STATEMENT and status == "active"
    )
    return MedicationExposure(
        frozenset(classes),
        name,
        kind,
        status,
        ago(days) if days is not None else None,
        is_active,
        f"{kind.value}/m{next(_ids)}",
    )


def draft(classes: set[DrugClass], *, name: str = "a drug", id: str = "d1") -> MedicationExposure:
    return MedicationExposure(
        frozenset(classes),
        name,
        ExposureKind.REQUEST,
        "draft",
        None,
        False,
        f"MedicationRequest/{id}",
        draft=True,
    )


def record(
    *,
    who: Patient | None = None,
    conditions: Iterable[ConditionFact] = (),
    labs: Iterable[Measurement] = (),
    meds: Iterable[MedicationExposure] = (),
    drafts: Iterable[MedicationExposure] = (),
) -> PatientRecord:
    return PatientRecord(
        who or patient(),
        tuple(conditions),
        tuple(sorted(labs, key=lambda m: m.at)),
        tuple(meds),
        tuple(drafts),
    )


def osteoporosis(onset: date | None = date(2019, 5, 2)) -> ConditionFact:
    return condition(Problem.OSTEOPOROSIS, onset=onset)


def t2dm() -> ConditionFact:
    return condition(Problem.T2DM, onset=date(2012, 3, 1))
