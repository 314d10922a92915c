# Two commands for newcomers: `make up` runs the whole system, `make test` runs every test.
# Both create .venv on first use and install into it exactly what requirements-dev.lock
# pins (hashes checked), then this project itself (editable, with no dependencies of its
# own: the lock holds them all).
# `make lint` runs the static checks alone (ruff, mypy, import-linter); `make test` runs
# them before every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The lock files are exports of uv.lock: requirements.lock is what a deployment runs
# (render.yaml's buildCommand installs it), requirements-dev.lock adds the `dev` extra
# (tests, linters, the embedded PostgreSQL server, uv itself), requirements-bench.lock
# the `bench` extra too (numpy, for `make bench`).
EXPORT := $(BIN)/uv export --quiet --frozen --no-dev --no-emit-project --format requirements.txt

.PHONY: up test lint lock lock-check bench clean ts-client screenshots

$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/navigator up

test: lock-check lint
	$(BIN)/pytest

# The static checks alone: ruff, mypy and the import-linter contracts (the layers).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# After changing a dependency in pyproject.toml: resolve again and rewrite both exports.
# `uv lock --upgrade` (or `--upgrade-package NAME`) moves to newer versions within the bounds.
lock: $(STAMP)
	$(BIN)/uv lock
	$(EXPORT) > requirements.lock
	$(EXPORT) --extra dev > requirements-dev.lock
	$(EXPORT) --extra dev --extra bench > requirements-bench.lock

# CI: uv.lock still satisfies pyproject.toml, and both exports are what uv.lock says.
lock-check: $(STAMP)
	$(BIN)/uv lock --locked
	@$(EXPORT) | cmp -s - requirements.lock \
		|| { echo "requirements.lock does not match uv.lock: run make lock" >&2; exit 1; }
	@$(EXPORT) --extra dev | cmp -s - requirements-dev.lock \
		|| { echo "requirements-dev.lock does not match uv.lock: run make lock" >&2; exit 1; }
	@$(EXPORT) --extra dev --extra bench | cmp -s - requirements-bench.lock \
		|| { echo "requirements-bench.lock does not match uv.lock: run make lock" >&2; exit 1; }

bench: $(STAMP)
	$(BIN)/pip install --quiet --require-hashes -r requirements-bench.lock
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.queue
	$(BIN)/python -m bench.embedding
	$(BIN)/python -m bench.pipeline

# The API's TypeScript client (CI runs it; needs node and npm): the OpenAPI document the
# code serves, the types openapi-typescript generates from it (clients/typescript/schema.d.ts,
# not checked in), then the compiler checks the client and its example against them. A
# schema that cannot produce a client fails here.
ts-client: $(STAMP) node_modules/.installed
	$(BIN)/python -m entrypoints.api.openapi_document build/openapi.json
	npx --no-install openapi-typescript build/openapi.json --output clients/typescript/schema.d.ts
	npx --no-install tsc -p clients/typescript

# Exactly what package-lock.json pins (integrity checked), as `make` does for Python.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# docs/screenshots/*.png, one per state of the member's page, taken by its browser test
# (needs Chromium and chromium-driver: `apt-get install chromium chromium-driver`).
screenshots: $(STAMP)
	NAVIGATOR_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules build
