"""Fixtures shared by tests/binder/ and tests/browser/ (imported into both conftest files).

Both folders' tests carry ``xdist_group("binder")``; the environment is built once per run
even when they land on different xdist workers (tests/binder/env.py: shared_env).
"""

from __future__ import annotations

import os

import pytest

from tests.binder.env import BinderEnv, shared_env


@pytest.fixture(scope="session")
def binder_env(tmp_path_factory) -> BinderEnv:
    """The Binder environment, built from binder/ once per test run, shared by the xdist workers."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent   # <basetemp>/popen-gwN: the parent is the run's, common to all workers
    return shared_env(base)
