"""The shape of a rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from service.kernel.findings import Finding, Topic
from service.kernel.record import PatientRecord
from service.kernel.thresholds import RuleSettings


class Moment(StrEnum):
    ORDER = "order"  # order-select, order-sign: the rules read the draft orders
    VIEW = "view"  # patient-view and scheduled scans: the rules read the chart


Check = Callable[[PatientRecord, datetime, RuleSettings], Finding | None]


@dataclass(frozen=True, slots=True)
class Rule:
    topic: Topic
    moment: Moment
    check: Check
