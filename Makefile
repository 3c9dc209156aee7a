# mailaudit: the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := fixtures/machines/sample
# Other Pythons the suite runs on when pyenv has them (the first match of each).
PYENV_ROOT ?= $(HOME)/.pyenv
EXTRA_PYTHONS := $(foreach v,3.10 3.13,$(firstword $(wildcard $(PYENV_ROOT)/versions/$(v).*/bin/python)))

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/mailaudit scan --root $(SAMPLE) --offline

test: $(VENV)/.installed
	scripts/install-test-deps.sh
	scripts/run-tests.sh $(BIN)/python $(VENV)
	@for py in $(EXTRA_PYTHONS); do \
		v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		scripts/run-tests.sh $$py .venv-$$v || exit 1; \
	done

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed
	scripts/install-test-deps.sh
	$(BIN)/python bench/bench_scan.py
	$(BIN)/python bench/bench_probe.py
	$(BIN)/python bench/bench_migrate.py
	$(BIN)/python bench/bench_stores.py

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .mypy_cache .ruff_cache .hypothesis
