"""Render the Prometheus Operator PrometheusRule from deploy/prometheus/rules.yml.

Run from the repository root after editing the rules: python deploy/prometheus/render_prometheusrule.py
It only copies the groups; it never edits a rule. tests/deploy checks the two files agree.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/rules.yml"
TARGET = ROOT / "deploy/k8s/base/monitoring/prometheusrule.yaml"
HEADER = "# Rendered from deploy/prometheus/rules.yml by deploy/prometheus/render_prometheusrule.py: do not edit.\n"


def render_prometheusrule(rules: dict[str, Any]) -> dict[str, Any]:
    """Wrap the rule file's groups, unchanged, in a PrometheusRule object."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "salesflow", "labels": {"app.kubernetes.io/part-of": "salesflow"}},
        "spec": {"groups": rules["groups"]},
    }


def main() -> int:
    rules = yaml.safe_load(RULES.read_text())
    text = yaml.safe_dump(render_prometheusrule(rules), sort_keys=False, width=100)
    TARGET.write_text(HEADER + text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
