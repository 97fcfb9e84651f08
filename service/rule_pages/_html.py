"""The pages as HTML strings: every value is escaped here, card details go through the markdown converter."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from service.cards import RULE_PAGES, topic_text
from service.reference import TopicReference
from service.rule_pages._labels import LABELS
from service.rule_pages._markdown import to_html

#: Value sets with more codes than this start folded.
OPEN_UP_TO = 12
_SYSTEMS = {
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://loinc.org": "LOINC",
    "http://snomed.info/sct": "SNOMED CT",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://www.whocc.no/atc": "ATC",
}


def label(lang: str, key: str) -> str:
    return LABELS[lang][key]


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _href(path: str, lang: str) -> str:
    return _e(f"{path}?lang={lang}")


def _layout(title: str, body: str, lang: str, path: str) -> str:
    other = label(lang, "switch_lang")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{label(lang, "html_lang")}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{_e(title)}</title>\n"
        f'<link rel="stylesheet" href="{RULE_PAGES}/static/style.css">\n</head>\n<body>\n'
        '<header class="bar"><nav>'
        f'<a class="home" href="{_href(RULE_PAGES, lang)}">{_e(label(lang, "all_rules"))}</a>'
        f'<a class="lang" hreflang="{other}" lang="{label(other, "html_lang")}" '
        f'href="{_href(path, other)}">{_e(label(lang, "switch"))}</a>'
        "</nav></header>\n"
        f"<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


_LITERAL = re.compile(r"``(.+?)``")


def _rule_text(text: str) -> str:
    """A rule's docstring line: escaped, its ``literals`` as code."""
    return _LITERAL.sub(r"<code>\1</code>", _e(text))


def _indicators(indicators: Sequence[str], lang: str) -> str:
    return " ".join(
        f'<span class="badge {_e(i)}">{_e(label(lang, f"indicator.{i}"))}</span>' for i in indicators
    )


def _trigger(trigger: str, lang: str) -> tuple[str, str]:
    """ "order: A draft TZD …" → ("At order time", "A draft TZD …")."""
    moment, _, text = trigger.partition(": ")
    key = f"moment.{moment}"
    return (label(lang, key) if key in LABELS[lang] else moment), text


def index_page(refs: Sequence[TopicReference], lang: str, answer: Sequence[Mapping[str, Any]] = ()) -> str:
    rows = []
    for ref in refs:
        code = ref.topic.value
        fires = _trigger(ref.triggers[0], lang)[1] if ref.triggers else ""
        rows.append(
            '<li class="topic">'
            f'<h2><a href="{_href(f"{RULE_PAGES}/{code}", lang)}">{_e(topic_text(code, lang).title)}</a></h2>'
            f'<p class="code"><code>{_e(code)}</code> {_indicators(ref.indicators, lang)}</p>'
            f'<p class="hooks"><span class="k">{_e(label(lang, "hooks"))}:</span> {_e(", ".join(ref.hooks))}</p>'
            f'<p class="fires"><span class="k">{_e(label(lang, "fires_when"))}:</span> '
            f'<span lang="en">{_rule_text(fires)}</span></p>'
            "</li>"
        )
    body = (
        f"<h1>{_e(label(lang, 'index_title'))}</h1>\n"
        f'<p class="intro">{_e(label(lang, "index_intro"))}</p>\n'
        f'<ul class="topics">{"".join(rows)}</ul>'
    )
    if answer:  # a whole answer: the urgent cards stand, the info cards fold into one
        body += "\n" + _section("answer", label(lang, "answer"), _examples(answer, lang, note="answer_note"))
    return _layout(label(lang, "index_title"), body, lang, RULE_PAGES)


def topic_page(
    ref: TopicReference,
    title: str,
    sources: Sequence[tuple[str, str | None, str]],
    value_sets: Sequence[tuple[str, Mapping[str, Any]]],
    cards: Sequence[Mapping[str, Any]],
    lang: str,
    about: Sequence[str] = (),
) -> str:
    code = ref.topic.value
    facts = [
        (label(lang, "code"), f"<code>{_e(code)}</code>"),
        (label(lang, "hooks"), _e(", ".join(ref.hooks))),
        (label(lang, "indicator"), _indicators(ref.indicators, lang)),
    ]
    if ref.reminder:
        facts.append((label(lang, "reminder"), _e(label(lang, "reminder_yes"))))
    parts = [
        f"<h1>{_e(title)}</h1>",
        '<dl class="facts">' + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>",
        _section("triggers", label(lang, "triggers"), _triggers(ref, lang)),
        *([_section("about", label(lang, "about"), _about(about))] if about else []),
        _section("thresholds", label(lang, "thresholds"), _thresholds(ref, lang)),
        _section("source", label(lang, "source"), _sources(sources)),
        _section("value-sets", label(lang, "value_sets"), _value_sets(value_sets, lang)),
        _section("examples", label(lang, "examples"), _examples(cards, lang)),
    ]
    return _layout(f"{title} · {label(lang, 'index_title')}", "\n".join(parts), lang, f"{RULE_PAGES}/{code}")


def not_found_page(topic: str, lang: str) -> str:
    body = (
        f"<h1>{_e(label(lang, 'not_found_title'))}</h1>\n"
        f"<p>{_e(label(lang, 'not_found'))} <code>{_e(topic)}</code></p>\n"
        f'<p><a href="{_href(RULE_PAGES, lang)}">{_e(label(lang, "all_rules"))}</a></p>'
    )
    return _layout(label(lang, "not_found_title"), body, lang, RULE_PAGES)


