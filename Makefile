# posbridge: every target installs what it needs on a fresh machine (Python 3.11, no Docker, no AWS account).
PYTHON ?= python3.11
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
export SAM_CLI_TELEMETRY := 0

.PHONY: help demo up test browser-test contracts lint bench soak sam-build deploy clean openapi lock

help:
	@echo "make demo       run the devstack demo (the whole app on this machine)"
	@echo "make up         start the devstack and keep it running (endpoints in .devstack/endpoints.json)"
	@echo "make test       run the test suite (contracts included)"
	@echo "make browser-test  only the restaurant page's tests in headless Chromium (make test runs them too)"
	@echo "make contracts  only the wire-contract suite: our Wix and Square calls against the vendors' official SDKs"
	@echo "make lint       ruff, mypy, import contracts (lint-imports), cfn-lint, sam validate --lint"
	@echo "make bench      run the benchmarks (table + bench/results.json)"
	@echo "make soak       chaos soak of the devstack: 1,000 Wix orders under faults (table + bench/soak.json)"
	@echo "make openapi    regenerate docs/openapi.json from the admin API's routes"
	@echo "make lock       re-pin the Lambda layer's dependencies with hashes (layers/posbridge/requirements.txt)"
	@echo "make sam-build  sam validate --lint && sam build (arm64, no container)"
	@echo "make deploy     sam build && sam deploy (samconfig.toml; needs AWS credentials)"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet 'aws-sam-cli==1.170.0'
	touch $@

demo: $(VENV)/.installed
	$(PY) -m devstack demo

up: $(VENV)/.installed
	$(PY) -m devstack up

# The official Wix SDK modules the contract tests check against (exact versions: contracts/wix/package-lock.json).
CONTRACTS_NPM := contracts/wix/node_modules/.installed
$(CONTRACTS_NPM): contracts/wix/package.json contracts/wix/package-lock.json
	cd contracts/wix && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium for the restaurant page's browser tests: Playwright (pinned in pyproject) drives it by path and
# never downloads a browser of its own. apt needs root: sudo is used when make does not run as root.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

test: $(VENV)/.installed $(CONTRACTS_NPM) $(CHROMIUM)
	$(PY) -m pytest

browser-test: $(VENV)/.installed $(CHROMIUM)
	$(PY) -m pytest -m browser -n 0

contracts: $(VENV)/.installed $(CONTRACTS_NPM)
	$(PY) -m pytest -m contracts

lint: $(VENV)/.installed $(SAM_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/posbridge/posbridge functions devstack bench cli tests
	$(VENV)/bin/lint-imports
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint

bench: $(VENV)/.installed
	$(PY) -m bench

openapi: $(VENV)/.installed
	$(PY) -m devstack.openapi

# The layer installs exact versions verified by hash (pip's hash-checking mode): a changed or substituted package
# fails the build. requirements.in holds the ranges; this resolves them anew.
lock: $(VENV)/.installed
	$(PY) -m pip install --quiet 'pip-tools==7.7.0'
	cd layers/posbridge && ../../$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --output-file requirements.txt requirements.in

sam-build: $(SAM_VENV)/.installed
	$(SAM) validate --lint
	$(SAM) build

deploy: sam-build
	$(SAM) deploy

clean:
	rm -rf .aws-sam .devstack .pytest_cache .mypy_cache .ruff_cache contracts/wix/node_modules contracts/wix/.schemas

# A chaos soak on the devstack (bench/soak.py): prints a table, writes bench/soak.json. ORDERS=1000 by default.
ORDERS ?= 1000
soak: $(VENV)/.installed
	$(PY) -m bench.soak --orders $(ORDERS)
