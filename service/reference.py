"""The rule reference, generated from what runs: rules, their settings, value sets and citations.

Nothing here is written by hand per topic. For each rule it reads the check function's docstring (the
trigger), walks the code the check calls inside this project to find which settings and which domain
concepts it reads, and looks those concepts up in the value set files. So the reference cannot drift
from the code.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import CodeType, FunctionType
from typing import Any

from mappings import concepts
from service.cards import topic_citations, topic_title
from service.kernel.findings import TIME_BOUND_TOPICS, Indicator, Topic
from service.kernel.record import DrugClass, Lab, Problem
from service.kernel.thresholds import RuleSettings
from service.rules import Moment, all_rules
from service.settings import Settings

_HOOKS = {Moment.ORDER: ("order-select", "order-sign"), Moment.VIEW: ("patient-view", "scheduled scan")}
_PROJECT = ("service.", "mappings.")


@dataclass(frozen=True)
class TopicReference:
    topic: Topic
    title: str
    hooks: tuple[str, ...]
    indicators: tuple[str, ...]
    triggers: tuple[str, ...]
    settings: dict[str, Any]
    value_sets: tuple[str, ...]
    citations: tuple[str, ...]
    reminder: bool


def _code_objects(code: CodeType) -> Iterator[CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _code_objects(const)


def _reachable(func: Callable[..., Any]) -> tuple[set[str], list[FunctionType]]:
    """Every name the function (and the project functions it calls, transitively) refers to."""
    names: set[str] = set()
    seen: set[int] = set()
    functions: list[FunctionType] = []
    stack: list[Any] = [func]
    while stack:
        f = stack.pop()
        if not isinstance(f, FunctionType) or id(f) in seen:
            continue
        seen.add(id(f))
        functions.append(f)
        for code in _code_objects(f.__code__):
            names.update(code.co_names)
            for name in code.co_names:
                target = f.__globals__.get(name)
                if isinstance(target, FunctionType) and target.__module__.startswith(_PROJECT):
                    stack.append(target)
                elif isinstance(target, frozenset):  # a named group of concepts, e.g. ANTI_OSTEOPOROSIS
                    names.update(m.name for m in target if isinstance(m, DrugClass | Lab | Problem))
    return names, functions


def _value_sets(names: set[str]) -> tuple[str, ...]:
    """The value set files behind the domain concepts a rule reads."""
    classes = {DrugClass[n] for n in names if n in DrugClass.__members__}
    labs = {Lab[n] for n in names if n in Lab.__members__}
    problems = {Problem[n] for n in names if n in Problem.__members__}
    files = {vs for vs, cls in concepts.DRUGS.items() if cls in classes}
    files |= {vs for vs, (lab, _) in concepts.LABS.items() if lab in labs}
    files |= {vs for vs, problem in concepts.PROBLEMS.items() if problem in problems}
    return tuple(sorted(files))


def _trigger(func: Callable[..., Any]) -> str:
    doc = inspect.getdoc(func) or ""
    return " ".join(doc.split("\n\n")[0].split())


def build(settings: Settings) -> list[TopicReference]:
    rules = settings.rules
    by_topic: dict[Topic, list[Any]] = {}
    for rule in all_rules():
        by_topic.setdefault(rule.topic, []).append(rule)
    out: list[TopicReference] = []
    for topic in Topic:
        entries = by_topic.get(topic, [])
        names: set[str] = set()
        for rule in entries:
            names |= _reachable(rule.check)[0]
        used = sorted(n for n in names if n in RuleSettings.model_fields and n != "population_profile")
        if {"bmi_obese", "waist_threshold_cm"} & names:
            used += sorted(n for n in RuleSettings.model_fields if n.startswith(("bmi_obese_", "waist_")))
            used.append("population_profile")
        hooks = tuple(dict.fromkeys(h for rule in entries for h in _HOOKS[rule.moment]))
        out.append(
            TopicReference(
                topic=topic,
                title=topic_title(topic),
                hooks=hooks,
                indicators=tuple(i.value for i in Indicator if i.name in names),
                triggers=tuple(f"{rule.moment.value}: {_trigger(rule.check)}" for rule in entries),
                settings={n: _value(getattr(rules, n)) for n in dict.fromkeys(used)},
                value_sets=_value_sets(names),
                citations=topic_citations(topic),
                reminder=topic in TIME_BOUND_TOPICS,
            )
        )
    return out


def _value(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def rule_reference(settings: Settings, fmt: str = "markdown") -> str:
    refs = build(settings)
    if fmt == "json":
        return json.dumps([r.__dict__ | {"topic": r.topic.value} for r in refs], indent=2, default=str) + "\n"
    lines = [
        "# Rule reference",
        "",
        "Generated by `bone-health-cds rules` from the rules, settings, value sets and card citations that",
        "run; do not edit by hand. Thresholds show their current values; each is a setting",
        "`BHCDS_RULES__<NAME>` (upper case). The clinical specification is `docs/spec/rules.md`.",
        f"Population profile: `{settings.population_profile.value}`.",
        "",
    ]
    for r in refs:
        lines += [f"## `{r.topic.value}` — {r.title}", ""]
        lines.append(f"- **Hooks**: {', '.join(r.hooks)}")
        lines.append(f"- **Indicator**: {' / '.join(r.indicators)}")
        if r.reminder:
            lines.append("- **Reminder**: yes (time-bound: due date scheduled and delivered as a FHIR Task)")
        lines.append("- **Fires when**:")
        lines += [f"  - {t}" for t in r.triggers]
        if r.settings:
            lines.append(
                "- **Thresholds and windows**: " + ", ".join(f"`{k}` = {v}" for k, v in r.settings.items())
            )
        if r.value_sets:
            lines.append(
                "- **Value sets** (`mappings/valuesets/`): " + ", ".join(f"`{v}.json`" for v in r.value_sets)
            )
        lines += [f"- **Cites**: {c.removeprefix('Source: ')}" for c in r.citations]
        lines.append("")
    return "\n".join(lines)
