# Two entry points for a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install demo test bench clean

$(BIN)/quietpoll: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/quietpoll

install: $(BIN)/quietpoll

demo: install
	$(BIN)/quietpoll demo --out demo-output

test: install
	scripts/install-test-deps.sh
	scripts/install-browser-deps.sh
	scripts/install-web-deps.sh
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_estimate.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
