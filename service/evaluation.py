"""One patient's evaluation: FHIR resources → record → findings. Shared by the hooks and the scans."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from mappings import build_record
from service.kernel.findings import Finding
from service.kernel.record import PatientRecord
from service.rules import Evaluation, Moment, evaluate
from service.settings import Settings


def evaluate_record(record: PatientRecord, now: datetime, settings: Settings, moment: Moment) -> Evaluation:
    return evaluate(record, now, settings.rules, moment)


def evaluate_resources(
    patient_id: str,
    resources: Sequence[Mapping[str, Any]],
    now: datetime,
    settings: Settings,
    drafts: Iterable[Mapping[str, Any]] = (),
) -> list[Finding]:
    """The time-bound findings of a chart, for the reminder schedule (the scans call this).

    A deceased patient yields none, so reconciling cancels every pending reminder.
    """
    record = build_record(patient_id, resources, drafts)
    return list(evaluate(record, now, settings.rules, Moment.VIEW).reminders)


def is_deceased(patient_id: str, resources: Sequence[Mapping[str, Any]]) -> bool:
    return build_record(patient_id, resources).patient.deceased
