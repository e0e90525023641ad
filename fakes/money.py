"""Money a change to a deal puts at risk: one rule for the fake, the gateway's bounds and the scorer.

Judged on the record before and after, never on the call that made the change, so every path to the
same state gives the same figure (a discount set while the amount was 0 and the amount raised later
exposes as much as both at once).
"""

from __future__ import annotations


def _num(record: dict | None, field: str) -> float:
    try:
        return float((record or {}).get(field) or 0)
    except (TypeError, ValueError):
        return 0.0


def deal_exposure(before: dict | None, after: dict | None, reference_pct: float | None = None,
                  reference_amount: float | None = None) -> float:
    """Discount given on the new amount beyond ``reference_pct`` (default: the discount before), plus any
    amount taken off below ``reference_amount`` (default: the amount before). A deleted deal exposes its
    whole amount; a new one its discount."""
    if after is None:
        return round(_num(before, "amount"), 2) if before is not None else 0.0
    amount_after = _num(after, "amount") if "amount" in after or before is None else _num(before, "amount")
    reference = _num(before, "discount_pct") if reference_pct is None else float(reference_pct)
    floor = (_num(before, "amount") if before is not None else 0.0) if reference_amount is None \
        else float(reference_amount)
    given = amount_after * max(0.0, _num(after, "discount_pct") - reference) / 100.0
    taken = max(0.0, floor - amount_after)
    return round(given + taken, 2)
