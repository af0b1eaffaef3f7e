# One entry point for people and CI. `make test` and `make digest` set everything up themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install digest run test lint typecheck check bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

digest: install  ## today's digest in the terminal (scored when OPENAI_API_KEY is set, else ranked locally)
	$(BIN)/arxiv-bot digest

run: install
	$(BIN)/arxiv-bot run

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

bench: install
	$(BIN)/python -m bench.digest_1000
	$(BIN)/python -m bench.slack_ack
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.replay

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
