"""Card wording as data: one YAML file per topic and language under ``service/cards/wording/<lang>/``.

A topic's file holds its title, the sources it cites, its text templates and (``about``) the explanation
the rule page shows, which the cards' short details leave out. A template names the values
it quotes as ``{placeholders}``; the topic's composer fills them from the finding's typed facts, already
formatted by the phrase library, and a template whose placeholder has no value is an error, never an
empty gap on a card. Clinicians and translators review these files without reading Python.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

#: The languages cards are worded in; the first is the default.
LANGUAGES: tuple[str, ...] = ("en", "zh")


class WordingError(LookupError):
    """A wording file is missing, or a template names a value its composer did not give."""


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A review section a card rests on, and (in plain words) what else a statement rests on."""

    review: str  # a key of ``reviews`` in the language's phrase file
    sections: tuple[str, ...]
    also: str = ""


@dataclass(frozen=True, slots=True)
class TopicText:
    """One topic's wording in one language."""

    topic: str
    language: str
    title: str
    sources: tuple[SourceRef, ...]
    templates: Mapping[str, str]
    # what a card's detail leaves to the rule page (rules.md r3: the detail stays within its budget)
    about: tuple[str, ...] = ()

    def __call__(self, key: str, /, **values: object) -> str:
        """The template ``key`` with its placeholders filled; every placeholder must have a value."""
        try:
            template = self.templates[key]
        except KeyError:
            raise WordingError(f"{self.language}/{self.topic}.yaml has no text '{key}'") from None
        try:
            return template.format_map(values)
        except KeyError as missing:
            raise WordingError(
                f"{self.language}/{self.topic}.yaml '{key}' names {{{missing.args[0]}}}, which was not given"
            ) from None

    def has(self, key: str) -> bool:
        """True when the topic words ``key`` (for optional text, such as a lab's display name)."""
        return key in self.templates


def placeholders(template: str) -> frozenset[str]:
    """The names a template quotes: ``"eGFR {value} on {day}"`` → {"value", "day"}."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def _wording_dir(language: str) -> Any:
    return resources.files("service.cards").joinpath("wording", language)


def _load_yaml(language: str, name: str) -> dict[str, Any]:
    path = _wording_dir(language).joinpath(f"{name}.yaml")
    if not path.is_file():
        raise WordingError(f"no wording file {language}/{name}.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise WordingError(f"{language}/{name}.yaml is not a mapping")
    return data


@cache
def topic_text(topic: str, language: str) -> TopicText:
    """A topic's wording in a language, read once from its data file."""
    data = _load_yaml(language, topic)
    sources = tuple(
        SourceRef(str(s["review"]), tuple(str(x) for x in s.get("sections", ())), str(s.get("also", "")))
        for s in data.get("sources", ())
    )
    templates = {str(k): str(v) for k, v in (data.get("text") or {}).items()}
    about = tuple(str(a) for a in data.get("about") or ())
    return TopicText(topic, language, str(data["title"]), sources, templates, about)


@cache
def phrase_table(language: str) -> Mapping[str, Any]:
    """The shared phrases of a language (``wording/<lang>/_phrases.yaml``)."""
    return _load_yaml(language, "_phrases")


def topics_with_wording(language: str) -> frozenset[str]:
    """Every topic that has a wording file in the language (for the completeness tests)."""
    return frozenset(
        p.name.removesuffix(".yaml")
        for p in _wording_dir(language).iterdir()
        if p.name.endswith(".yaml") and not p.name.startswith("_")
    )
