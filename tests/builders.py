"""Builders of kernel values for the tests, on one fixed clock.

Every builder has keyword defaults for what a test does not care about; a test names what it does.
Times are given as days before ``NOW`` (an ``int``) or as a calendar day (a ``date``, read as
08:30 UTC that day). Sources are derived from the content, so building the same value twice gives
equal values.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

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

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
BIRTH = date(1950, 6, 1)

#: The units the mapping gives each lab, as cards display them.
UNITS = {
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
    """The instant ``days`` days before ``now``."""
    return now - timedelta(days=days)


def days_ago(days: int, now: datetime = NOW) -> date:
    """The calendar day ``days`` days before ``now``."""
    return now.date() - timedelta(days=days)


def at(day: date) -> datetime:
    """08:30 UTC on ``day``."""
    return datetime(day.year, day.month, day.day, 8, 30, tzinfo=UTC)


def born_years_ago(years: int, *, days_after: int = 0, now: datetime = NOW) -> date:
    """A birth date making the patient exactly ``years`` old today (or turning so ``days_after`` days later)."""
    return now.date().replace(year=now.year - years) + timedelta(days=days_after)


def _when(when: int | date, now: datetime) -> datetime:
    return at(when) if isinstance(when, date) else ago(when, now)


def patient(
    sex: Sex = Sex.FEMALE, birth: date | None = BIRTH, *, id: str = "p1", deceased: bool = False
) -> Patient:
    return Patient(id, sex, birth, deceased)


def condition(
    problem: Problem,
    *,
    active: bool = True,
    onset: date | None = None,
    display: str | None = None,
    source: str | None = None,
) -> ConditionFact:
    """A condition; its onset (or recorded date) is ``onset``."""
    suffix = f"-{onset.isoformat()}" if onset is not None else ""
    return ConditionFact(problem, active, onset, source or f"Condition/{problem.value}{suffix}", display)


def lab(
    kind: Lab,
    value: float | None,
    when: int | date,
    site: BmdSite | None = None,
    *,
    unit: str | None = None,
    source: str | None = None,
    now: datetime = NOW,
) -> Measurement:
    """A result ``when`` days before ``now`` (or on the day ``when``); the unit is the canonical one by default."""
    return Measurement(
        kind,
        value,
        _when(when, now),
        source or f"Observation/{kind.value}-{when}",
        site=site,
        unit=unit or UNITS.get(kind),
    )


def medication(
    classes: Iterable[DrugClass],
    when: int | date | None,
    *,
    name: str = "drug",
    kind: ExposureKind = ExposureKind.REQUEST,
    status: str = "active",
    active: bool | None = None,
    draft: bool = False,
    source: str | None = None,
    now: datetime = NOW,
) -> MedicationExposure:
    """A chart exposure ``when`` days ago (or on that day, or undated).

    Active by default as the mapping decides: a MedicationRequest active or on-hold, a
    MedicationStatement active; never a draft.
    """
    if active is None:
        active = not draft and (
            (kind is ExposureKind.REQUEST and status in ("active", "on-hold"))
            or (kind is ExposureKind.STATEMENT and status == "active")
        )
    return MedicationExposure(
        frozenset(classes),
        name,
        kind,
        status,
        _when(when, now) if when is not None else None,
        active,
        source or f"{kind.value}/{name.replace(' ', '-')}-{when}-{status}",
        draft=draft,
    )


def draft(
    classes: Iterable[DrugClass],
    *,
    name: str = "a drug",
    id: str = "d1",
    at: datetime | None = None,
    active: bool = False,
) -> MedicationExposure:
    """A draft MedicationRequest from the hook's context (undated and inactive by default)."""
    return MedicationExposure(
        frozenset(classes),
        name,
        ExposureKind.REQUEST,
        "draft",
        at,
        active,
        f"MedicationRequest/{id}",
        draft=True,
    )


def record(
    *facts: ConditionFact | MedicationExposure,
    who: Patient | None = None,
    conditions: Iterable[ConditionFact] = (),
    labs: Iterable[Measurement] = (),
    meds: Iterable[MedicationExposure] = (),
    drafts: Iterable[MedicationExposure] = (),
) -> PatientRecord:
    """A record of ``who`` (``patient()`` by default); positional facts are conditions or medications.

    Measurements and medications are in time order (undated medications count as ``NOW``), as the
    mapping gives them.
    """
    return PatientRecord(
        who or patient(),
        (*(f for f in facts if isinstance(f, ConditionFact)), *conditions),
        tuple(sorted(labs, key=lambda m: m.at)),
        tuple(
            sorted(
                (*(f for f in facts if isinstance(f, MedicationExposure)), *meds),
                key=lambda m: m.at or NOW,
            )
        ),
        tuple(drafts),
    )
