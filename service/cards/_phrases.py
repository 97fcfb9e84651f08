"""The phrase library: how every card words the clinical values it quotes, in one place per language.

Renal function, serum calcium, bone-fragility evidence, DXA sites, order lines, dates and numbers read
the same way on every card. Python keeps the formatting of values (digits, dates, lists); the words are
in ``wording/<lang>/_phrases.yaml``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

from service.cards._text import SourceRef, phrase_table
from service.kernel.clinical import (
    BoneFragility,
    DrugOrders,
    FragilityReason,
    RenalFunction,
    RenalMeasure,
    SerumCalcium,
)
from service.kernel.record import BmdSite, Lab, PatientRecord, Reported, Sex


def num(value: float, digits: int = 2) -> str:
    """A number with at most ``digits`` decimals and no trailing zeros: 28.0 → "28", 2.55 → "2.55"."""
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def mmol(value: float) -> str:
    """Calcium as laboratories report it: two decimals (2.60, not 2.6)."""
    return f"{value:.2f}"


def floor1(value: float) -> str:
    """One decimal, rounded down, so a value just under a threshold never prints as the threshold."""
    return num(math.floor(value * 10 + 1e-9) / 10, 1)


def whole(value: float) -> str:
    """A whole number ("40", never "4")."""
    return str(round(value))


def iso_day(value: date | datetime) -> str:
    """Dates as ISO (yyyy-mm-dd) in both languages: unambiguous across locales."""
    return (value.date() if isinstance(value, datetime) else value).isoformat()


# --- lab values as reported --------------------------------------------------------------------------
#
# rules.md (r3): a lab value is written in the unit the lab reported, with the conversion in brackets. The
# findings carry canonical values (the rules compare those); the record keeps what each result was
# reported as. While a card is worded, :func:`quoting` names the record, and :meth:`Phrases.lab` finds the
# result a value came from.

_QUOTED: ContextVar[PatientRecord | None] = ContextVar("quoted_record", default=None)


@contextmanager
def quoting(record: PatientRecord) -> Iterator[None]:
    """Word the cards of ``record``: lab values are quoted in the units its results were reported in."""
    token = _QUOTED.set(record)
    try:
        yield
    finally:
        _QUOTED.reset(token)


def _one(value: float) -> str:
    return num(value, 1)


def _two(value: float) -> str:
    return num(value, 2)


#: Each quoted lab's canonical unit and how its canonical value is written.
_CANONICAL: dict[Lab, tuple[Callable[[float], str], str]] = {
    Lab.CALCIUM: (mmol, "mmol/L"),
    Lab.IONISED_CALCIUM: (mmol, "mmol/L"),
    Lab.CREATININE: (_two, "mg/dL"),
    Lab.VITAMIN_D: (_one, "ng/mL"),
    Lab.GLUCOSE: (_one, "mmol/L"),
    Lab.HBA1C: (_one, "%"),
    Lab.PHOSPHATE: (_two, "mmol/L"),
    Lab.PTH: (_one, "pg/mL"),
    Lab.MAGNESIUM: (_two, "mmol/L"),
}


def _unit_key(unit: str) -> str:
    """Spellings of one unit compare equal: "mg/dl", "mg/dL", "umol/L", "µmol/L"."""
    return unit.strip().lower().replace("µ", "u").replace("μ", "u").replace(" ", "")


def reported_as(lab: Lab, value: float, at: date | datetime | None = None) -> Reported | None:
    """How the record's result of ``lab`` with canonical ``value`` (taken at ``at``, or that day) was
    reported; None outside :func:`quoting` or when no result matches."""
    record = _QUOTED.get()
    if record is None:
        return None
    for m in reversed(record.series(lab)):
        if m.value is None or m.reported is None or not math.isclose(m.value, value, rel_tol=1e-9):
            continue
        if at is None or m.at == at or (not isinstance(at, datetime) and m.at.date() == at):
            return m.reported
    return None


def _as_reported(
    lab: Lab, value: float, at: date | datetime | None, of: float | None
) -> tuple[str | None, str]:
    """(the value in the unit its result was reported in, or None when that is the canonical unit or
    unknown; the value in the canonical unit), each with its unit."""
    write, unit = _CANONICAL[lab]
    canonical = f"{write(value)} {unit}"
    source = reported_as(lab, value if of is None else of, at)
    if source is None or _unit_key(source.unit) == _unit_key(unit):
        return None, canonical
    if of is None:
        return f"{num(source.value, 3)} {source.unit}", canonical
    if not of:
        return None, canonical
    return f"{num(value * source.value / of, 1)} {source.unit}", canonical


class Phrases:
    """The shared phrases of one language."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._t: Mapping[str, Any] = phrase_table(language)

    def __call__(self, path: str, **values: object) -> str:
        """The phrase at ``path`` ("suggestion.delete"), its placeholders filled."""
        node: Any = self._t
        for part in path.split("."):
            node = node[part]
        return str(node).format_map(values) if values else str(node)

    _ = __call__

    @property
    def name_key(self) -> str:
        """Which name of a catalogue entry (``orderables.json``: "en" or "zh") this language shows."""
        return str(self._t.get("catalogue_names", self.language))

    # --- plain values ---------------------------------------------------------------------------

    def day(self, value: date | datetime | None) -> str:
        return self._("never_recorded") if value is None else iso_day(value)

    def join(self, items: Iterable[str]) -> str:
        return self._("list_separator").join(items)

    def span(self, days: int) -> str:
        """A window in the words a clinician uses: 365 → "12 months", 730 → "2 years", else days."""
        if days == 365:
            return self._("span.twelve_months")
        if days % 365 == 0:
            return self._("span.years", n=days // 365)
        return self._("span.days", n=days)

    def sex(self, sex: Sex) -> str:
        return self._(f"sex.{sex.value}")

    def bmd_site(self, site: BmdSite | None) -> str:
        return self._(f"bmd_site.{(site or BmdSite.OTHER).value}")

    # --- lab values -----------------------------------------------------------------------------

    def lab(
        self, lab: Lab, value: float, at: date | datetime | None = None, *, of: float | None = None
    ) -> str:
        """A lab value with its unit: "7.2 mg/dL (1.80 mmol/L)" when the lab reported mg/dL, "1.80 mmol/L"
        when it reported the canonical unit (or nothing tells). ``of``: ``value`` is derived from the
        result whose canonical value is ``of`` (an albumin-corrected calcium), and is written in that
        result's unit."""
        reported, canonical = _as_reported(lab, value, at, of)
        return canonical if reported is None else self._("lab_value", reported=reported, canonical=canonical)

    def lab_short(
        self, lab: Lab, value: float, at: date | datetime | None = None, *, of: float | None = None
    ) -> str:
        """For summaries: the value in the unit the lab reported, without the conversion."""
        reported, canonical = _as_reported(lab, value, at, of)
        return reported or canonical

    # --- renal function and calcium -------------------------------------------------------------

    def renal(self, renal: RenalFunction) -> str:
        """ "eGFR 28 mL/min/1.73 m² on 2026-10-02", a computed value with its inputs (r3: "Cockcroft–Gault
        20 mL/min from creatinine 1.3 mg/dL, 42 kg, ..."; CKD-EPI "no weight recorded"), and the other
        value compared when there was one."""
        m = f"measure.{renal.kind.value}"
        value, day = num(renal.value, 1), self.day(renal.at)
        inputs, egfr_inputs = renal.inputs, renal.egfr_inputs
        if renal.kind is RenalMeasure.COCKCROFT_GAULT and inputs is not None:
            text = self._(
                "renal.cockcroft_gault",
                value=value,
                creatinine=self.lab(Lab.CREATININE, inputs.creatinine_mg_per_dl, inputs.creatinine_on),
                creatinine_day=self.day(inputs.creatinine_on),
                weight=num(inputs.weight_kg, 1),
                weight_day=self.day(inputs.weight_on),
                age=inputs.age,
                sex=self.sex(inputs.sex),
            )
        elif renal.kind is RenalMeasure.CKD_EPI_COMPUTED and egfr_inputs is not None:
            text = self._(
                "renal.ckd_epi",
                value=value,
                creatinine=self.lab(
                    Lab.CREATININE, egfr_inputs.creatinine_mg_per_dl, egfr_inputs.creatinine_on
                ),
                creatinine_day=self.day(egfr_inputs.creatinine_on),
                age=egfr_inputs.age,
                sex=self.sex(egfr_inputs.sex),
            )
        else:
            text = self._(
                "renal.value", name=self._(f"{m}.full"), value=value, unit=self._(f"{m}.unit"), day=day
            )
        other = renal.other
        if other is not None:
            o = f"measure.{other.kind.value}"
            same_day = (
                other.at is not None and renal.at is not None and iso_day(other.at) == iso_day(renal.at)
            )
            text += self._(
                "renal.other_same_day" if same_day else "renal.other",
                name=self._(f"{o}.full"),
                value=num(other.value, 1),
                unit=self._(f"{o}.unit"),
                day=self.day(other.at),
            )
        return text

    def renal_short(self, renal: RenalFunction) -> str:
        """For summaries: "eGFR 28 mL/min/1.73 m²", "CrCl (Cockcroft–Gault) 20 mL/min"."""
        return self._(f"measure.{renal.kind.value}.short", value=num(renal.value, 1))

    def calcium(self, calcium: SerumCalcium) -> str:
        """ "2.72 mmol/L on 2026-11-01 (albumin-corrected: measured 2.62 mmol/L, albumin 35 g/L)", each
        value in the unit the lab reported with the conversion in brackets."""
        day = self.day(calcium.at)
        if calcium.ionised:
            return self._("calcium.ionised", value=self.calcium_value(calcium), day=day)
        if calcium.albumin_g_per_l is None:
            return self._("calcium.as_measured", value=self.calcium_value(calcium), day=day)
        return self._(
            "calcium.corrected",
            value=self.calcium_value(calcium),
            day=day,
            measured=self.lab(Lab.CALCIUM, calcium.measured, calcium.at),
            albumin=num(calcium.albumin_g_per_l, 1),
        )

    def calcium_value(self, calcium: SerumCalcium, *, short: bool = False) -> str:
        """The calcium value that decides, with its unit ("7.2 mg/dL (1.80 mmol/L)"); ``short``: for a
        summary, in the reported unit only. A corrected value is written in its measured result's unit."""
        lab = Lab.IONISED_CALCIUM if calcium.ionised else Lab.CALCIUM
        of = calcium.measured if calcium.albumin_g_per_l is not None else None
        write = self.lab_short if short else self.lab
        return write(lab, calcium.value, calcium.at, of=of)

    # --- bone fragility -------------------------------------------------------------------------

    def fragility_items(self, bf: BoneFragility) -> list[str]:
        """Each reason the patient counts as having bone fragility, with its own values and dates."""
        items: list[str] = []
        for reason in bf.reasons:
            if reason is FragilityReason.OSTEOPOROSIS:
                since = bf.osteoporosis_since
                items.append(
                    self._("fragility.osteoporosis")
                    + (self._("fragility.since", day=self.day(since)) if since else "")
                )
            elif reason is FragilityReason.FRAGILITY_FRACTURE:
                on = bf.fracture_on
                items.append(
                    self._("fragility.fracture") + (self._("fragility.on", day=self.day(on)) if on else "")
                )
            elif reason is FragilityReason.T_SCORE and bf.t_score is not None:
                t = bf.t_score
                items.append(
                    self._(
                        "fragility.t_score",
                        value=num(t.value, 1),
                        site=self.bmd_site(t.site),
                        day=self.day(t.on),
                    )
                )
            elif reason is FragilityReason.ANTI_OSTEOPOROSIS_DRUG:
                items.append(
                    self._("fragility.drug", drug=self.drug_named(bf.drug or ""))
                    + (self._("fragility.drug_on", day=self.day(bf.drug_on)) if bf.drug_on else "")
                )
        return items

    def fragility_block(self, bf: BoneFragility) -> str:
        """A heading and the reasons, for a card's detail."""
        return self._("fragility.heading") + self.fragility_inline(bf)

    def fragility_inline(self, bf: BoneFragility) -> str:
        """The reasons in one line, for a sentence."""
        return self.join(self.fragility_items(bf))

    # --- orders ---------------------------------------------------------------------------------

    def orders(self, orders: DrugOrders) -> str:
        """ "**Draft order:** X" at order time; "**Active order:** X (ordered 2024-03-01)" from the chart."""
        many = len(orders.names) > 1
        if orders.ordered is None:
            label = self._("orders.drafts" if many else "orders.draft")
            items = list(orders.names)
        else:
            label = self._("orders.actives" if many else "orders.active")
            items = [
                self._("orders.with_date", name=name, day=self.day(day))
                if day
                else self._("orders.without_date", name=name)
                for name, day in zip(orders.names, orders.ordered, strict=True)
            ]
        return self._("orders.line", label=label, items=self.join(items))

    # --- sources --------------------------------------------------------------------------------

    def source_label(self, source: SourceRef) -> str:
        """ "Zuo & Yang 2025 · T2DM with osteoporosis, section 3": the review by authors, year, section."""
        return self._(f"reviews.{source.review}.label", sections=self._sections(source))

    def source_url(self, source: SourceRef) -> str | None:
        """The review's DOI link; None for a review without one (the card links its rule page instead)."""
        return self._t["reviews"][source.review].get("url")

    def source_line(self, sources: Iterable[SourceRef]) -> str:
        """The one line of source a card's detail ends with: each review and section, and plain-word sources."""
        cited = self.join(
            self._(f"reviews.{s.review}.short", sections=self._sections(s))
            + (self._("citation.also", also=s.also) if s.also else "")
            for s in sources
        )
        return self._("citation.line", cited=cited)

    def _sections(self, source: SourceRef) -> str:
        key = "citation.sections" if len(source.sections) > 1 else "citation.section"
        return self._(key, n=self._("citation.section_separator").join(source.sections))

    # --- time and drugs ---------------------------------------------------------------------------

    def relative_day(self, day: date, today: date) -> str:
        """A date relative to today in words: "now", "in 73 days", "12 days ago" (overdue)."""
        delta = (day - today).days
        if delta == 0:
            return self._("relative.today")
        if delta > 0:
            return self._("relative.future", n=delta)
        return self._("relative.past", n=-delta)

    def drug(self, key: str) -> str:
        """A drug's name from the glossary every card uses ("alendronate", "阿仑膦酸钠")."""
        return self._(f"glossary.{key}")

    def drug_named(self, name: str) -> str:
        """The glossary name of the drug a record calls ``name`` ("1 ML denosumab 60 MG/ML Prefilled
        Syringe [Prolia]" → "denosumab"), so that a card quoting what the patient took stays short; the
        name as recorded when it names no glossary drug, or more than one."""
        text = name.lower()
        found = [key for key, marks in _drug_names().items() if any(m in text for m in marks)]
        return self.drug(found[0]) if len(found) == 1 else name


@cache
def _drug_names() -> dict[str, tuple[str, ...]]:
    """Glossary key → the marks that recognise it in a recorded name (``drug_names.json``)."""
    data = json.loads(resources.files("service.cards").joinpath("drug_names.json").read_text("utf-8"))
    return {key: tuple(marks) for key, marks in data.items() if not key.startswith("_")}


@cache
def phrases(language: str) -> Phrases:
    return Phrases(language)
