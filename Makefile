# The one command surface: every target here is also a CI step (.ci/run).
# Each target that needs Python first creates .venv and installs the project into it.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --no-print-directory

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Two installs: the app with its local servers (run, servers, the ops targets), and everything
# (tests, linters, the code generator, the browser driver, the bot, the bench plots).
RUN_EXTRAS := devstack
DEV_EXTRAS := dev,devstack,bot,browser,bench
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
TIERS := tests/unit tests/integration tests/e2e tests/faults tests/fuzz
PYTEST_ARGS ?=
BACKUP_DIR ?= backups
RESTORE_MODE ?= drop
PROTO := proto/acai/chat/chat.proto

# The first python3.11+ found; evaluated only when .venv has to be created.
PYTHON3 ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && { echo $$p; break; }; done)

# $(call protoc,OUT_DIR): the code generator, one command for generate and gen-check.
protoc = PYTHON=$(PY) $(PY) -m grpc_tools.protoc -Iproto --python_out=$(1) --pyi_out=$(1) \
	--plugin=protoc-gen-twirp=codegen/protoc-gen-twirp --twirp_out=$(1) \
	--plugin=protoc-gen-openapi=codegen/protoc-gen-openapi --openapi_out=$(1) $(PROTO)

# $(call pytest,DIRS): pytest over DIRS; a tier with no tests yet (exit status 5) is not a failure.
pytest = $(PY) -m pytest $(1) $(PYTEST_ARGS) || { status=$$?; \
	if [[ $$status == 5 ]]; then echo "no tests in $(1) yet"; else exit $$status; fi; }

.PHONY: help install browser go run servers cluster test test-unit test-integration test-e2e test-faults \
	test-fuzz generate gen-check lint typecheck format migrate-up migrate-down migrate-status shard backup \
	restore owner-export owner-erase smoke bench clean

help: ## List the targets
	@echo "Usage: make TARGET   (each target creates .venv and installs the project when needed)"
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-17s %s\n", $$1, $$2}'

$(PY):
	@[[ -n "$(PYTHON3)" ]] && $(PYTHON3) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is required (python3 is $$(python3 --version 2>&1 ||" \
		"echo missing); tried '$(PYTHON3)'). Install it, or pass PYTHON3=/path/to/python3.11." >&2; \
		exit 1; }
	$(PYTHON3) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(PY)
	@echo "installing the app and its local servers into $(VENV) (about 80 packages, 340 MB;" \
		"a minute or so the first time)"
	$(PY) -m pip install -e '.[$(RUN_EXTRAS)]'
	@touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	@echo "installing the app with its test, lint, browser, bot and bench tools into $(VENV)" \
		"(about 120 packages, 860 MB; a minute or two the first time)"
	$(PY) -m pip install -e '.[$(DEV_EXTRAS)]'
	@touch $@ $(RUN_STAMP)

install: $(DEV_STAMP) ## Create .venv and install the project with every dev tool

# The browser tests (tests/e2e/test_web_page.py) drive Debian's chromium through Playwright and
# skip without it. Installing it takes about 25 s on a fresh Debian machine (113 MB download).
browser: ## Install Debian's chromium for the browser tests (apt-get; root or sudo)
	@if command -v chromium >/dev/null 2>&1; then echo "chromium is installed: $$(command -v chromium)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
		sudo=$$([[ $$(id -u) == 0 ]] || echo sudo); \
		$$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends chromium; \
	else echo "no apt-get here: install Chromium and set CHROMIUM_PATH (the browser tests skip without it)" >&2; fi

# The Go client test (tests/e2e/test_go_client.py) builds tests/clients/go offline in GOPATH mode
# with Debian's Go and protobuf sources, and skips without them. Installing them takes about 30 s
# on a fresh, idle Debian machine (82 MB download, 460 MB unpacked); no C compiler is needed.
GO_PROTOBUF_SRC := /usr/share/gocode/src/google.golang.org/protobuf
go: ## Install Debian's Go and Go protobuf sources for the Go client test (apt-get; root or sudo)
	@if command -v go >/dev/null 2>&1 && [[ -d $(GO_PROTOBUF_SRC) ]]; then \
		echo "go and the protobuf sources are installed: $$(go version)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
		sudo=$$([[ $$(id -u) == 0 ]] || echo sudo); \
		$$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends \
			golang-go golang-google-protobuf-dev; \
	else echo "no apt-get here: install Go and google.golang.org/protobuf in $(GO_PROTOBUF_SRC)" \
		"(GO_PROTOBUF_GOPATH=dir for another GOPATH tree); the Go client test skips without them" >&2; fi

run: $(RUN_STAMP) ## Run the app (reads .env; REDIS_URL/MONGO_URI, else make servers', else its own in var/; WORKERS=N; REDIS_CLUSTER=1)
	$(if $(WORKERS),WORKERS=$(WORKERS) )$(if $(REDIS_CLUSTER),REDIS_CLUSTER=$(REDIS_CLUSTER) )$(PY) -m devstack run

servers: $(RUN_STAMP) ## Start Redis and secantusd-py (data in var/) for make run and the CLIs; Ctrl-C stops
	$(PY) -m devstack servers

cluster: $(RUN_STAMP) ## Like servers, with a six-node Redis Cluster (3 masters, 3 replicas; var/redis-cluster) as Redis
	$(PY) -m devstack servers --redis-cluster

