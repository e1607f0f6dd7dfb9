# posbridge: every target installs what it needs on a fresh machine (Python 3.11, no Docker, no AWS account).
PYTHON ?= python3.11
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
export SAM_CLI_TELEMETRY := 0

.PHONY: help demo up test lint bench sam-build deploy clean openapi

help:
	@echo "make demo       run the devstack demo (the whole app on this machine)"
	@echo "make up         start the devstack and keep it running (endpoints in .devstack/endpoints.json)"
	@echo "make test       run the test suite"
	@echo "make lint       ruff, mypy, cfn-lint, sam validate --lint"
	@echo "make bench      run the benchmarks (table + bench/results.json)"
	@echo "make openapi    regenerate docs/openapi.json from the admin API's routes"
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

test: $(VENV)/.installed
	$(PY) -m pytest

lint: $(VENV)/.installed $(SAM_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy layers/posbridge/posbridge functions devstack bench cli
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint

bench: $(VENV)/.installed
	$(PY) -m bench

openapi: $(VENV)/.installed
	$(PY) -m devstack.openapi

sam-build: $(SAM_VENV)/.installed
	$(SAM) validate --lint
	$(SAM) build

deploy: sam-build
	$(SAM) deploy

clean:
	rm -rf .aws-sam .devstack .pytest_cache .mypy_cache .ruff_cache
