# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HUB_DATABASE_URL ?= sqlite+aiosqlite:///./var/hub.db
export HUB_HOST ?= 127.0.0.1
export HUB_PORT ?= 8000

.PHONY: all venv system-deps run test lint types unit demo screenshots bench-ingest bench-push bench-snapshots bench-timers bench-reports fuzz fuzz-stateful chaos ws-fuzz soak clean

all: test

$(STAMP): pyproject.toml
	@echo "== creating $(VENV) and installing the hub with its dev tools"
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash deploy/system-deps.sh

run: venv
	$(BIN)/hub migrate
	$(BIN)/hub demo --if-empty
	$(BIN)/hub serve --no-migrate

demo: venv
	$(BIN)/hub demo

lint: venv
	$(BIN)/ruff check .

types: venv
	$(BIN)/mypy hub workers tests

unit: venv system-deps
	$(BIN)/pytest -q

test: venv system-deps lint types unit

# The browser tests write their screenshots under test-artifacts/; this writes the README's.
screenshots: venv system-deps
	HUB_TEST_SCREENS_DIR=$(CURDIR)/docs/screens $(BIN)/pytest -q tests/test_screens.py

fuzz: venv
	$(BIN)/python -m tests.fuzz.run --max-examples 200 --max-time 540

# Every phase including the stateful one (links inferred from the schema); counts the
# requests it made from the HAR it records and fails below 10,000.
fuzz-stateful: venv
	$(BIN)/python -m tests.fuzz.run --phases examples,coverage,fuzzing,stateful \
		--max-examples 1000 --max-time 540 --workers 4 \
		--har bench-results/fuzz-stateful.har --min-requests 10000

# The reliability suite (docs/reliability.md): real PostgreSQL, Redis, hubs and workers on
# 127.0.0.1, each run bounded and self-stopping; not part of `make test`. Shorter runs:
# make chaos CHAOS_ARGS="--cases 1500 --rate 15"; make soak SOAK_ARGS="--minutes 3".
CHAOS_ARGS ?= --cases 10000 --rate 25
WS_FUZZ_ARGS ?= --frames 200000
SOAK_ARGS ?= --minutes 30

chaos: venv system-deps
	$(BIN)/python -m tests.reliability.chaos $(CHAOS_ARGS)

ws-fuzz: venv system-deps
	$(BIN)/python -m tests.reliability.wsfuzz $(WS_FUZZ_ARGS)

soak: venv system-deps
	$(BIN)/python -m tests.reliability.soak $(SOAK_ARGS)

bench-ingest: venv system-deps
	$(BIN)/python -m tests.bench.ingest

bench-push: venv system-deps
	$(BIN)/python -m tests.bench.push

bench-snapshots: venv
	$(BIN)/python -m tests.bench.push_snapshots

bench-timers: venv
	$(BIN)/python -m tests.bench.timers

bench-reports: venv
	$(BIN)/python -m tests.bench.reports

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
