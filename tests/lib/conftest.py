"""Fixtures shared by the library tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_plt_show(monkeypatch):
    """A plot that calls ``plt.show`` fails the test; every figure is closed afterwards.
    Modules of plot tests use it for all their tests: ``pytestmark = pytest.mark.usefixtures("no_plt_show")``."""
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plots must not call plt.show"))
    yield
    plt.close("all")
