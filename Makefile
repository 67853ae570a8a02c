# The two commands of the README:
#   make run   install, migrate, seed demo data on a new database, serve on http://127.0.0.1:8000
#   make test  install with test dependencies, then run the whole suite (SQLite and PostgreSQL)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install install-test install-bench migrate demo serve clean services demo-takedown

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3

# setup.py and the C source: an editable install compiles the PDQ probing kernel in place, so
# a change to either must install again (docs/detection.md).
KERNEL := setup.py src/balise/detection/adapters/_pdq_probe.c
$(STAMP): $(BIN)/python pyproject.toml constraints.txt $(KERNEL)
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(TEST_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(STAMP)
install-test: $(TEST_STAMP)

migrate: install
	BALISE_ENV=$${BALISE_ENV:-development} $(BIN)/balise db upgrade

# The embedded default resolves no names through DNS (BALISE_FETCH_RESOLVER=static): the DEMO
# reports' URLs stay on this machine. Set BALISE_FETCH_RESOLVER=system to fetch real URLs.
run: migrate
	BALISE_ENV=$${BALISE_ENV:-development} BALISE_CHECKPOINT_DIR=$${BALISE_CHECKPOINT_DIR:-var/checkpoints} $(BIN)/balise demo --if-new --statistics 80
	BALISE_ENV=$${BALISE_ENV:-development} BALISE_FETCH_RESOLVER=$${BALISE_FETCH_RESOLVER:-static} BALISE_REVEAL_DAILY_CAP=$${BALISE_REVEAL_DAILY_CAP:-50} BALISE_CHECKPOINT_DIR=$${BALISE_CHECKPOINT_DIR:-var/checkpoints} $(BIN)/balise serve

# PostgreSQL is part of the suite: scripts/services starts a local server if one is
# installed but stopped, and fails (never skips) if none can be reached. Tests run in parallel,
# two pytest-xdist workers per core: many tests wait on a process, a browser or a socket, and a
# second worker per core fills those waits (2 cores: 1,177 s with 2 workers, 1,017 s with 4;
# docs/benchmarks.md). TEST_WORKERS=0 runs them in this process; the run ends with the 15
# slowest tests and its wall time.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
test: install-test
	scripts/services
	@start=$$(date +%s); \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=15 $(PYTEST_ARGS); rc=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s wall time (exit $$rc)"; exit $$rc

clean:
	rm -rf $(VENV) var .pytest_cache

# Benchmarks compare Balise with its peers (faiss, python-threatexchange, pdqhash).
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(TEST_STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,bench]'
	touch $@
install-bench: $(BENCH_STAMP)

# Re-extract the staff interface's messages and merge them into each catalogue; translators
# then edit src/balise/web/ui/locale/<lang>/LC_MESSAGES/messages.po (a test fails while a
# message has no translation).
translations: install
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k N_ -k g --sort-output -o var/messages.pot .
	$(BIN)/pybabel update -i var/messages.pot -d src/balise/web/ui/locale --no-fuzzy-matching

# One reported URL through fetch, match, routing, an SMTP notice, removal, verification, NTD
# figures and package verification, against a DEMO site and SMTP server on 127.0.0.1.
demo-takedown: install-test
	$(BIN)/python scripts/demo_takedown.py
