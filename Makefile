# The two commands a new user needs: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCALE ?= xs
SEED ?= 42
export MARKETING_HOME ?= $(CURDIR)/data
export GX_ANALYTICS_ENABLED := false
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lock test-reliability airflow docs lint bench bench-ingest bench-seeds bench-real bench-forecast bench-simulate bench-scale-up bench-personas bench-personalize bench-report bench-identity bench-social bench-orchestration clean help

help:
	@echo "make run     set up .venv, simulate sample data if none, run the daily DAG"
	@echo "make test    set up .venv, run the whole test suite"
	@echo "make test-reliability  only tests/reliability/: kills, signals, concurrent runs, reruns"
	@echo "make airflow Airflow UI (airflow standalone) on http://localhost:8080, for scheduling"
	@echo "make docs    dbt docs of the warehouse models (lineage, columns, tests)"
	@echo "make lint    ruff"
	@echo "make lock    recompile requirements.lock and requirements-dev.lock (UPGRADE=1 to move)"
	@echo "make bench   benchmark the daily run (SCALE=xs|s|m|l)"
	@echo "make bench-ingest    ingest beside bare DuckDB, back to back (SCALE=m ROUNDS=2)"
	@echo "make bench-seeds     model quality over several simulated worlds (SCALE=s SEEDS='1 2 3')"
	@echo "make bench-real      the real orders shops, scored after a cutoff beside simple rivals"
	@echo "make bench-forecast  units forecast and its rivals: backtest, then the weeks that followed"
	@echo "make bench-simulate  the simulator alone, world deleted after (SCALE=l DAYS=365)"
	@echo "make bench-scale-up  churn scoring and personas at 10x a bench run (SCALE=m: 1M)"
	@echo "make bench-personas  persona model beside GaussianMixture and KMeans (DATA=orii|sim|olist)"
	@echo "make bench-report    the report's bytes and render time in headless Chromium (SCALE=m)"
	@echo "make bench-identity  the probabilistic identity matcher on ~100k records (PEOPLE=65000)"
	@echo "make bench-social    the post theme each persona responds to, against the truth (SCALE=s)"
	@echo "make bench-orchestration  a one-day run's orchestration beside its work (SCALE=s)"
	@echo "make clean   remove .venv and data/"

# One venv from the two locks, rebuilt when a lock or pyproject.toml changes: the runtime set
# (requirements.lock: all that `make run` needs), then the test and lint tools on top
# (requirements-dev.lock holds the runtime set at the same versions, plus those). Every file is
# checked against the lock's hashes and nothing outside the locks is resolved (--no-deps).
# pip itself is pinned too, so a new pip release does not change how a fixed lock installs.
$(VENV)/.installed: requirements.lock requirements-dev.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.3
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# Recompile both locks from requirements.in and requirements-dev.in (after editing a pin there).
# Versions already in a lock are kept unless the inputs force a change; UPGRADE=1 moves every
# unpinned transitive package to its newest release that the pins allow. The resolution is
# universal (every OS, Python >= 3.11), so the lock holds hashes for every platform's files.
# Airflow's own constraints file (constraints-3.3.2/constraints-3.11.txt) is published only on
# GitHub, which this project's machines cannot reach, and no registry package ships it: Airflow's
# bounds are honoured through the Requires-Dist of its packages, which the resolver obeys and
# tests/unit/test_packaging.py checks against the lock.
LOCK_FLAGS := --quiet --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade,)
lock: $(VENV)/.installed
	$(BIN)/uv pip compile requirements.in -o requirements.lock $(LOCK_FLAGS)
	$(BIN)/uv pip compile requirements-dev.in -o requirements-dev.lock $(LOCK_FLAGS)

run: $(VENV)/.installed
	$(BIN)/marketing simulate --if-empty --scale $(SCALE) --seed $(SEED)
	$(BIN)/marketing run $(if $(DATE),--date $(DATE),)

# The report's tests render it in Debian's Chromium, headless (tests/browser/). Installed once
# with apt-get where this machine has none and make runs as root; otherwise make says what to do.
export CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "make: the report's browser tests need Chromium at $(CHROMIUM): run 'sudo apt-get install chromium', or set CHROMIUM=/path/to/chromium" >&2; exit 1; \
	fi

# One pytest worker per core; each test module stays on one worker, so a module's costly world
# (a simulated shop after a DAG run) is built once. PYTEST_WORKERS=0 runs in this process.
PYTEST_WORKERS ?= auto
test: $(VENV)/.installed $(CHROMIUM)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

