# mailaudit: the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := fixtures/machines/sample
# Other Pythons the suite runs on when pyenv has them (the first match of each).
PYENV_ROOT ?= $(HOME)/.pyenv
EXTRA_PYTHONS := $(foreach v,3.10 3.13,$(firstword $(wildcard $(PYENV_ROOT)/versions/$(v).*/bin/python)))

# The quick subset run against the installed wheel and against the lowest declared versions:
# it reaches every runtime dependency (typer, tabulate, dnspython, regipy, construct,
# cryptography) and every command.
SMOKE_TESTS := tests/test_cli.py tests/test_command_line.py tests/test_redact.py \
	tests/test_report.py tests/test_outlook.py tests/test_discover.py tests/test_probe.py

.PHONY: demo test lint bench clean check-install check-minimums

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
	$(BIN)/mypy --platform win32
	$(BIN)/mypy --platform darwin

# The package as users install it: wheel and sdist built, the wheel installed without -e, every
# README command run from outside the checkout, the smoke tests run from the sdist.
check-install:
	scripts/install-test-deps.sh
	scripts/check-install.sh $(SMOKE_TESTS)

# The lowest dependency versions pyproject.toml declares, against the smoke tests.
check-minimums:
	scripts/install-test-deps.sh
	scripts/check-minimums.sh $(SMOKE_TESTS)

bench: $(VENV)/.installed
	scripts/install-test-deps.sh
	$(BIN)/python bench/bench_scan.py
	$(BIN)/python bench/bench_redact.py
	$(BIN)/python bench/bench_probe.py
	$(BIN)/python bench/bench_fleet.py
	$(BIN)/python bench/bench_backup.py
	$(BIN)/python bench/bench_dns.py
	$(BIN)/python bench/bench_migrate.py
	$(BIN)/python bench/bench_stores.py

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info
