"""Per-step, per-variant counts of sends, opens, clicks and replies, and the A/B verdict on them.

Pure: counts come in as a flat mapping (as stored in one Redis hash per sequence); no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.nurture.sequences import Sequence, Step
from services.nurture.variants import two_proportion_test

METRICS = ("sends", "opens", "clicks", "replies")
# The engagement types counted, at most once per email (so opens never exceed sends).
ENGAGEMENT_METRICS: Mapping[str, str] = {"email_open": "opens", "email_click": "clicks", "email_reply": "replies"}


def counter_field(step_id: str, variant: str, metric: str) -> str:
    """The field of the sequence's hash that counts `metric` for one variant of one step."""
    return f"{step_id}|{variant}|{metric}"


def _variant_counts(step: Step, variant: str, counts: Mapping[str, int]) -> dict[str, Any]:
    numbers = {metric: int(counts.get(counter_field(step.step_id, variant, metric), 0)) for metric in METRICS}
    sends = numbers["sends"]
    rates = {f"{metric}_rate": (numbers[metric] / sends if sends else 0.0) for metric in METRICS[1:]}
    return {"variant": variant} | numbers | rates


def _ab_tests(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each variant against the first (the control), per engagement metric."""
    control, tests = variants[0], []
    for other in variants[1:]:
        for metric in METRICS[1:]:
            # A crash between a send and its count can leave a success without its trial.
            result = two_proportion_test(
                min(control[metric], control["sends"]),
                control["sends"],
                min(other[metric], other["sends"]),
                other["sends"],
            )
            tests.append(
                {
                    "metric": metric,
                    "control": control["variant"],
                    "variant": other["variant"],
                    "z": round(result.z, 4),
                    "p_value": round(result.p_value, 6),
                    "significant": result.significant,
                }
            )
    return tests


def step_stats(sequence: Sequence, counts: Mapping[str, int]) -> list[dict[str, Any]]:
    """For each email step: its variants' counts and rates, and the two-proportion tests."""
    stats = []
    for step in sequence.steps:
        variants = [_variant_counts(step, v.name, counts) for v in step.variants]
        ab = _ab_tests(variants) if step.channel == "email" and len(variants) > 1 else []
        stats.append({"step_id": step.step_id, "channel": step.channel, "variants": variants, "ab_tests": ab})
    return stats
