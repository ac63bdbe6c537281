# Two commands: `make run` and `make test`. Everything else is a step they use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test lint bench clean install chromium wrk

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's Chromium (Playwright brings no browser of its own here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "make test needs Debian's chromium for the browser tests: apt-get install chromium" >&2; exit 1; }

# The feed benchmark (bench/feed_serving.py) drives both servers with wrk.
wrk:
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null; } || \
		{ echo "make bench needs Debian's wrk for the feed benchmark: apt-get install wrk" >&2; exit 1; }

# The accessibility tests load axe-core (npm) into each page: pinned by the lock file.
AXE := tests/browser/node_modules/.installed
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm >/dev/null; } || \
		{ echo "make test needs npm for axe-core in the browser tests: apt-get install npm" >&2; exit 1; }
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	touch $@

run: $(STAMP)
	$(BIN)/calsync run

test: $(STAMP) chromium $(AXE)
	$(BIN)/ruff check calsync tests bench
	$(BIN)/mypy
	$(BIN)/pytest

# mypy reads its settings, and the package to check, from pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check calsync tests bench
	$(BIN)/mypy

bench: $(STAMP) chromium wrk
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance .pytest_cache tests/browser/node_modules
