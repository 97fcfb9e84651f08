"""The shape of a topic's wording: its facts type and the composer that fills its data-file templates.

(The older shape, ``Wording`` with text built in Python, is kept until every area has moved to data.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, NamedTuple, TypeVar

from service.cards._text import TopicText
from service.kernel.findings import Finding
from service.kernel.record import PatientRecord

T2DM = "T2DM"  # Zuo & Yang 2025, seeds/000
OB = "OB"  # obesity and osteoporosis review, seeds/004

_SEEDS = {
    T2DM: {
        "en": "Zuo Z, Yang B. Advances in the treatment of type 2 diabetes mellitus complicated with "
        "osteoporosis. 2025. doi:10.12208/j.ijcr.20250542",
        "zh": "左梓旭, 杨斌. 2型糖尿病合并骨质疏松症的治疗进展. 2025. doi:10.12208/j.ijcr.20250542",
    },
    OB: {
        "en": "Obesity and osteoporosis (review)",
        "zh": "肥胖与骨质疏松(综述)",
    },
}


class Text(NamedTuple):
    summary: str  # < 140 characters: what and why
    detail: str  # markdown: the patient's values and dates, the recommendation (citation is appended)


@dataclass(frozen=True, slots=True)
class Citation:
    seed: str  # T2DM or OB
    sections: tuple[str, ...]  # ("2.2",) → "§2.2"
    extra_en: str = ""  # e.g. "the denosumab product label"
    extra_zh: str = ""

    def render(self, language: str) -> str:
        secs = ", ".join(f"§{s}" for s in self.sections)
        base = _SEEDS[self.seed]["zh" if language == "zh" else "en"]
        extra = self.extra_zh if language == "zh" else self.extra_en
        if language == "zh":
            return f"来源:{base},{secs}" + (f";{extra}" if extra else "") + "。"
        return f"Source: {base}, {secs}" + (f"; {extra}" if extra else "") + "."


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


Compose = Callable[[Finding[Any], PatientRecord, str], Text]


@dataclass(frozen=True, slots=True)
class Wording:
    title_en: str  # the topic's display name (source.topic.display)
    title_zh: str
    citations: tuple[Citation, ...]
    compose: Compose


def fmt_date(value: date | datetime | None, language: str) -> str:
    """Dates as ISO (yyyy-mm-dd) in both languages: unambiguous across locales."""
    if value is None:
        return "未记录" if language == "zh" else "never recorded"
    day = value.date() if isinstance(value, datetime) else value
    return day.isoformat()


def fmt_num(value: float, digits: int = 2) -> str:
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
