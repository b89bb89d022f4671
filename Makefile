# Two commands matter: `make bench` and `make test`. Everything else is a step they take for you.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
RUN ?= results/latest
export MPLCONFIGDIR ?= $(CURDIR)/.cache/matplotlib

.PHONY: install lint test test-slow bench report serve-fastapi serve-flask clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## create .venv and install the project with its dev tools

lint: install ## ruff (lint + format check) and mypy --strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint ## lint, type-check, then the whole test suite (starts its own PostgreSQL)
	$(VENV)/bin/pytest -n 2 --dist loadgroup

test-slow: install ## the long fuzz and soak runs for release checks
	$(VENV)/bin/pytest -m slow

bench: install ## run the benchmark matrix (PROFILE=smoke|quick|full) and write results/<run>/report.html
	$(PY) -m bench run --profile $(PROFILE)

report: install ## regenerate the report of a run (RUN=results/<run>, default latest) from its raw data
	$(PY) -m bench report $(RUN)

serve-fastapi: install ## embedded PostgreSQL + seed + carrier stub + FastAPI under uvicorn
	$(PY) -m bench serve fastapi

serve-flask: install ## embedded PostgreSQL + seed + carrier stub + Flask under gunicorn (sync workers)
	$(PY) -m bench serve flask

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache
