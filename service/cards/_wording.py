"""The shape of a topic's wording: its facts type and the composer that fills its data-file templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from service.cards._text import TopicText
from service.kernel.findings import Finding


class Text(NamedTuple):
    summary: str  # < 140 characters: what and why
    detail: str  # markdown: the patient's values and dates, the recommendation (citation is appended)


F = TypeVar("F")


@dataclass(frozen=True, slots=True)
class TopicWording(Generic[F]):
    """How one topic's card is worded: its facts type and the composer that fills its templates.

    The composer chooses which templates of the topic's data file a finding needs and fills their
    placeholders with the facts, formatted by the phrase library. Every placeholder of the topic's
    templates must be a field of ``facts``, a shared phrase, or one of ``derived`` (the values the
    composer computes from the facts: ``tests/service/cards/test_wording_files.py`` holds them to it).
    """

    facts: type[F]
    compose: Callable[[Finding[F], TopicText], Text]
    derived: frozenset[str] = frozenset()
