"""Bounded Prometheus label sets: the top values of a label keep their name, the rest are
summed under "other", so a campaign or rep explosion cannot explode the series count.

Pure. Each worker picks its top values from the partitions it owns, so two replicas may cap
different values: sum() over replicas stays exact, a per-value split may name a value on one
replica that another counts under "other".
"""

from __future__ import annotations

from collections.abc import Mapping

from services.analytics.tally import Number

OTHER = "other"


def top_values(weights: Mapping[str, Number], limit: int) -> frozenset[str]:
    """The `limit` values of largest weight (ties broken by name); all of them when few enough."""
    if len(weights) <= limit:
        return frozenset(weights)
    ranked = sorted(weights, key=lambda value: (-weights[value], value))
    return frozenset(ranked[:limit])


def capped(rows: Mapping[str, Mapping[str, Number]], weight: str, limit: int) -> dict[str, dict[str, Number]]:
    """Rows by label value with values outside the top `limit` (by the `weight` column) summed
    under OTHER; a value literally named "other" joins that row."""
    kept = top_values({value: row.get(weight, 0) for value, row in rows.items()}, limit)
    merged: dict[str, dict[str, Number]] = {}
    for value, row in rows.items():
        into = merged.setdefault(value if value in kept else OTHER, {})
        for column, number in row.items():
            into[column] = into.get(column, 0) + number
    return merged
