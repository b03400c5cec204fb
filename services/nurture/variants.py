"""A/B variants: a deterministic choice per lead from weights, and a two-proportion z-test.

Pure: the choice hashes its inputs (no random state), so every replica and every retry agrees.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass


def choose_variant(lead_id: str, sequence_id: str, step_id: str, weights: Sequence[tuple[str, float]]) -> str:
    """The variant this lead gets at this step, in proportion to the (positive) weights."""
    if not weights or any(weight <= 0 for _, weight in weights):
        raise ValueError("need at least one variant, each with a positive weight")
    digest = hashlib.sha256(f"{lead_id}\x1f{sequence_id}\x1f{step_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * math.fsum(w for _, w in weights)
    cumulative = 0.0
    for name, weight in weights:
        cumulative += weight
        if point < cumulative:
            return name
    # Float rounding can leave `point` a hair above the last cumulative sum.
    return weights[-1][0]


@dataclass(frozen=True)
class ZTest:
    """Result of comparing two rates: z > 0 when A's rate is higher."""

    z: float
    p_value: float
    significant: bool


def two_proportion_test(
    successes_a: int,
    trials_a: int,
    successes_b: int,
    trials_b: int,
    alpha: float = 0.05,
) -> ZTest:
    """Two-sided pooled two-proportion z-test; no trials or no variance means no evidence."""
    if not (0 <= successes_a <= trials_a and 0 <= successes_b <= trials_b):
        raise ValueError("successes must lie between 0 and the number of trials")
    if trials_a == 0 or trials_b == 0:
        return ZTest(0.0, 1.0, False)
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if spread == 0:
        return ZTest(0.0, 1.0, False)
    z = (successes_a / trials_a - successes_b / trials_b) / spread
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return ZTest(z, p_value, p_value < alpha)
