"""Phrases the screening cards share: spans of time, bone fragility reasons, DXA sites, units."""

from __future__ import annotations

import math

from service.cards._wording import fmt_date, fmt_num
from service.kernel.record import BmdSite
from service.rules.definitions import BoneFragility

_SITES = {
    BmdSite.LUMBAR_SPINE: ("lumbar spine", "腰椎"),
    BmdSite.HIP: ("hip", "髋部"),
    BmdSite.FEMORAL_NECK: ("femoral neck", "股骨颈"),
    BmdSite.OTHER: ("other site", "其他部位"),
}


def zh(language: str) -> bool:
    return language == "zh"


def span(days: int, language: str) -> str:
    """A window in the words a clinician uses: 365 → "12 months", 730 → "2 years", else days."""
    if days == 365:
        return "12个月" if zh(language) else "12 months"
    if days % 365 == 0:
        years = days // 365
        return f"{years}年" if zh(language) else f"{years} years"
    return f"{days}天" if zh(language) else f"{days} days"


def floor1(value: float) -> str:
    """One decimal, rounded down, so a value just under a threshold never prints as the threshold."""
    return fmt_num(math.floor(value * 10 + 1e-9) / 10, 1)


def whole(value: float) -> str:
    """A whole number ("40", never "4": ``fmt_num(x, 0)`` strips the zeros of integers)."""
    return str(round(value))


def site(value: BmdSite | None, language: str) -> str:
    en, cn = _SITES.get(value or BmdSite.OTHER, _SITES[BmdSite.OTHER])
    return cn if zh(language) else en


def fragility_reasons(fragility: BoneFragility, drug: str | None, language: str) -> str:
    """Why the patient counts as having bone fragility, in the patient's own values."""
    parts: list[str] = []
    for reason in fragility.reasons:
        if reason == "osteoporosis":
            parts.append("骨质疏松症" if zh(language) else "osteoporosis")
        elif reason == "fragility-fracture":
            parts.append("脆性(骨质疏松性)骨折史" if zh(language) else "fragility (osteoporotic) fracture")
        elif reason == "t-score" and fragility.t_score is not None and fragility.t_score.value is not None:
            t = fragility.t_score
            value = fmt_num(t.value or 0.0, 1)
            when = fmt_date(t.on, language)
            if zh(language):
                parts.append(f"{site(t.site, language)} T值 {value}({when})")
            else:
                parts.append(f"T-score {value} at the {site(t.site, language)} on {when}")
        elif reason == "anti-osteoporosis-drug":
            name = f"({drug})" if zh(language) and drug else f" ({drug})" if drug else ""
            parts.append(
                f"抗骨质疏松药物治疗{name}" if zh(language) else f"anti-osteoporosis treatment{name}"
            )
    return ";".join(parts) if zh(language) else "; ".join(parts)


def population(t2dm: bool, fragility: BoneFragility | None, drug: str | None, language: str) -> str:
    """Why the patient is in the rule's population: T2DM, bone fragility (with its reasons), or both."""
    if t2dm and fragility is not None:
        return "2型糖尿病合并骨脆性增加" if zh(language) else "type 2 diabetes and bone fragility"
    if t2dm:
        return "2型糖尿病" if zh(language) else "type 2 diabetes"
    if fragility is None:
        return ""
    reasons = fragility_reasons(fragility, drug, language)
    return f"骨脆性增加({reasons})" if zh(language) else f"bone fragility ({reasons})"
