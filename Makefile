# The course's commands. `make lab` and `make test` are the README's quick start.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-done
JOBS ?= 2
PORT ?= 8888
# your working copy of the course, for `make lab` (git-ignored; see work-copy)
WORK ?= work
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help setup browser lab work-copy test test-fast release check-release bench grade publish lint clean

help:
	@echo "make lab      set up, then open your copy of the course (work/course/) in JupyterLab"
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

# `make lab` works on your own copy, $(WORK)/course/ (git-ignored), never on the tracked course/:
# `git pull` then never conflicts with your answers. The copy is made on the first run; later
# runs copy in only what is new in course/ (a notebook added to the course, or one you deleted
# from your copy to start it afresh) and never touch a file already there. JupyterLab serves
# $(WORK)/, so its pages have the same addresses as on Binder (lab/tree/course/...).
work-copy:
	@mkdir -p "$(WORK)/course"
	@cd course && find . -name .ipynb_checkpoints -prune -o -type f -print | sort | while IFS= read -r f; do \
		dest="$(abspath $(WORK))/course/$${f#./}"; \
		if [ ! -e "$$dest" ]; then mkdir -p "$$(dirname "$$dest")" && cp -p "$$f" "$$dest" && echo "copied course/$${f#./} to $(WORK)/course/"; fi; \
	done

lab: setup work-copy
	@echo "Your notebooks: $(WORK)/course/ (git-ignored; course/ itself stays as released)"
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(WORK)" --LabApp.default_url=/lab/tree/course/00-index/00-index.ipynb \
		--port=$(PORT) $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

test: setup browser
	$(PY) -m pytest -n $(JOBS) --dist loadgroup tests

test-fast: setup
	$(PY) -m pytest -n $(JOBS) --dist loadgroup tests/lib

release: setup
	$(PY) -m autograder.index
	$(PY) -m autograder.release

check-release: setup
	$(PY) -m autograder.index --check
	$(PY) -m autograder.release --check

bench: setup
	$(PY) -m tests.bench

grade: setup browser
	$(PY) -m autograder.grade $(ARGS)

publish: setup
	@test -n "$(DEST)" || { echo "usage: make publish DEST=folder"; exit 1; }
	$(PY) -m autograder.publish "$(DEST)"

lint: setup
	$(VENV)/bin/ruff check lib autograder tests

clean:
	rm -rf $(VENV) autograder/gradebook.db autograder/submitted autograder/autograded autograder/feedback tests/artifacts