def _about(paragraphs: Sequence[str]) -> str:
    """What the card's detail leaves out: the reasoning and advice at length, one list item each."""
    return "<ul>" + "".join(f"<li>{_e(p)}</li>" for p in paragraphs) + "</ul>"


def _section(anchor: str, heading: str, content: str) -> str:
    return f'<section id="{anchor}">\n<h2>{_e(heading)}</h2>\n{content}\n</section>'


def _triggers(ref: TopicReference, lang: str) -> str:
    items = "".join(
        f'<li><span class="k">{_e(moment)}:</span> <span lang="en">{_rule_text(text)}</span></li>'
        for moment, text in (_trigger(t, lang) for t in ref.triggers)
    )
    notes = [label(lang, "triggers_lang"), label(lang, "triggers_note") if ref.settings else ""]
    note = " ".join(n for n in notes if n)
    return f'<ul class="triggers">{items}</ul>' + (f'\n<p class="note">{_e(note)}</p>' if note else "")


def _thresholds(ref: TopicReference, lang: str) -> str:
    if not ref.settings:
        return f"<p>{_e(label(lang, 'thresholds_none'))}</p>"
    rows = "".join(
        f'<tr><td><code>{_e(name)}</code><br><code class="env">BHCDS_RULES__{_e(name.upper())}</code></td>'
        f'<td class="value" data-setting="{_e(name)}">{_e(value)}</td></tr>'
        for name, value in ref.settings.items()
    )
    head = (
        f"<tr><th>{_e(label(lang, 'setting'))} / {_e(label(lang, 'env'))}</th>"
        f"<th>{_e(label(lang, 'value'))}</th></tr>"
    )
    return f'<table class="settings"><thead>{head}</thead><tbody>{rows}</tbody></table>'


def _sources(sources: Sequence[tuple[str, str | None, str]]) -> str:
    items = []
    for text, url, also in sources:
        cite = _e(text)
        if url:
            cite += f' · <a class="doi" href="{_e(url)}">{_e(url.removeprefix("https://"))}</a>'
        if also:
            cite += f"; {_e(also)}"
        items.append(f"<li>{cite}</li>")
    return f'<ul class="sources">{"".join(items)}</ul>'


def _value_sets(value_sets: Sequence[tuple[str, Mapping[str, Any]]], lang: str) -> str:
    if not value_sets:
        return f"<p>{_e(label(lang, 'value_sets_none'))}</p>"
    blocks = []
    for name, vs in value_sets:
        contains: list[Mapping[str, Any]] = list(vs.get("expansion", {}).get("contains", []))
        by_system: dict[str, list[Mapping[str, Any]]] = {}
        for concept in contains:
            by_system.setdefault(str(concept.get("system", "")), []).append(concept)
        tables = []
        for system, concepts in by_system.items():
            rows = "".join(
                f'<tr><td class="c"><code>{_e(c.get("code", ""))}</code></td><td>{_e(c.get("display", ""))}</td></tr>'
                for c in concepts
            )
            tables.append(
                f'<h4>{_e(_SYSTEMS.get(system, system))} <code class="system">{_e(system)}</code></h4>'
                f'<table class="codes"><tbody>{rows}</tbody></table>'
            )
        opened = " open" if len(contains) <= OPEN_UP_TO else ""
        blocks.append(
            f'<details class="valueset" id="vs-{_e(name)}"{opened}>'
            f"<summary><code>{_e(name)}</code> {_e(vs.get('title', ''))} "
            f'<span class="count">({len(contains)} {_e(label(lang, "codes"))})</span></summary>'
            f"{''.join(tables)}</details>"
        )
    return "\n".join(blocks)


_OWN_LINK = re.compile(r'href="(/rules[^"?]*)"')


def _own_links(html: str, lang: str) -> str:
    """A card's links to this service's pages (the folded card's) keep the page's language."""
    return _OWN_LINK.sub(lambda m: f'href="{_href(m.group(1), lang)}"', html)


def _examples(cards: Sequence[Mapping[str, Any]], lang: str, note: str = "examples_note") -> str:
    if not cards:
        return f"<p>{_e(label(lang, 'examples_none'))}</p>"
    rendered = [f'<p class="note">{_e(label(lang, note))}</p>']
    for card in cards:
        indicator = str(card["indicator"])
        source = card.get("source", {})
        source_html = _e(source.get("label", ""))
        if source.get("url"):
            source_html = f'<a href="{_e(source["url"])}">{source_html}</a>'
        buttons = "".join(
            f'<button type="button" disabled>{_e(s)}</button>' for s in card.get("suggestions", [])
        )
        rendered.append(
            f'<article class="card {_e(indicator)}">'
            f'<header><span class="badge {_e(indicator)}">{_e(label(lang, f"indicator.{indicator}"))}</span> '
            f'<strong class="summary">{_e(card["summary"])}</strong></header>'
            f'<div class="detail">{_own_links(to_html(str(card.get("detail", ""))), lang)}</div>'
            + (f'<div class="suggestions">{buttons}</div>' if buttons else "")
            + f'<footer><span class="source">{source_html}</span>'
            f'<span class="scenario">{_e(label(lang, "scenario"))}: {_e(card.get("scenario", ""))}</span>'
            "</footer></article>"
        )
    return "\n".join(rendered)
