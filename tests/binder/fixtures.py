"""Fixtures shared by tests/binder/ and tests/browser/ (imported into both conftest files).

Both folders' tests carry ``xdist_group("binder")``, so under ``pytest -n 2 --dist loadgroup``
they run in one worker and the environment is built once for all of them.
"""

from __future__ import annotations

import pytest

from tests.binder.env import BinderEnv, shared_env


@pytest.fixture(scope="session")
def binder_env() -> BinderEnv:
    """The Binder environment, built from binder/ once per test session (per worker)."""
    return shared_env()