test: $(DEV_STAMP) ## Run every test tier (unit, integration, e2e, faults, fuzz); PYTEST_ARGS='-k x' passes options
	$(PY) -m pytest $(wildcard $(TIERS)) $(PYTEST_ARGS)

test-unit: $(DEV_STAMP) ## Run the unit tests (no sockets)
	$(call pytest,tests/unit)

test-integration: $(DEV_STAMP) ## Run the integration tests (real Redis and Mongo-protocol servers)
	$(call pytest,tests/integration)

test-e2e: $(DEV_STAMP) ## Run the end-to-end tests (the app under uvicorn)
	$(call pytest,tests/e2e)

test-faults: $(DEV_STAMP) ## Run the fault-injection tests (servers stopped, providers failing, tools hanging)
	$(call pytest,tests/faults)

test-fuzz: $(DEV_STAMP) ## Run the property-based fuzzing of the Twirp edge and the tools' arguments
	$(call pytest,tests/fuzz)

generate: $(DEV_STAMP) ## Regenerate gen/ from proto/ (protobuf, Twirp stubs, OpenAPI description)
	rm -rf gen/acai
	$(call protoc,gen)

gen-check: $(DEV_STAMP) ## Fail if gen/ differs from what `make generate` would write
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(call protoc,$$tmp); \
	diff -r -x __pycache__ "$$tmp/acai" gen/acai || { echo "gen/ is stale: run make generate" >&2; exit 1; }
	@echo "gen/ is up to date"

lint: $(DEV_STAMP) ## ruff check, ruff format --check, mypy, the layer contracts (lint-imports)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP) ## mypy only
	$(BIN)/mypy .

format: $(DEV_STAMP) ## ruff format, then ruff check --fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The migrate-*, backup and restore targets (like the keys CLI) use MONGO_URI and MONGO_DATABASE
# when set, else the servers of the `make run` or `make servers` running in another terminal
# (recorded in var/stack/). Without either they say so in one line.
migrate-up: $(RUN_STAMP) ## Apply pending migrations (MONGO_URI, else the running make run/servers)
	$(PY) -m migrations up

migrate-down: $(RUN_STAMP) ## Revert the last migration (MONGO_URI, else the running stack)
	$(PY) -m migrations down

migrate-status: $(RUN_STAMP) ## Show applied and pending migrations (MONGO_URI, else the running stack)
	$(PY) -m migrations status

# On a sharded cluster (a mongos in MONGO_URI) shards the collections on their shard keys
# (docs/operations.md, "Scaling out"); on a replica set or a single server it changes nothing.
shard: $(RUN_STAMP) ## Shard the collections if MONGO_URI is a mongos, else do nothing (DRY_RUN=1 prints the commands)
	$(PY) -m ops.shard$(if $(DRY_RUN), --dry-run)

backup: $(RUN_STAMP) ## Dump every collection to backups/backup-<UTC time>/ (BACKUP_DIR=; MONGO_URI, else the running stack)
	$(PY) -m ops.backup --out-dir "$(BACKUP_DIR)"

restore: $(RUN_STAMP) ## Restore BACKUP_PATH=dir (RESTORE_MODE=drop|merge, default drop; MONGO_URI, else the running stack)
	@[[ -n "$(BACKUP_PATH)" ]] || { echo "usage: make restore BACKUP_PATH=$(BACKUP_DIR)/backup-YYYYmmdd-HHMMSS" \
		"[RESTORE_MODE=drop|merge]" >&2; exit 2; }
	@[[ "$(RESTORE_MODE)" == drop || "$(RESTORE_MODE)" == merge ]] || \
		{ echo "RESTORE_MODE must be drop or merge, not '$(RESTORE_MODE)'" >&2; exit 2; }
	$(PY) -m ops.restore "$(BACKUP_PATH)" --$(RESTORE_MODE)

# OWNER is the owner as its API keys name it (python -m chat_service.keys list). The export's
# command is not echoed: without OUTPUT its JSON Lines are make's standard output.
owner-export: $(RUN_STAMP) ## Export OWNER=x's conversations as JSON Lines (OUTPUT=file, default stdout; MONGO_URI, else the running stack)
	@[[ -n "$(OWNER)" ]] || { echo "usage: make owner-export OWNER=owner [OUTPUT=file.jsonl]" >&2; exit 2; }
	@$(PY) -m ops.owner export --owner "$(OWNER)"$(if $(OUTPUT), --output "$(OUTPUT)")

owner-erase: $(RUN_STAMP) ## Erase everything of OWNER=x (KEYS=1 its API keys too, YES=1 without asking; MONGO_URI, else the running stack)
	@[[ -n "$(OWNER)" ]] || { echo "usage: make owner-erase OWNER=owner [KEYS=1] [YES=1]" >&2; exit 2; }
	$(PY) -m ops.owner erase --owner "$(OWNER)"$(if $(KEYS), --keys)$(if $(YES), --yes)

smoke: $(RUN_STAMP) ## Check a running service end to end (SMOKE_URL=, default the one make run serves)
	$(PY) -m ops.smoke$(if $(SMOKE_URL), --url "$(SMOKE_URL)")

bench: $(DEV_STAMP) ## Run every benchmark, write JSON + PNG to docs/benchmarks/ (~14 min)
	$(PY) -m bench

clean: ## Remove var/ (dev server data) and caches; keeps .venv
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
