# corduroy: build, lint, test, demo.
#
# A fresh clone needs only Python 3.11+, Node 20 and npm:  make test
# `make help` lists the targets (from the `## ` comment on each target's line).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STANDIN := tools/couch-standin
# Only the dirs that exist (git does not keep empty ones).
LINT_PATHS := $(wildcard src tests bench examples tools)
# The stamps live inside the dirs they describe, so deleting the dir forces a rebuild.
VENV_STAMP := $(VENV)/.corduroy-installed
STANDIN_STAMP := $(STANDIN)/node_modules/.corduroy-installed

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: all help venv server-deps lint surface format docs docs-serve dist test demo bench clean

all: test

help: ## this list
	@echo "make TARGET, where TARGET is one of:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  \1|\2/' \
		| awk -F'|' '{ printf "  %-12s %s\n", $$1, $$2 }'

venv: $(VENV_STAMP) ## .venv with corduroy installed editable, plus [dev,tornado]
	@:

$(VENV_STAMP): pyproject.toml
	@echo "==> .venv: installing corduroy[dev,tornado] (editable) with $(PYTHON)"
	@test -n "$(PYTHON)" || { echo "error: python3.11 or python3 is required" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "error: $(PYTHON) is older than 3.11; run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# The distribution was renamed from corduroy: an old install (or its src/corduroy.egg-info)
	@# would register the pytest plugin twice.
	@$(BIN)/python -m pip uninstall --quiet --yes corduroy 2>/dev/null || true
	@rm -rf src/corduroy.egg-info
	@$(BIN)/python -m pip install --quiet -e '.[dev,tornado]'
	@touch $@

server-deps: $(STANDIN_STAMP) ## pouchdb-server 4.2.0 (the embedded test server) into tools/couch-standin
	@:

$(STANDIN_STAMP): $(STANDIN)/package.json $(STANDIN)/package-lock.json
	@echo "==> $(STANDIN): npm ci (pouchdb-server 4.2.0)"
	@command -v npm >/dev/null || { echo "error: npm (Node 20) is required" >&2; exit 1; }
	@npm ci --prefix $(STANDIN) --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

lint: venv ## ruff check, generated surfaces, import rules, mypy --strict
	@echo "==> ruff"
	@$(BIN)/ruff check $(LINT_PATHS)
	@$(BIN)/ruff format --check $(LINT_PATHS)
	@echo "==> typed surfaces up to date (tools/gen_surface.py), import rules (docs/architecture.md)"
	@$(BIN)/python tools/gen_surface.py --check
	@$(BIN)/python tools/check_imports.py
	@echo "==> mypy"
	@$(BIN)/mypy
	@$(BIN)/mypy --strict examples tests/typing

surface: venv ## regenerate corduroy.aio and the callback= overloads (tools/gen_surface.py)
	@$(BIN)/python tools/gen_surface.py

docs: venv ## the documentation site (mkdocs --strict) into site/; open site/index.html
	@echo "==> mkdocs (strict) into site/"
	@NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

format: venv ## ruff format over src tests bench examples (ruff check still judges the rest)
	@$(BIN)/ruff format $(LINT_PATHS)

docs-serve: venv ## the documentation site on http://127.0.0.1:8000/, rebuilt on every change
	@NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

dist: venv ## sdist and wheel into dist/, checked with twine check
	@echo "==> dist: sdist and wheel, twine check"
	@rm -rf dist
	@out=$$($(BIN)/python -m build --no-isolation --outdir dist . 2>&1) || { echo "$$out" >&2; exit 1; }
	@$(BIN)/twine check --strict dist/*

test: venv server-deps ## lint, docs, dist (twine check), then pytest (COUCHDB_URL: another server)
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory docs
	@$(MAKE) --no-print-directory dist
	@echo "==> pytest"
	@$(BIN)/pytest

demo: venv server-deps ## run examples/demo.py against an embedded server (or COUCHDB_URL)
	@$(BIN)/python examples/demo.py

BENCH_VENV := .bench-venv
BENCH_STAMP := $(BENCH_VENV)/.corduroy-installed
BENCH_ARGS ?=

# Each peer is installed on its own: one that cannot be installed shows as a failure in the table.
$(BENCH_STAMP): pyproject.toml bench/requirements-peers.txt
	@echo "==> $(BENCH_VENV): corduroy (editable) and the peers in bench/requirements-peers.txt"
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -m pip uninstall --quiet --yes corduroy 2>/dev/null || true
	@$(BENCH_VENV)/bin/python -m pip install --quiet -e .
	@sed -e 's/#.*//' -e '/^[[:space:]]*$$/d' bench/requirements-peers.txt | while read -r req; do \
		$(BENCH_VENV)/bin/python -m pip install --quiet "$$req" \
			|| echo "warning: cannot install $$req; it will show as failed in the table" >&2; \
	done
	@touch $@

bench: $(BENCH_STAMP) server-deps ## the comparison table (BENCH_ARGS=--quick: small counts; not in make test)
	@$(BENCH_VENV)/bin/python bench/run.py $(BENCH_ARGS)

clean: ## remove everything generated (.venv, node_modules, caches, builds)
	rm -rf $(VENV) $(STANDIN)/node_modules build dist site
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find src tests bench examples -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true
	find src -maxdepth 2 -name '*.egg-info' -type d -prune -exec rm -rf {} + 2>/dev/null || true
