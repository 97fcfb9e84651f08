"""Composer of the ``monitoring-overdue`` card (T2DM review sections 2.3 and 3).

The words are in ``wording/<lang>/monitoring-overdue.yaml``; the composer fills them from the finding's
facts (:mod:`service.kernel.facts.monitoring`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.cards._phrases import num, phrases
from service.cards._text import TopicText
from service.cards._wording import Text, TopicWording
from service.kernel.facts.monitoring import Check, CheckStatus, MonitoringFacts, Therapy
from service.kernel.findings import Finding, Topic
from service.kernel.record import Measurement

SUMMARY_MAX = 140  # CDS Hooks: a summary is under 140 characters


def _key(value: str) -> str:
    return value.replace("-", "_")


def _check(check: Check, t: TopicText, *, short: bool = False) -> str:
    return t(f"check_{_key(check.value)}" + ("_short" if short else ""))


def _listing(items: Sequence[str], t: TopicText) -> str:
    """ "a, b and c" in English, "a、b、c" in Chinese."""
    if len(items) <= 1:
        return "".join(items)
    return t("list_separator").join(items[:-1]) + t("list_last") + items[-1]


def _result(m: Measurement, t: TopicText) -> str:
    """ "2025-06-01 (eGFR 62 mL/min/1.73 m2)": the date, and the value when there is one."""
    day = phrases(t.language).day(m.at)
    if m.value is None:
        return day
    key = f"result_{_key(m.lab.value)}"
    name = t(key) if t.has(key) else ""
    unit = m.unit if m.unit and not m.unit.startswith("{") else ""  # no "{T-score}" annotations
    return t("result", day=day, value=" ".join(p for p in (name, num(m.value), unit) if p))


def _check_line(s: CheckStatus, t: TopicText) -> str:
    name = _check(s.check, t)
    p = phrases(t.language)
    last = t("last_done", result=_result(s.last, t)) if s.last else t("never_done")
    since = t("overdue_since", day=p.day(s.due)) if s.last and s.due else ""
    if s.ordered is not None:  # r3: ordered, not yet resulted
        since += t("ordered", ordered_on=p.day(s.ordered.authored))
    return t(
        "check_line",
        check=name[:1].upper() + name[1:],
        interval_days=p.span(s.interval_days),
        last=last,
        overdue_since=since,
    )


def _therapy_line(therapy: Therapy, t: TopicText) -> str:
    p = phrases(t.language)
    return t(
        "therapy_line",
        therapy=t(f"therapy_{therapy.kind.value}"),
        names=t("list_separator").join(dict.fromkeys(p.drug_named(n) for n in therapy.names)),
        since=p.day(therapy.since),
    )


def _compose(finding: Finding[MonitoringFacts], t: TopicText) -> Text:
    facts = finding.facts
    kinds = _listing([t(f"therapy_{x.kind.value}") for x in facts.therapies], t)
    overdue, to_order = facts.overdue, facts.to_order
    summary = t(
        "summary",
        therapies=kinds,
        tests=t("list_separator").join(_check(s.check, t, short=True) for s in to_order),
    )
    if len(summary) >= SUMMARY_MAX:
        summary = t("summary_short", therapies=kinds, count=len(to_order))
    lines = [
        t("therapies_heading"),
        *(_therapy_line(x, t) for x in facts.therapies),
        "",
        t("overdue_heading"),
        *(_check_line(s, t) for s in overdue),
    ]
    if facts.up_to_date:
        checks = t("list_separator").join(_check(s.check, t) for s in facts.up_to_date)
        lines += ["", t("up_to_date", checks=checks)]
    lines += ["", t("recommendation")]  # why each test is monitored: on the rule page
    return Text(summary, "\n".join(lines))


WORDING: dict[Topic, TopicWording[Any]] = {
    Topic.MONITORING_OVERDUE: TopicWording(
        MonitoringFacts,
        _compose,
        derived=frozenset(
            {"therapy", "names", "since", "check", "interval_days", "last", "overdue_since", "result", "day"}
            | {"value", "checks", "why", "count", "ordered_on"}
        ),
    ),
}
