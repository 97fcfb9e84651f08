"""What a clinician's override means (architecture.md, Feedback): pure functions, no database.

An override quiets the card's topic for that patient for the reason's period (no patient-view card, no
reminder delivery), a critical card for at most the critical cap; the card returns early when its
indicator rises. An order-time card overridden with any reason does not fire again for the same,
unchanged drafts. At order-sign, a warning or info card already shown at order-select for the same
drafts is not repeated. Feedback acts on the reason's code, never its display.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from service.kernel.findings import Finding, Indicator
from service.kernel.findings import OverrideReason as Reason

#: The folded card's topic (:data:`service.cards.answer.MORE_FINDINGS`): "remind me later" on it quiets
#: each folded topic; any other reason quiets nothing (rules.md, card budget).
FOLDED = "more-findings"
PATIENT_VIEW = "patient-view"
ORDER_SELECT = "order-select"
ORDER_SIGN = "order-sign"

_RANK = {Indicator.INFO: 0, Indicator.WARNING: 1, Indicator.CRITICAL: 2}


class Kind(StrEnum):
    QUIET = "quiet"  # patient-view cards and reminders of the topic
    DRAFT = "draft"  # order-time cards of the topic for the same unchanged drafts


@dataclass(frozen=True, slots=True)
class Periods:
    """How long each reason keeps a topic quiet (None: it quiets nothing), and the critical cap."""

    remind_later: timedelta
    patient_declined: timedelta
    not_applicable: timedelta
    addressed_elsewhere: timedelta
    critical_max: timedelta
    draft_override: timedelta  # how long an order-time override is remembered for its drafts

    def quiet(self, reason: str, indicator: Indicator) -> timedelta | None:
        period = {
            Reason.REMIND_LATER.value: self.remind_later,
            Reason.PATIENT_DECLINED.value: self.patient_declined,
            Reason.NOT_APPLICABLE.value: self.not_applicable,
            Reason.ADDRESSED_ELSEWHERE.value: self.addressed_elsewhere,
        }.get(reason)
        if period is None:
            return None
        return min(period, self.critical_max) if indicator is Indicator.CRITICAL else period


@dataclass(frozen=True, slots=True)
class Issued:
    """What an issued card was about: its hook, topic, the topics it stands for, its drafts' keys."""

    patient_id: str
    hook: str
    topic: str
    covers: tuple[tuple[str, Indicator], ...]
    drafts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewSuppression:
    topic: str
    kind: Kind
    reason: str
    indicator: Indicator
    drafts: tuple[str, ...]
    starts: datetime
    until: datetime


def suppressions_for(card: Issued, reason: str, at: datetime, periods: Periods) -> list[NewSuppression]:
    """The suppressions one override of ``card`` with ``reason`` (a code) sets, from ``at``."""
    if card.topic == FOLDED:
        if reason != Reason.REMIND_LATER:
            return []
        return [
            NewSuppression(topic, Kind.QUIET, reason, indicator, (), at, at + periods.remind_later)
            for topic, indicator in card.covers
        ]
    made: list[NewSuppression] = []
    for topic, indicator in card.covers:
        quiet = periods.quiet(reason, indicator)
        if quiet is not None:
            made.append(NewSuppression(topic, Kind.QUIET, reason, indicator, (), at, at + quiet))
        if card.hook != PATIENT_VIEW and card.drafts:
            until = at + periods.draft_override
            made.append(NewSuppression(topic, Kind.DRAFT, reason, indicator, card.drafts, at, until))
    return made


@dataclass(frozen=True, slots=True)
class Active:
    """A suppression in force: not lifted, ``until`` still ahead."""

    id: int
    topic: str
    kind: Kind
    indicator: Indicator
    drafts: frozenset[str]
    until: datetime


@dataclass(frozen=True, slots=True)
class SeenAtSelect:
    """A card this service returned at order-select, within the repeat window."""

    topic: str
    indicator: Indicator
    drafts: frozenset[str]


@dataclass(frozen=True, slots=True)
class Listened:
    """The findings that still stand, and the quiet suppressions their risen indicators overtook."""

    findings: tuple[Finding[Any], ...]
    risen: tuple[int, ...]


def listen(
    findings: Sequence[Finding[Any]],
    hook: str,
    drafts_of: Callable[[Finding[Any]], frozenset[str]],
    active: Sequence[Active],
    seen_at_select: Sequence[SeenAtSelect] = (),
) -> Listened:
    """Leave out what the clinician has already answered.

    patient-view: a topic under a quiet suppression is left out unless its indicator rose above the one
    overridden (then it stands, and that suppression is reported as overtaken). order-select and
    order-sign: a topic whose drafts (``drafts_of``) are all covered by an order-time override is left
    out, whatever its indicator; at order-sign, a warning or info card shown at order-select for the
    same drafts, at the same or a higher indicator, is not repeated (a critical one always stands).
    """
    standing: list[Finding[Any]] = []
    risen: list[int] = []
    for finding in findings:
        topic = finding.topic.value
        if hook == PATIENT_VIEW:
            quiet = [s for s in active if s.kind is Kind.QUIET and s.topic == topic]
            if quiet and all(_rank(finding.indicator) <= _rank(s.indicator) for s in quiet):
                continue
            risen.extend(s.id for s in quiet)
            standing.append(finding)
            continue
        drafts = drafts_of(finding)
        if drafts and any(s.kind is Kind.DRAFT and s.topic == topic and drafts <= s.drafts for s in active):
            continue
        if hook == ORDER_SIGN and drafts and _repeat(finding, drafts, seen_at_select):
            continue
        standing.append(finding)
    return Listened(tuple(standing), tuple(risen))


def _repeat(finding: Finding[Any], drafts: frozenset[str], seen: Sequence[SeenAtSelect]) -> bool:
    if finding.indicator is Indicator.CRITICAL:
        return False
    return any(
        s.topic == finding.topic.value
        and drafts <= s.drafts
        and _rank(finding.indicator) <= _rank(s.indicator)
        for s in seen
    )


def _rank(indicator: Indicator) -> int:
    return _RANK[indicator]
