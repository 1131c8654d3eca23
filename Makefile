# datainfra — the README's commands. Everything runs from the project's own virtualenv (.venv),
# created and kept in step with pyproject.toml on first use. `make run` installs only what running
# needs (the runtime dependencies); the targets that test, lint or measure add the dev extras
# (`.[dev]`). One stamp for each, so a run after a test installs nothing and a test after a run adds
# only the dev tools; both are redone when pyproject.toml changes.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install install-dev run test test-unit tck lint fmt bench clean up down logs compose-check

help:
	@echo "make run    start the API (http://127.0.0.1:8000, docs at /schema)"
	@echo "make test   lint, then every test (starts its own PostgreSQL and Neo4j)"
	@echo "make test-unit   the fast loop: every test that needs no server (no PostgreSQL, no Neo4j started)"
	@echo "make tck    the openCypher TCK (../shared/tck) straight on Neo4j and through the query endpoint: the table"
	@echo "make lint   ruff, mypy, import contracts"
	@echo "make fmt    format the code"
	@echo "make bench  benchmarks: API vs raw drivers (BENCH_SCALE=0.01 for a quick run)"
	@echo "make up / make down / make logs   the Docker Compose deployment"
	@echo "make up     build the image and start api + postgres + neo4j with Docker Compose (needs deploy/.env)"
	@echo "make down   stop them (data stays in the named volumes)"
	@echo "make logs   follow their logs"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (set PYTHON=...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The runtime dependencies only: what `python -m datainfra` imports.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The runtime dependencies and the dev extras (a superset: it also satisfies the run stamp), and the
# Python client (clients/python, editable) whose tests (tests/client) `make test` runs.
$(DEV_STAMP): pyproject.toml clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./clients/python
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

install-dev: $(DEV_STAMP)

run: $(RUN_STAMP)
	$(BIN)/python -m datainfra

# The client (clients/python) has its own ruff and mypy settings (mypy --strict) in its pyproject.toml.
lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests clients/python
	$(BIN)/ruff format --check src tests clients/python
	$(BIN)/mypy
	cd clients/python && $(abspath $(BIN))/mypy
	$(BIN)/lint-imports

fmt: $(DEV_STAMP)
	$(BIN)/ruff format src tests clients/python
	$(BIN)/ruff check --fix src tests clients/python

# pytest exits 5 when it collected no test: that is a failure here, never a silent pass.
test: lint
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The fast loop: every test not marked postgres/neo4j (tests/unit, the in-memory half of the contract
# suites, any other server-free test). DATAINFRA_TEST_NO_SERVERS makes a test that reaches for a real
# store anyway fail, naming the marker it lacks (tests/support/no_servers.py), so no server starts.
test-unit: $(DEV_STAMP)
	@DATAINFRA_TEST_NO_SERVERS=1 $(BIN)/python -m pytest -m "not postgres and not neo4j" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-unit: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The openCypher TCK (issue 11): every scenario of ../shared/tck (or $$DATAINFRA_TCK_DIR) straight on a
# Neo4j the test starts and through the query endpoint; prints the per-folder table and writes
# build/tck-report.json (each scenario that differs, with its cause). `make test` runs it too.
tck: $(DEV_STAMP)
	@$(BIN)/python -m pytest tests/tck -m neo4j -p no:cacheprovider -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The benchmark suite of issue 12: starts its own PostgreSQL, Neo4j and API (sizes: BENCH_SCALE,
# BENCH_ROWS, BENCH_LINEITEM_ROWS, BENCH_NODES, BENCH_EDGES, BENCH_CLIENTS, ...; see bench/config.py), runs
# every phase (uploads, get, lineitem, export, graph, sql) and writes bench/results/latest.json plus a dated
# copy. Fails only when a phase failed (it is reported as such; the other phases still run and print).
# Loads, filtered GETs and graph writes/reads through the API vs the raw drivers, then exports (CSV,
# NDJSON) vs COPY TO STDOUT with the API's RSS growth; then the scale-out phase: N tenants loading and
# reading at once on Citus with 1 and 2 workers vs plain PostgreSQL (Citus built once, cached; without the
# Citus source its figures are listed as not measured). BENCH_SCALE=0.01 for a quick run.
bench: $(DEV_STAMP)
	$(BIN)/python -m bench

# Docker Compose deployment (compose.yaml): the API image beside PostgreSQL and Neo4j. Uses the
# `docker compose` plugin, else the standalone `docker-compose`; both need a running Docker engine.
ENV_FILE := deploy/.env
# COMPOSE_FILE=compose.citus.yaml: the same targets with a Citus coordinator and two workers.
COMPOSE_FILE ?= compose.yaml
COMPOSE = $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; \
	elif command -v docker-compose >/dev/null 2>&1; then echo docker-compose; fi) --env-file $(ENV_FILE) -f $(COMPOSE_FILE)

compose-check:
	@docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || { \
	  echo "make: neither 'docker compose' nor 'docker-compose' is installed (install Docker Engine with the compose plugin)" >&2; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "make: no Docker engine is reachable (is the docker daemon running? see 'docker info')" >&2; exit 1; }
	@test -f $(ENV_FILE) || { echo "make: $(ENV_FILE) is missing: cp deploy/.env.example $(ENV_FILE), then set POSTGRES_PASSWORD and NEO4J_PASSWORD" >&2; exit 1; }

up: compose-check
	$(COMPOSE) up -d --build
	@echo "datainfra: http://127.0.0.1:$${API_PORT:-8000} (docs at /schema, metrics at /metrics)"

down: compose-check
	$(COMPOSE) down

logs: compose-check
	$(COMPOSE) logs -f --tail=200
