"""Facts of the order-time drug-safety topics of revision 3: an oral bisphosphonate the patient cannot take
safely (T2DM review section 3), and a bone drug ordered in pregnancy (the product labels)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.kernel.clinical import DrugOrders, WithholdReason
from service.kernel.record import Lab


@dataclass(frozen=True, slots=True)
class OralUnsuitableFacts:
    """``oral-bisphosphonate-unsuitable``: the oral bisphosphonate drafts and why the oral form is unsuitable.

    ``bed_bound`` when the patient is bed-bound; ``oesophageal`` the oesophageal disorder's name as the
    chart shows it (None when there is none). ``zoledronic_acid_offered`` when the drug guard lets the card
    offer zoledronic acid in place of the draft, else ``withheld`` says why not; ``preparation`` the tests
    the suggestion orders with it to prepare the first infusion (a creatinine when renal function is known
    but none is within ``iv_renal_window_days``; a missing calcium or 25-OH vitamin D).
    """

    orders: DrugOrders
    bed_bound: bool
    oesophageal: str | None
    zoledronic_acid_offered: bool
    withheld: tuple[WithholdReason, ...]
    preparation: tuple[Lab, ...]
    iv_renal_window_days: int


@dataclass(frozen=True, slots=True)
class PregnancyDrugFacts:
    """``bone-drug-in-pregnancy``: the bone drug drafts, and the day the pregnancy is known from (the
    latest pregnancy Condition or positive pregnancy test within ``window_days``)."""

    orders: DrugOrders
    pregnant_since: date
    window_days: int
