# The README's commands. `make up` runs the whole topology natively; `make test`
# is what CI runs (.ci/run), so what a newcomer runs is what CI runs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
BUF := dev/tools/node_modules/.bin/buf
PYTEST_ARGS ?=

.PHONY: help up down restart tools gen lint lint-py lint-proto compose-check test test-unit test-integration test-e2e bench bench-smoke clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

up: ## start PostgreSQL, Redis, Elasticsearch (ES_NODES nodes), ETL, API_REPLICAS gRPC servers, the auth service and Envoy (idempotent)
	./dev/stack.sh up

down: ## stop everything `make up` started (every node and replica, and the supervisor)
	./dev/stack.sh down

restart: down up ## stop, then start

tools: ## install what a fresh machine lacks (apt packages, venv from uv.lock, buf, grpcurl, stubs)
	./dev/stack.sh tools
	@[ -x $(BUF) ] || (cd dev/tools && npm ci --no-audit --no-fund --silent)

gen: ## generate Python stubs and Envoy's descriptor set from protos/
	./dev/gen.sh

lint: lint-py lint-proto compose-check ## every static check

lint-py:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lint-proto:
	$(BUF) lint protos

compose-check: ## validate compose.yml (no Docker engine needed) with .env.example's values
	docker-compose -f compose.yml --env-file .env.example config -q

test: tools up lint ## static checks, then every test tier against the running stack
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: ## unit tests only (no servers)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: ## integration tests against the real servers
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

test-e2e: ## end-to-end tests through Envoy's REST edge
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

bench: tools up ## the full benchmark suite (about 40 min on 2 cores); writes docs/benchmarks.md
	$(BIN)/python -m bench.run

bench-smoke: tools up ## every benchmark script for a second per point (what CI runs through pytest)
	$(BIN)/python -m bench.run --smoke --out .stack/bench-smoke.md --json .stack/bench-smoke.json

clean: down ## remove state, logs and generated code
	rm -rf .stack gen
