# The course's commands. `make lab` and `make test` are the README's quick start.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-done
JOBS ?= 2
PORT ?= 8888
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help setup browser lab test test-fast release check-release bench grade publish lint clean

help:
	@echo "make lab      set up, then open the course in JupyterLab"
	@echo "make test     set up (including chromium), then run every test"
	@echo "make release  regenerate course/ from solutions/ (always forced)"
	@echo "make grade    grade a hand-in export (default: the demo class)"
	@echo "make bench    print the benchmarks"
	@echo "make publish  write the student edition to DEST"

$(STAMP): binder/requirements.txt tests/requirements.txt autograder/requirements.txt lib/pyproject.toml binder/postBuild
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 or python3 on PATH)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, found " + sys.version.split()[0])'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r binder/requirements.txt -r autograder/requirements.txt -r tests/requirements.txt
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash binder/postBuild
	touch $(STAMP)

setup: $(STAMP)

# Debian's chromium for the browser tests, and bubblewrap for the grading sandbox.
browser:
	@if command -v chromium >/dev/null && command -v bwrap >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium bubblewrap >/dev/null; \
	else echo "The browser tests need Debian's chromium and bubblewrap: sudo apt-get install chromium bubblewrap"; exit 1; fi

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=. --LabApp.default_url=/lab/tree/course/00-index/00-index.ipynb \
		--port=$(PORT) $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

test: setup browser
	$(PY) -m pytest -n $(JOBS) --dist loadgroup tests

test-fast: setup
	$(PY) -m pytest -n $(JOBS) --dist loadgroup tests/lib

release: setup
	$(PY) -m autograder.build.index
	$(PY) -m autograder.build.release

check-release: setup
	$(PY) -m autograder.build.index --check
	$(PY) -m autograder.build.release --check

bench: setup
	$(PY) -m tests.bench

grade: setup browser
	$(PY) -m autograder.grade $(ARGS)

publish: setup
	@test -n "$(DEST)" || { echo "usage: make publish DEST=folder"; exit 1; }
	$(PY) -m autograder.build.publish "$(DEST)"

lint: setup
	$(VENV)/bin/ruff check lib autograder tests

clean:
	rm -rf $(VENV) autograder/gradebook.db autograder/submitted autograder/autograded autograder/feedback tests/artifacts
