"""The line a drug card opens with: which draft or active orders it is about, with their dates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from service.cards._wording import fmt_date


def orders_line(facts: Mapping[str, Any], language: str) -> str:
    """``**Draft order:** X`` at order time; ``**Active order:** X (ordered 2024-03-01)`` from the chart.

    Reads ``facts["drugs"]`` and, for chart orders, ``facts["ordered"]`` (one date or None per drug):
    EHRs leave long-term orders open, so the card says how old each one is.
    """
    drugs: Sequence[str] = facts["drugs"]
    ordered: Sequence[date | None] | None = facts.get("ordered")
    zh = language == "zh"
    if ordered is None:
        label = "草稿医嘱" if zh else ("Draft order" if len(drugs) == 1 else "Draft orders")
        items = list(drugs)
    else:
        label = "当前医嘱" if zh else ("Active order" if len(drugs) == 1 else "Active orders")
        items = [_with_date(name, day, zh) for name, day in zip(drugs, ordered, strict=True)]
    if zh:
        return f"**{label}：**" + "；".join(items)
    return f"**{label}:** " + "; ".join(items)


def _with_date(name: str, day: date | None, zh: bool) -> str:
    if zh:
        return f"{name}（开具于{fmt_date(day, 'zh')}）" if day else f"{name}（开具日期未记录）"
    return f"{name} (ordered {fmt_date(day, 'en')})" if day else f"{name} (order date not recorded)"
