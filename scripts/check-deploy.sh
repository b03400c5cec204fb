#!/usr/bin/env bash
# The deploy checks (tests/deploy): hadolint, the Compose schema, promtool check and unit tests,
# a real Prometheus loading the rules, kubectl kustomize, kubernetes-validate, the dashboards.
# Needs Debian's prometheus and kubectl, and the PyPI tools of the dev extra (see docs/operations.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
exec "$PY" -m pytest -q -p no:cacheprovider -m deploy tests/deploy "$@"
