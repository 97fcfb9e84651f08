"""rules.md r3 "What a card must look like": every card the library's charts produce fits its budget.

Each scenario, worked case and example is answered in English and in Chinese; a card's summary is under
140 code points and its detail within the language's budget (``detail_budget_en``/``_zh``, 600/300 by
default). The folded "More bone-health findings (N)" card is held to the summary limit only: its detail
is one line per folded card by definition, so it grows with N.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from service.cards.answer import MORE_FINDINGS
from service.kernel.findings import Topic
from service.kernel.thresholds import RuleSettings
from tests.service.cards._every_card import Rendered, every_card

SUMMARY_LIMIT = 140  # the CDS Hooks specification: "less than 140 characters"
BUDGET = RuleSettings()

#: (language, topic) whose wording is not yet short enough for every chart. Each must still have a card
#: over budget (so one that fits is noticed and taken off); every other topic must fit. Empty this.
PENDING: frozenset[tuple[str, str]] = frozenset()


@pytest.fixture(scope="module")
def rendered() -> list[Rendered]:
    return every_card()


def too_long(cards: Sequence[Rendered], settings: RuleSettings) -> list[str]:
    """Each card over its limits, as "language topic (chart): what"."""
    out = []
    for r in cards:
        topic = r.card.source.topic.code if r.card.source.topic else "?"
        where = f"{r.language} {topic} ({r.chart})"
        if len(r.card.summary) >= SUMMARY_LIMIT:
            out.append(f"{where}: summary {len(r.card.summary)} code points")
        budget = settings.detail_budget(r.language)
        if topic != MORE_FINDINGS and len(r.card.detail or "") > budget:
            out.append(f"{where}: detail {len(r.card.detail or '')} code points, budget {budget}")
    return out


def test_the_library_answers_many_cards_in_both_languages(rendered: list[Rendered]) -> None:
    topics = {(r.language, r.card.source.topic.code) for r in rendered if r.card.source.topic}
    assert {language for language, _ in topics} == {"en", "zh"}
    # every rule's topic and the folded card
    assert {topic for _, topic in topics} == {t.value for t in Topic} | {MORE_FINDINGS}


def test_every_card_fits_its_budget(rendered: list[Rendered]) -> None:
    over = too_long(rendered, BUDGET)
    unexpected = [line for line in over if tuple(line.split(" (")[0].split(" ", 1)) not in PENDING]
    assert not unexpected, f"{len(unexpected)} cards over budget:\n" + "\n".join(unexpected)
    still_over = {tuple(line.split(" (")[0].split(" ", 1)) for line in over}
    assert still_over >= PENDING, f"now within budget, take off PENDING: {sorted(PENDING - still_over)}"


def test_a_smaller_budget_is_noticed(rendered: list[Rendered]) -> None:
    """The check can fail: with the budget one under the longest detail, that card is reported."""
    for language in ("en", "zh"):
        longest = max(
            len(r.card.detail or "")
            for r in rendered
            if r.language == language and r.card.source.topic and r.card.source.topic.code != MORE_FINDINGS
        )
        tight = RuleSettings(**{f"detail_budget_{language}": max(longest - 1, 100)})
        assert any(f"budget {longest - 1}" in line for line in too_long(rendered, tight)), language