# The tests `make test` runs from tests/reliability/ (and the incremental models' days), on
# their own and at full size: a daily run killed before every task, not only at the few
# boundaries CI kills it at (xs worlds), identity's keys over 30 daily runs, not 6, and the
# incremental models over 30 days one at a time, not 10.
test-reliability: $(VENV)/.installed
	MARKETING_TEST_BOUNDARIES=all MARKETING_TEST_IDENTITY_DAYS=30 \
	MARKETING_TEST_INCREMENTAL_DAYS=30 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) \
		--dist loadscope tests/reliability tests/integration/test_incremental_models.py \
		$(PYTEST_ARGS)

# Airflow keeps its state in $(MARKETING_HOME)/airflow unless AIRFLOW_HOME is set.
airflow: $(VENV)/.installed
	$(BIN)/marketing airflow standalone

docs: $(VENV)/.installed
	$(BIN)/marketing docs $(if $(DATE),--date $(DATE),)

lint: $(VENV)/.installed
	$(BIN)/ruff check pipelines dags tests bench simulator

bench: $(VENV)/.installed
	$(BIN)/python -m bench --scale $(SCALE) --seed $(SEED)

bench-ingest: $(VENV)/.installed
	$(BIN)/python -m bench.ingest --scale $(SCALE) --seed $(SEED) --rounds $(or $(ROUNDS),2)

bench-seeds: $(VENV)/.installed
	$(BIN)/python -m bench.seeds --scale $(SCALE) --seeds $(or $(SEEDS),1 2 3)

# The whole real orders shops of ../shared/data/real (or MARKETING_REAL_DATA), scored against
# what happened after a cutoff beside the simple rivals.
bench-real: $(VENV)/.installed
	$(BIN)/python -m bench.real $(if $(SHOPS),--shops $(SHOPS),)

# The units forecast beside its rivals on a simulated shop (DAYS: its years of history, in
# days; several run one after another) and on Online Retail II, then against the weeks that
# really followed.
bench-forecast: $(VENV)/.installed
	$(BIN)/python -m bench.forecast --scale $(SCALE) --seed $(SEED) --history-days $(or $(DAYS),730)

bench-simulate: $(VENV)/.installed
	$(BIN)/python -m bench.simulate --scale $(SCALE) --seed $(SEED) --history-days $(or $(DAYS),365)

bench-scale-up: $(VENV)/.installed
	$(BIN)/python -m bench.scale_up --scale $(SCALE) --seed $(SEED) --times 10

# Recommendations, send times and subject lines against the simulator's truth, per seed.
bench-personalize: $(VENV)/.installed
	$(BIN)/python -m bench.personalize --scale $(SCALE) --seeds $(or $(SEEDS),1 2 3)

bench-personas: $(VENV)/.installed
	$(BIN)/python -m bench.personas_compare --data $(or $(DATA),orii) --scale $(SCALE) --seed $(SEED)

# The probabilistic identity matcher: train, full and incremental match on a synthetic
# population with known truth (PEOPLE=65000 is about 100k records).
bench-identity: $(VENV)/.installed
	$(BIN)/python -m bench.identity_fuzzy --people $(or $(PEOPLE),65000) --new $(or $(NEW),1000)

# The daily run on the bench world, then each hidden persona's favourite post theme against the
# theme its matched persona ranks first (reports.rpt_social_persona_content).
bench-social: $(VENV)/.installed
	$(BIN)/python -m bench.social_themes --scale $(or $(SCALE),s) --seed $(or $(SEED),42)

# A one-day `marketing run` through Airflow on the bench world, its wall time split into
# orchestration (Airflow and the CLI outside the tasks, dbt's start-up and parse, imports) and work.
bench-orchestration: $(VENV)/.installed
	$(BIN)/python -m bench.orchestration --scale $(or $(SCALE),s) --seed $(or $(SEED),42)

# The report's size and its render time in Chromium (median of 5 loads), beside the quality
# pages' index, for a daily run on the bench world. SCALE defaults to m here (the scale the
# report's targets are set for), not xs; REUSE=1 rebuilds only the report on the last run.
bench-report: $(VENV)/.installed $(CHROMIUM)
	$(BIN)/python -m bench.report --scale $(if $(filter command line environment,$(origin SCALE)),$(SCALE),m) \
		--seed $(SEED) $(if $(REUSE),--reuse,)

clean:
	rm -rf $(VENV) data dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
