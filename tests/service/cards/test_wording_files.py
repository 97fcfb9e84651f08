"""The card wording data files: complete in every language, and every placeholder has a value."""

from __future__ import annotations

import dataclasses
import json
import re
from importlib import resources

import pytest

from service.cards import wording
from service.cards._phrases import phrases
from service.cards._text import LANGUAGES, WordingError, placeholders, topic_text, topics_with_wording
from service.cards._wording import TopicWording
from service.kernel.findings import Topic

DATA_TOPICS = sorted(t for t, w in wording().items() if isinstance(w, TopicWording))
ASCII_PUNCTUATION_IN_CHINESE = re.compile(r"[\u4e00-\u9fff][,;:()]|[,;:()][\u4e00-\u9fff]")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
ASCII_PUNCTUATION = re.compile(r"[,;:()]")  # a Chinese name or dosage in a data file has none at all


def test_every_language_has_the_same_topics() -> None:
    on_file = {lang: topics_with_wording(lang) for lang in LANGUAGES}
    assert len({frozenset(v) for v in on_file.values()}) == 1, on_file
    assert {t.value for t in DATA_TOPICS} <= on_file[LANGUAGES[0]]


def test_every_wording_file_belongs_to_a_topic() -> None:
    assert topics_with_wording(LANGUAGES[0]) <= {t.value for t in Topic}


@pytest.mark.parametrize("topic", DATA_TOPICS, ids=str)
def test_languages_name_the_same_templates_and_placeholders(topic: Topic) -> None:
    texts = [topic_text(topic.value, lang) for lang in LANGUAGES]
    first = texts[0]
    for other in texts[1:]:
        assert set(other.templates) == set(first.templates), f"{other.language}/{topic}.yaml"
        for key, template in first.templates.items():
            assert placeholders(other.templates[key]) == placeholders(template), f"{topic} '{key}'"
        assert [s.review for s in other.sources] == [s.review for s in first.sources]
        assert [s.sections for s in other.sources] == [s.sections for s in first.sources]


@pytest.mark.parametrize("topic", DATA_TOPICS, ids=str)
def test_every_placeholder_is_a_fact_or_a_value_its_composer_derives(topic: Topic) -> None:
    words = wording()[topic]
    assert isinstance(words, TopicWording)
    known = {f.name for f in dataclasses.fields(words.facts)} | words.derived
    for lang in LANGUAGES:
        for key, template in topic_text(topic.value, lang).templates.items():
            unknown = placeholders(template) - known
            assert not unknown, f"{lang}/{topic}.yaml '{key}' names {sorted(unknown)}: no such fact"


@pytest.mark.parametrize("topic", DATA_TOPICS, ids=str)
def test_chinese_text_uses_full_width_punctuation(topic: Topic) -> None:
    text = topic_text(topic.value, "zh")
    about = [(f"about {i}", a) for i, a in enumerate(text.about)]
    also = [(f"source {i}", s.also) for i, s in enumerate(text.sources) if s.also]
    for key, template in [("title", text.title), *text.templates.items(), *about, *also]:
        assert not ASCII_PUNCTUATION_IN_CHINESE.search(template), f"zh/{topic}.yaml '{key}': {template}"


def _chinese_strings(node: object) -> list[str]:
    """Every string in a data file that holds Chinese characters (names, dosages, recognised marks)."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in _chinese_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _chinese_strings(v)]
    return [node] if isinstance(node, str) and CHINESE.search(node) else []


@pytest.mark.parametrize("name", ["orderables.json", "drug_names.json"])
def test_the_chinese_names_in_the_data_files_use_full_width_punctuation(name: str) -> None:
    """What a Chinese card shows from the catalogue ("双能X线骨密度检查（DXA）", a dosage) or recognises."""
    data = json.loads(resources.files("service.cards").joinpath(name).read_text("utf-8"))
    chinese = _chinese_strings(data)
    assert chinese, name
    offending = [s for s in chinese if ASCII_PUNCTUATION.search(s)]
    assert not offending, offending


def test_the_data_file_check_can_fail() -> None:
    assert ASCII_PUNCTUATION.search("双能X线骨密度检查(DXA)")
    assert _chinese_strings({"a": ["x", {"zh": "5 mg 静脉滴注(不少于15分钟),单次"}]}) == [
        "5 mg 静脉滴注(不少于15分钟),单次"
    ]


def test_the_chinese_phrases_use_full_width_punctuation() -> None:
    def strings(node: object) -> list[str]:
        if isinstance(node, dict):
            return [s for v in node.values() for s in strings(v)]
        return [str(node)]

    from service.cards._text import phrase_table

    for value in strings(phrase_table("zh")):
        assert not ASCII_PUNCTUATION_IN_CHINESE.search(value), value


def test_a_template_without_its_value_is_an_error_not_a_gap() -> None:
    text = topic_text(Topic.SGLT2_FRACTURE_CAUTION.value, "en")
    with pytest.raises(WordingError, match="egfr_threshold"):
        text("summary", egfr="28")
    with pytest.raises(WordingError, match="no text"):
        text("no-such-template")


def test_the_phrase_files_have_the_same_entries() -> None:
    def keys(node: object, prefix: str = "") -> set[str]:
        if isinstance(node, dict):
            return {k for key, v in node.items() for k in keys(v, f"{prefix}{key}.")}
        return {prefix}

    from service.cards._text import phrase_table

    tables = [keys(phrase_table(lang)) for lang in LANGUAGES]
    assert all(t == tables[0] for t in tables)
    assert phrases("zh").join(["a", "b"]) == "a；b"


INTERNAL_WORDS = re.compile(r"seed|种子|§|非综述|not in the review", re.IGNORECASE)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_card_text_speaks_of_how_the_specification_was_made(language: str) -> None:
    """Cards cite the reviews by authors, year and section; never "seed", "种子" or a bare "§"."""

    def strings(node: object) -> list[str]:
        if isinstance(node, dict):
            return [s for v in node.values() for s in strings(v)]
        if isinstance(node, list):
            return [s for v in node for s in strings(v)]
        return [str(node)]

    from service.cards._text import phrase_table

    texts = strings(dict(phrase_table(language)))
    for topic in DATA_TOPICS:
        data = topic_text(topic.value, language)
        texts += [data.title, *data.templates.values(), *(s.also for s in data.sources)]
    offending = [t for t in texts if INTERNAL_WORDS.search(t)]
    assert not offending, offending
