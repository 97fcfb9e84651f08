"""One answer's cards (rules.md "What a card must look like", r3): urgent first, within the card budget,
each test offered once.

A chart with many findings must not bury the one that matters. At patient view the answer aims at a
budget of cards: critical and warning cards always stand, and the info cards beyond the budget fold
into one "More bone-health findings (N)" card that links each folded topic's page. Across the cards
that stand, a test is offered by one card only (the most urgent; between equals, the one listed first
in the specification); the others say where it is offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cds_hooks.models import Card, Coding, Link, Source
from service.cards import OVERRIDE_REASONS, OVERRIDE_SYSTEM, RULE_PAGES, render
from service.cards._catalog import Orderable
from service.cards._catalog import lab as lab_orderable
from service.cards._catalog import service as service_orderable
from service.cards._phrases import Phrases, phrases
from service.cards._text import LANGUAGES
from service.kernel.findings import TOPIC_SYSTEM, Finding, Indicator, Order, Topic
from service.kernel.record import Lab, PatientRecord

#: The folded card's topic code: not a rule, the answer's own card.
MORE_FINDINGS = "more-findings"

_URGENCY = {Indicator.CRITICAL: 0, Indicator.WARNING: 1, Indicator.INFO: 2}
_LISTED = {topic: i for i, topic in enumerate(Topic)}  # the order the specification lists its topics


def in_order(findings: Sequence[Finding[Any]]) -> list[Finding[Any]]:
    """Most urgent first; between equals, in the order the specification lists the topics."""
    return sorted(findings, key=lambda f: (_URGENCY[f.indicator], _LISTED[f.topic]))


@dataclass(frozen=True, slots=True)
class Arrangement:
    """Which findings stand as cards and which fold into the "more findings" card."""

    shown: tuple[Finding[Any], ...]
    folded: tuple[Finding[Any], ...]


def arrange(findings: Sequence[Finding[Any]], budget: int | None) -> Arrangement:
    """Apply the card budget: with K critical/warning and I info cards beyond it, the first
    max(0, budget − K − 1) info cards stand and the rest fold (a lone info card never folds).
    ``budget`` None: no budget (order-time answers, where each draft-order card stands)."""
    ordered = in_order(findings)
    urgent = [f for f in ordered if f.indicator is not Indicator.INFO]
    info = [f for f in ordered if f.indicator is Indicator.INFO]
    if budget is None or len(urgent) + len(info) <= budget:
        return Arrangement(tuple(ordered), ())
    keep = max(0, budget - len(urgent) - 1)
    if len(info) - keep <= 1:  # a single card is never folded
        return Arrangement(tuple(ordered), ())
    return Arrangement(tuple(urgent + info[:keep]), tuple(info[keep:]))


Test = Lab | Order  # what a card may offer to order: a laboratory test or a service (DXA, assessment)


def orderable(test: Test) -> Orderable:
    return lab_orderable(test) if isinstance(test, Lab) else service_orderable(test)


def _test_key(test: Test) -> tuple[str, str]:
    """Tests are the same when they order the same code (eGFR and creatinine are one order)."""
    entry = orderable(test)
    return entry["system"], entry["code"]


def offer_each_test_once(shown: Sequence[Finding[Any]]) -> tuple[list[Finding[Any]], dict[int, list[Test]]]:
    """The findings with each test left only on the first (most urgent) card that offers it, and, per
    finding index, the tests it no longer offers because a card above does."""
    offered: set[tuple[str, str]] = set()
    out: list[Finding[Any]] = []
    elsewhere: dict[int, list[Test]] = {}

    def keep(i: int, tests: Sequence[Test]) -> tuple[Any, ...]:
        kept = []
        for test in tests:
            key = _test_key(test)
            if key in offered:
                elsewhere.setdefault(i, []).append(test)
            else:
                offered.add(key)
                kept.append(test)
        return tuple(kept)

    for i, finding in enumerate(shown):
        labs, services = keep(i, finding.lab_orders), keep(i, finding.service_orders)
        changed = i in elsewhere
        out.append(replace(finding, lab_orders=labs, service_orders=services) if changed else finding)
    return out, elsewhere


@dataclass(frozen=True, slots=True)
class Layout:
    """The cards an answer will hold, before they are worded: each stands for one finding, the folded
    card (last, when there is one) for several. ``elsewhere``: per shown finding, the tests it leaves to
    a card above."""

    shown: tuple[Finding[Any], ...]
    elsewhere: dict[int, list[Test]]
    folded: tuple[Finding[Any], ...]

    @property
    def cards(self) -> list[tuple[str, tuple[Finding[Any], ...]]]:
        """Per card to come: its topic code and the findings it stands for."""
        one: list[tuple[str, tuple[Finding[Any], ...]]] = [(f.topic.value, (f,)) for f in self.shown]
        return [*one, (MORE_FINDINGS, self.folded)] if self.folded else one


def lay_out(findings: Sequence[Finding[Any]], budget: int | None) -> Layout:
    """The budget applied, then each test offered once among the cards that stand."""
    arrangement = arrange(findings, budget)
    shown, elsewhere = offer_each_test_once(arrangement.shown)
    return Layout(tuple(shown), elsewhere, arrangement.folded)


def word(
    layout: Layout,
    record: PatientRecord,
    now: datetime,
    language: str,
    *,
    base_url: str = "",
    uuids: Sequence[str] | None = None,
) -> list[Card]:
    """The cards of ``layout`` in ``language``; ``uuids`` (one per card) when the caller chose them
    beforehand, to remember what each card is about while they are worded."""
    lang = language if language in LANGUAGES else LANGUAGES[0]
    p = phrases(lang)
    cards = []
    for i, finding in enumerate(layout.shown):
        card = render(finding, record, now, lang, base_url=base_url)
        if i in layout.elsewhere:
            names = p.join(orderable(test)[p.name_key] for test in layout.elsewhere[i])  # type: ignore[literal-required]
            note = p("answer.offered_elsewhere", tests=names)
            card.detail = f"{note}\n\n{card.detail}" if card.detail else note
        cards.append(card)
    if layout.folded:
        cards.append(_folded_card(layout.folded, record, now, p, base_url))
    if uuids is not None:
        for card, uuid in zip(cards, uuids, strict=True):
            card.uuid = uuid
    return cards


def cards_for(
    findings: Sequence[Finding[Any]],
    record: PatientRecord,
    now: datetime,
    language: str,
    *,
    base_url: str = "",
    budget: int | None = None,
) -> list[Card]:
    """The answer: the budget applied, each test offered once, the folded card last."""
    return word(lay_out(findings, budget), record, now, language, base_url=base_url)


def _folded_card(
    folded: Sequence[Finding[Any]], record: PatientRecord, now: datetime, p: Phrases, base_url: str
) -> Card:
    """One info card listing each folded finding's summary with a link to its topic's page; it offers
    nothing, but names the tests the folded cards would have offered."""
    lines = []
    tests: list[str] = []
    for finding in folded:
        summary = render(finding, record, now, p.language).summary
        url = f"{base_url}{RULE_PAGES}/{finding.topic.value}"
        lines.append(p("answer.folded_item", summary=summary, url=url))
        wanted: list[Test] = [*finding.lab_orders, *finding.service_orders]
        for test in wanted:
            name = orderable(test)[p.name_key]  # type: ignore[literal-required]
            if name not in tests:
                tests.append(name)
    detail = "\n".join(lines)
    if tests:
        detail += "\n\n" + p("answer.folded_tests", tests=p.join(tests))
    return Card(
        summary=p("answer.folded_summary", n=len(folded)),
        indicator="info",
        detail=detail,
        source=Source(
            label=p("answer.folded_source"),
            topic=Coding(system=TOPIC_SYSTEM, code=MORE_FINDINGS, display=p("answer.folded_title")),
        ),
        override_reasons=[
            Coding(system=OVERRIDE_SYSTEM, code=c, display=p(f"override.{c}")) for c in OVERRIDE_REASONS
        ],
        links=[Link(label=p("answer.all_rules"), url=f"{base_url}{RULE_PAGES}", type="absolute")]
        if base_url
        else [],
    )
