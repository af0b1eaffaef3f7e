# One entry point for people and CI. `make test` and `make digest` set everything up themselves.
# Their venv takes the newest Python here (3.11 and newer; `.ci/newest-python` finds it), and the
# lowest direct versions run on python3 (`make test-lowest`), so CI covers both corners.
PYTHON ?= $(shell python3 .ci/newest-python 2>/dev/null || command -v python3)
OLDEST_PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install digest run test test-lowest lint typecheck check bench clean messages catalogs

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
	@$(BIN)/python -c 'import sys; print("Python", sys.version.split()[0])'
	$(BIN)/python -m pytest -q

# the suite again on the lowest versions pyproject.toml admits for each direct dependency
# (uv resolves them; the rest resolve as usual), so the floors it states are floors that work
LOWEST := .venv-lowest
$(LOWEST)/.installed: pyproject.toml $(BIN)/.installed
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --resolution lowest-direct \
		--python "$$(command -v $(OLDEST_PYTHON))" -o $(LOWEST).txt
	$(BIN)/uv venv --quiet --allow-existing --python "$$(command -v $(OLDEST_PYTHON))" $(LOWEST)
	VIRTUAL_ENV=$(LOWEST) $(BIN)/uv pip install --quiet -r $(LOWEST).txt
	VIRTUAL_ENV=$(LOWEST) $(BIN)/uv pip install --quiet --no-deps -e .
	touch $@

test-lowest: $(LOWEST)/.installed
	$(LOWEST)/bin/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# the bot's own words: extract them into bot/locale/bot.pot and merge it into every catalog
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location \
		--sort-output --omit-header -o bot/locale/bot.pot .
	$(BIN)/pybabel update -i bot/locale/bot.pot -d bot/locale -D bot --no-fuzzy-matching \
		--ignore-obsolete

# every catalog compiles (the bot compiles them into memory itself; the .mo files are not kept)
catalogs: install
	for po in bot/locale/*/LC_MESSAGES/bot.po; do \
		$(BIN)/pybabel compile -i $$po -o /dev/null --statistics || exit 1; done

check: lint typecheck catalogs test

bench: install
	$(BIN)/python -m bench.digest_1000
	$(BIN)/python -m bench.slack_ack
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.replay

clean:
	rm -rf $(VENV) $(LOWEST) $(LOWEST).txt .mypy_cache .ruff_cache .pytest_cache *.egg-info
