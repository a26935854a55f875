# Two commands do everything on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv test lint demo bench bench-jobs trials-jobs dist clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Two pytest workers: most tests wait on sockets, subprocesses and timers, not the CPU.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy --strict smsbridge

demo: $(STAMP)
	$(BIN)/smsbridge demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# One Redis job worked by 1 and 2 worker processes: round trips per recipient, throughput ratio.
bench-jobs: $(STAMP)
	$(BIN)/python -m benchmarks.redis_jobs

# The multi-process job trials at the issue's full size (CI runs them scaled down).
trials-jobs: $(STAMP)
	SMSBRIDGE_JOB_RECIPIENTS=20000 SMSBRIDGE_KILL_TRIALS=20 $(BIN)/python -m pytest \
		tests/redis/test_jobstore_processes.py -p no:randomly -q --durations=0

# The sdist and wheel into dist/, checked as PyPI would check them.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/twine check --strict dist/*

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
