"""What a card may propose to order, loaded once from ``orderables.json`` (codes are data)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, TypedDict

from service.kernel.findings import Order, Proposal
from service.kernel.record import Lab


class Orderable(TypedDict):
    system: str
    code: str
    display: str
    en: str
    zh: str


@cache
def _data() -> dict[str, Any]:
    return json.loads((Path(__file__).with_name("orderables.json")).read_text(encoding="utf-8"))


def lab(lab: Lab) -> Orderable:
    entry: Orderable = _data()["labs"][lab.value]
    return entry


def service(order: Order) -> Orderable:
    entry: Orderable = _data()["services"][order.value]
    return entry


def medication(proposal: Proposal) -> dict[str, str]:
    entry: dict[str, str] = _data()["medications"][proposal.value]
    return entry
