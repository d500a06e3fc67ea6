# `make run` serves the API on SQLite through gunicorn.conf.py (HOST, PORT,
# WEB_CONCURRENCY, ...); `make test` runs the whole suite; `make bench`
# measures throughput (BENCH_ARGS="--prefill 1000000 ...");
# `make mutation` runs mutmut over app/ (2 to 3 hours on two cores) and
# prints the score of each file.
# Each sets up .venv first, so they work on a fresh clone.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
export HOST PORT

.PHONY: run test bench mutation install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg setup.py
	# Named interaction-api before: a venv of then would keep its `app` and a second plugin.
	$(BIN)/python -m pip uninstall --quiet --yes interaction-api 2>/dev/null
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $@

$(VENV)/.installed-mutation: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e '.[mutation]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

test: install-test
	$(BIN)/python -m pytest

# Uses wrk when installed (apt-get install wrk), else bench/loadgen.py. The
# test extras: the pytest plugin's fixture is measured too (bench/fixture_cost.py).
bench: install-test
	@BENCH_COMMAND="make bench$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" $(BIN)/python bench/run.py $(BENCH_ARGS)

# The tests and their selection are in setup.cfg's [mutmut] section;
# MUTATION_CHILDREN mutants run at once. mutmut keeps its results in
# mutants/, which `make clean` removes for a run from scratch.
MUTATION_CHILDREN ?= 2
# The tests' scratch databases go on a RAM disk where the machine has one:
# the run spends a third less time writing files no one reads again.
MUTATION_TMPDIR ?= $(firstword $(wildcard /dev/shm) /tmp)
mutation: $(VENV)/.installed-mutation
	TEST_POSTGRES=0 TMPDIR=$(MUTATION_TMPDIR) $(BIN)/mutmut run --max-children $(MUTATION_CHILDREN)
	$(BIN)/python tools/mutation_report.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache mutants
