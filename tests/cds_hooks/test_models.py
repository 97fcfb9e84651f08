"""The wire form of cards: aliases, no nulls, no empty collections, at every depth."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cds_hooks.models import Action, Card, Coding, Link, Source, Suggestion, _prune


def _reference_prune(value: Any) -> Any:
    """The definition: drop every value equal to {}, [] or None from every dict, after pruning it."""
    if isinstance(value, dict):
        pruned = {k: _reference_prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [_reference_prune(v) for v in value]
    return value


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner, max_size=4),
    max_leaves=30,
)


@given(_json)
def test_pruning_follows_its_definition(value: Any) -> None:
    assert _prune(value) == _reference_prune(value)


def test_a_card_keeps_falsy_values_and_loses_empty_ones() -> None:
    resource = {
        "resourceType": "MedicationRequest",
        "note": [],
        "meta": {},
        "dosage": [{"text": None, "doseQuantity": {}}, {}],
        "substitution": {"allowedBoolean": False},
        "dispenseRequest": {"numberOfRepeatsAllowed": 0, "validityPeriod": {"start": None}},
    }
    card = Card(
        summary="s",
        indicator="info",
        source=Source(label="L", topic=Coding(code="t")),
        uuid="u",
        suggestions=[
            Suggestion(
                label="x", uuid="v", actions=[Action(type="create", description="d", resource=resource)]
            )
        ],
        links=[Link(label="l", url="https://example.org")],
    )
    assert card.to_json() == {
        "summary": "s",
        "indicator": "info",
        "source": {"label": "L", "topic": {"code": "t"}},
        "uuid": "u",
        "suggestions": [
            {
                "label": "x",
                "uuid": "v",
                "actions": [
                    {
                        "type": "create",
                        "description": "d",
                        "resource": {
                            "resourceType": "MedicationRequest",
                            "dosage": [{}, {}],
                            "substitution": {"allowedBoolean": False},
                            "dispenseRequest": {"numberOfRepeatsAllowed": 0},
                        },
                    }
                ],
            }
        ],
        "links": [{"label": "l", "url": "https://example.org", "type": "absolute"}],
    }
    assert card.to_json() == _reference_prune(card.model_dump(by_alias=True, exclude_none=True))
