# Every target creates the virtual environment first if it is missing (or out of date).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PIP_VERSION := 26.3
export PYTHONHASHSEED := 0
# Stage commands in dvc.yaml call `python`: make it the project's.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.DEFAULT_GOAL := help
.PHONY: help env repro test browser report-png lint format bench-generate bench-ingest bench-features bench-score bench-measurement bench-uplift bench-real compare-cltv mlflow-ui lock clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "pip==$(PIP_VERSION)"
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

env: $(STAMP) ## Create .venv and install the pinned dependencies

repro: $(STAMP) ## Run the whole DVC pipeline on the default (synthetic) data
	$(VENV)/bin/dvc repro

lint: $(STAMP) ## Ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP) ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint browser ## Lint, then the test suite (slow end-to-end tests included)
	$(PY) -m pytest

browser: ## Install Debian's chromium for the report's browser test, if missing (apt-get; never fails)
	@scripts/install_chromium.sh

report-png: $(STAMP) browser ## Screenshot exports/latest/report.html to docs/report.png (after make repro)
	$(PY) -m reporting.browser exports/latest/report.html docs/report.png

bench-generate: $(STAMP) ## Benchmark the synthetic generator (about 10M events)
	$(PY) scripts/bench_generate.py --customers 150000

bench-ingest: $(STAMP) ## Benchmark validation + write of about 10M events
	$(PY) scripts/bench_ingest.py --customers 150000

bench-features: $(STAMP) ## Benchmark one feature snapshot: DuckDB vs pandas at 2M and 20M events
	$(PY) scripts/bench_features.py --events 2e6 2e7

bench-score: $(STAMP) ## Benchmark scoring + exact SHAP reasons for 1M customers x 3 models (after make repro)
	$(PY) scripts/bench_score.py --customers 1000000

bench-measurement: $(STAMP) ## Coverage of measured campaign lifts over 100 seeded campaigns: reports/bench_measurement.json
	$(PY) scripts/bench_measurement.py --seeds 100

bench-uplift: $(STAMP) ## Held-out Qini of the uplift learners over 20 seeded campaigns per scenario: reports/bench_uplift.json
	$(PY) scripts/bench_uplift.py --seeds 20

bench-real: $(STAMP) ## Whole pipeline on the real Online Retail II data (full, sample, 9 months): reports/bench_real.json
	$(PY) scripts/bench_real.py

compare-cltv: $(STAMP) ## Tweedie vs two-part CLTV on the holdout (after make repro)
	$(PY) scripts/compare_cltv_objectives.py

mlflow-ui: $(STAMP) ## Start the MLflow UI on the local tracking store
	@echo "MLflow UI: http://127.0.0.1:5000  (store: $${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db})"
	$(VENV)/bin/mlflow ui --backend-store-uri "$${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db}" --host 127.0.0.1 --port 5000

lock: $(STAMP) ## Re-pin requirements.lock from the current environment
	{ echo "# Exact versions installed by 'make' (pip install -c requirements.lock -e .[dev]); regenerate with 'make lock'."; \
	  $(VENV)/bin/pip freeze --exclude-editable | sort -f; } > requirements.lock

# Every output of dvc.yaml's stages (tests/test_dvc_yaml.py checks), the id salt among them, and the
# tracking stores; not the committed benchmark results in reports/ (bench_*.json, cltv_objective.json).
STAGE_OUTPUTS := data/raw/synthetic data/validated data/features data/bgnbd data/models data/optuna \
	reports/ingest.json reports/features.json reports/train reports/evaluate exports data/.id_salt \
	reports/measurement.json reports/measurement.html data/campaign
clean: ## Remove pipeline outputs (not the environment, nor the benchmark results in reports/)
	rm -rf $(STAGE_OUTPUTS) mlflow.db optuna.db mlartifacts mlruns
