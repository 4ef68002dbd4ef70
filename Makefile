# Two commands: `make demo` and `make test`. Both create the virtual environment on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
ARGS ?=

.PHONY: install test lint demo rehearse sandbox bench bench-smoke bench-ci screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy autoheal playbooks sandbox tasks flows bench
	$(VENV)/bin/lint-imports
	@# Two pytest processes at once: the end-to-end tests (one after another, on the one stack their
	@# session fixture starts) mostly wait on processes, leases and heartbeats; the rest use the CPU.
	@# The e2e output is shown when both have ended; either one failing fails the target.
	@e2e_log=$$(mktemp); \
	$(PY) -m pytest -q tests/e2e > $$e2e_log 2>&1 & e2e=$$!; \
	$(PY) -m pytest -q --ignore=tests/e2e; rest=$$?; \
	wait $$e2e; e2e_rc=$$?; \
	echo "--- tests/e2e (run alongside) ---"; cat $$e2e_log; rm -f $$e2e_log; \
	echo "pytest exit codes: tests/e2e $$e2e_rc, the rest $$rest"; \
	test $$rest -eq 0 && test $$e2e_rc -eq 0

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy autoheal playbooks sandbox tasks flows bench
	$(VENV)/bin/lint-imports

demo: $(STAMP)
	$(VENV)/bin/autoheal demo $(ARGS)

# Benchmarks print their tables and write JSON under bench/results/. Not part of `make test`.
BENCHES := bench.classifier bench.work_saved bench.webhooks bench.overhead bench.storm

# Scale-out (bench/scale.py): the storm with 2 served runners and with 2 workers of a process pool, each
# against 1 served runner in the same run, and again with one of the two killed halfway.
SCALE := "--workers 2 --kind served" "--workers 2 --kind worker"

bench: $(STAMP)
	@for b in $(BENCHES); do $(PY) -m $$b || exit 1; done
	@for s in $(SCALE); do $(PY) -m bench.storm $$s || exit 1; done

bench-smoke: $(STAMP)
	@for b in $(BENCHES); do BENCH_SMOKE=1 $(PY) -m $$b || exit 1; done
	@BENCH_SMOKE=1 $(PY) -m bench.storm --workers 2 --kind served

# What CI runs after `make test` (.ci/run), sized for its 15 minutes: the in-process benchmarks. The
# stack benchmarks (webhooks, overhead, storm, scale-out) are type-checked by `make test` (mypy covers
# bench/), their worlds and counting run in tests/e2e/test_scale_out.py, and `make bench-smoke` runs
# them whole in about 5 minutes.
bench-ci: $(STAMP)
	@for b in bench.classifier bench.work_saved; do BENCH_SMOKE=1 $(PY) -m $$b || exit 1; done

# The demo, then headless Chromium (apt-get install chromium) photographs the Prefect UI into docs/. Not in CI.
screenshots: $(STAMP)
	$(PY) scripts/screenshots.py $(ARGS)

rehearse: $(STAMP)
	$(VENV)/bin/autoheal rehearse --all

sandbox: $(STAMP)
	$(VENV)/bin/autoheal sandbox $(ARGS)

clean:
	rm -rf $(VENV) .autoheal *.egg-info
