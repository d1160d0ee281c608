# Two commands on a fresh clone (only Python needed):
#   make run [DIR=~/art]   index DIR (or a generated sample folder) and show its duplicates
#   make test              run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DIR    ?=
SAMPLE := sample

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,formats,ray,milvus]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
ifeq ($(strip $(DIR)),)
	@test -d $(SAMPLE)/pictures || $(BIN)/python -m illudex.sample $(SAMPLE)
	ILLUDEX_LIBRARY=$(SAMPLE)/.library $(BIN)/illudex dupes $(SAMPLE)
else
	$(BIN)/illudex dupes "$(DIR)"
endif

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) $(SAMPLE) .pytest_cache
