# The course's commands. `make lab` and `make test` are the README's quick start.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-done
JOBS ?= 2
PORT ?= 8888
# your working copy of the course, for `make lab` (git-ignored; see work-copy)
WORK ?= mywork
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# A class on JupyterHub (autograder/hub/README.md): the hub's own environment lives outside the
# repository (students' accounts must run it, and must not read the repository), made from
# Debian's Python; the proxy is installed with npm into autograder/hub/node_modules.
HUB_PYTHON ?= /usr/bin/python3.11
HUB_PREFIX ?= /opt/backprop-hub
HUB_VENV := $(HUB_PREFIX)/venv
HUB_STAMP := $(HUB_VENV)/.hub-env-done
HUB_ROOT ?= /srv/backprop-hub
HUB_PORT ?= 8000
ROSTER ?= $(firstword $(wildcard autograder/hub/roster.csv) autograder/hub/roster.example.csv)
CHP := autograder/hub/node_modules/.bin/configurable-http-proxy
LIB_SOURCES := $(shell find lib/backproplab -name '*.py' 2>/dev/null)

.PHONY: help setup browser lab work-copy test test-fast release check-release bench grade publish lint clean hub hub-env hub-deps

help:
	@echo "make lab      set up, then open your copy of the course (mywork/course/) in JupyterLab"
	@echo "make test     set up (including chromium), then run every test"
	@echo "make release  regenerate course/ from solutions/ (always forced)"
	@echo "make grade    grade a hand-in export (default: the demo class)"
	@echo "make bench    print the benchmarks"
	@echo "make publish  write the student edition to DEST"
	@echo "make hub      set up a class on JupyterHub from ROSTER and start it (as root; HUB_PORT, HUB_ROOT)"

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

test: setup browser hub-env
	BPL_HUB_PREFIX=$(HUB_PREFIX) $(PY) -m pytest -n $(JOBS) --dist loadgroup tests

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

# --- a class on JupyterHub ------------------------------------------------------------------------
# Debian packages the hub needs: Python's venv module for the hub's environment, node and npm
# for the proxy, bubblewrap for grading.
hub-deps:
	@if [ -x "$(HUB_PYTHON)" ] && "$(HUB_PYTHON)" -c 'import ensurepip, venv' 2>/dev/null \
		&& command -v node >/dev/null && command -v npm >/dev/null && command -v bwrap >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv nodejs npm bubblewrap >/dev/null; \
	else echo "The hub needs $(HUB_PYTHON) with venv, node, npm and bubblewrap: sudo apt-get install python3-venv nodejs npm bubblewrap"; exit 1; fi

$(CHP): autograder/hub/package.json autograder/hub/package-lock.json
	cd autograder/hub && npm ci --no-audit --no-fund --omit=dev --loglevel=error
	touch $(CHP)

$(HUB_STAMP): autograder/hub/requirements.txt binder/requirements.txt autograder/hub/setup_env.sh lib/pyproject.toml $(LIB_SOURCES)
	@test "$$(id -u)" = 0 || { echo "the hub's environment goes to $(HUB_PREFIX): run as root (or set HUB_PREFIX)"; exit 1; }
	test -x $(HUB_VENV)/bin/python || $(HUB_PYTHON) -m venv $(HUB_VENV)
	$(HUB_VENV)/bin/python -m pip install -q --upgrade pip
	$(HUB_VENV)/bin/python -m pip install -q -r autograder/hub/requirements.txt
	bash autograder/hub/setup_env.sh $(HUB_VENV) $(CURDIR)
	touch $(HUB_STAMP)

hub-env: hub-deps $(CHP) $(HUB_STAMP)

hub: setup hub-env
	$(PY) -m autograder.hub --root $(HUB_ROOT) up --roster $(ROSTER) --port $(HUB_PORT) --prefix $(HUB_PREFIX)

lint: setup
	$(VENV)/bin/ruff check lib autograder tests

clean:
	rm -rf $(VENV) autograder/hub/node_modules autograder/gradebook.db autograder/submitted autograder/autograded autograder/feedback tests/artifacts
