"""Memoising by content: equal JSON shares an answer, unequal JSON never does, and records do not change."""

from __future__ import annotations

import copy
import math
from types import MappingProxyType
from typing import Any

import pytest

from mappings import _memo, build_record
from mappings._memo import by_content, clear_caches
from tests.mappings.fhirdata import PID, RXNORM, coded, med_request, observation, synthea

calls: list[object] = []


@by_content(maxsize=64)
def kind(value: object, tag: str) -> str:
    """The type of ``value`` as a memo would answer it, counting real calls."""
    calls.append(value)
    return f"{tag}:{type(value).__name__}:{value!r}"


@pytest.fixture(autouse=True)
def _fresh() -> None:
    kind.cache_clear()  # type: ignore[attr-defined]
    calls.clear()


def test_equal_json_in_new_objects_is_answered_from_the_memo() -> None:
    concept = {"coding": [{"system": "http://loinc.org", "code": "2000-8"}], "text": "Calcium"}
    first = kind(concept, "a")
    assert kind(copy.deepcopy(concept), "a") == first
    assert len(calls) == 1
    kind(copy.deepcopy(concept), "b")  # the other arguments are part of the key
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("one", "other"),
    [(1, 1.0), (1, True), (0, False), (None, math.nan), ({"v": 1}, {"v": True}), ("1", 1), ([1], (1,))],
)
def test_values_that_compare_or_encode_alike_are_kept_apart(one: object, other: object) -> None:
    assert kind(one, "t") != kind(other, "t")
    assert kind({"x": [one]}, "t") != kind({"x": [other]}, "t")


def test_a_value_marshal_cannot_key_is_computed_every_time() -> None:
    value: Any = MappingProxyType({"a": 1})
    kind(value, "t")
    kind(value, "t")
    assert len(calls) == 2


def test_clear_caches_forgets_every_answer() -> None:
    kind("x", "t")
    clear_caches()
    kind("x", "t")
    assert len(calls) == 2


def test_a_chart_maps_to_the_same_record_on_first_sight_and_from_the_memo() -> None:
    pid, bundle = synthea("Twyla_Moen")
    clear_caches()
    first = build_record(pid, [bundle])
    assert build_record(pid, [copy.deepcopy(bundle)]) == first


def test_notes_are_written_on_every_call_not_only_the_first() -> None:
    resources = [
        observation("2000-8", 2.3, "furlongs", "o1"),
        med_request({"medicationReference": {"reference": "Medication/absent"}}, "m1"),
        med_request(coded(RXNORM, "993456"), "m2"),
    ]
    first = build_record(PID, copy.deepcopy(resources))
    again = build_record(PID, copy.deepcopy(resources))
    assert again == first and len(first.notes) == 2


def test_after_a_chart_the_memos_hold_nothing_of_the_patient() -> None:
    pid = "patient-8f3a61"
    resources = [
        {**observation("2000-8", 2.345678, "mmol/L", "obs-77c2", subject=f"Patient/{pid}"), "issued": None},
        med_request(coded(RXNORM, "993456", "Prolia"), "req-19bd", subject=f"Patient/{pid}"),
    ]
    record = build_record(pid, resources)
    assert record.measurements and record.medications
    kept = repr([(list(memo.entries.items())) for memo in _memo._ALL]).encode() + b"".join(
        key if isinstance(key, bytes) else b"" for memo in _memo._ALL for key in memo.entries
    )
    for trace in (pid, "obs-77c2", "req-19bd", "2.345678", "2024-03-01"):
        assert trace.encode() not in kept, trace
