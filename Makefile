# salesflow — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_RUN_DIR := .local/test

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-z][a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required (set PYTHON=...)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@mkdir -p .local
	@echo "installing salesflow and its dev tools into $(VENV) (log: .local/install.log)"
	@{ $(PY) -m pip install --upgrade pip && $(PY) -m pip install -e '.[dev]'; } > .local/install.log 2>&1 \
	  || { tail -30 .local/install.log; exit 1; }
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install salesflow with its dev tools

tools: ## install the system tools the deploy checks use (promtool, kubectl) when missing
	@bash scripts/install-tools.sh

dev-up: install ## start broker, Redis, topics, roster and every service in the background (.local/)
	@$(PY) -m tools.devstack up

dev-down: ## stop what dev-up started
	@$(PY) -m tools.devstack down

mail: ## list the emails the local SMTP sink received (.local/mail)
	@$(PY) -m tools.smtp_sink list --dir .local/mail

check-nurture: ## on a running dev stack: a lead gets its first email, replies, and gets no more
	@$(PY) -m tools.nurture_check

walkthrough: ## on a running dev stack: a lead becomes a deal, is quoted with approval, accepted and won
	@$(PY) -m tools.deal_walkthrough

status: ## what the local stack runs
	@$(PY) -m tools.devstack status

run: dev-up ## the local stack plus demo traffic and a live summary; Ctrl-C stops everything
	@trap '$(PY) -m tools.devstack down' EXIT; \
	$(PY) -m tools.demo --api-key "$$($(PY) -m tools.devstack api-key)" || true

test: install tools ## unit, integration and deploy tests against a real broker and Redis
	@export SALESFLOW_RUN_DIR=$(TEST_RUN_DIR); \
	$(PY) -m tools.devstack up --infra-only && \
	trap '$(PY) -m tools.devstack down' EXIT; \
	$(PY) -m pytest -q -p no:cacheprovider -m 'not faults' --durations=25

bench: install ## throughput and latency benchmarks on the local stack (not part of test); see docs/performance.md
	@$(PY) -m bench

chaos: install tools ## fault scenarios (kills, broker and Redis outages, SMTP failures) with a reconciliation table
	@export SALESFLOW_RUN_DIR=$(TEST_RUN_DIR); \
	$(PY) -m tools.devstack up --infra-only && \
	trap '$(PY) -m tools.devstack down' EXIT; \
	$(PY) -m pytest -q -p no:cacheprovider -m faults tests/faults

audit: install ## known vulnerabilities in the locked dependencies (pip-audit; needs PyPI's advisory API)
	@$(VENV)/bin/pip-audit -r requirements.lock --progress-spinner off

images: ## build every service image (needs a Docker engine)
	@for s in ingest scoring routing nurture opportunity proposal analytics; do \
	  docker build -f services/$$s/Dockerfile -t salesflow/$$s:dev . || exit 1; done

unit: install ## the pure tests only (no broker, no Redis)
	@$(PY) -m pytest -q -p no:cacheprovider -m 'not integration and not deploy and not faults'

lint: install ## ruff, mypy --strict and the import contracts
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m mypy shared services tools
	@$(VENV)/bin/lint-imports

format: install ## apply ruff's formatting and safe fixes
	@$(PY) -m ruff format .
	@$(PY) -m ruff check --fix .

clean: dev-down ## remove local state (.local) and caches
	@rm -rf .local .pytest_cache .mypy_cache .ruff_cache

.PHONY: help install tools dev-up dev-down status mail check-nurture walkthrough run test bench chaos audit images unit lint format clean
