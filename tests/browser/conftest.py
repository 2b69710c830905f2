"""Browser fixtures: Debian's chromium through Playwright, JupyterLab from the Binder environment.

Without chromium the browser tests are skipped on a developer's machine (`make browser`
installs it) and fail under CI (CI=true), so they never silently stop running there.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from tests.binder.env import _locked
from tests.binder.fixtures import binder_env  # noqa: F401
from tests.browser.lab import (
    ARTIFACTS,
    KEEP_RESOURCE_TIMINGS,
    TIMEOUT_MS,
    LabServer,
    find_chromium,
    launch_chromium,
    reset_workspace,
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def chromium() -> str:
    exe = find_chromium()
    if exe is None:
        msg = "Debian's chromium is not installed (make browser: apt-get install chromium)"
        if _in_ci():
            pytest.fail(f"CI must run the browser tests: {msg}")
        pytest.skip(msg)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if _in_ci():
            pytest.fail("CI must run the browser tests: playwright is not installed (tests/requirements.txt)")
        pytest.skip("playwright is not installed")
    return exe


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> os.PathLike:
    """tests/artifacts/browser/, emptied once per test run (by the first xdist worker to get here)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    with _locked(base / "browser-artifacts.lock"):
        marker = base / "browser-artifacts.emptied"
        if not marker.exists():
            shutil.rmtree(ARTIFACTS, ignore_errors=True)
            marker.touch()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser(chromium):
    """Chromium for one test module. Module-scoped: Playwright's sync API keeps an asyncio loop
    running in this thread while it lives, so an instance left open for the session would break
    the next test on this worker that starts one (tests/hub/ has its own) or runs asyncio."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture(scope="session")
def lab(binder_env, chromium, artifacts):  # noqa: F811
    """JupyterLab from the Binder environment, in its home, on a free loopback port."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    server = LabServer(binder_env, log=artifacts / f"jupyterlab-{worker}.log").start()
    yield server
    server.stop()


@pytest.fixture
def page(browser, lab, binder_env):  # noqa: F811
    """A fresh browser context on a JupyterLab with no saved layout, as a new Binder session."""
    reset_workspace(lab)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(KEEP_RESOURCE_TIMINGS)
    context.set_default_timeout(TIMEOUT_MS)   # a bound for failing, not a wait: every wait is on state
    pg = context.new_page()
    pg.console_errors = []
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    yield pg
    context.close()
    lab.shutdown_kernels()


@pytest.fixture
def shot(page, artifacts, request):
    """``shot("step")`` saves a screenshot as tests/artifacts/browser/<test>-NN-step.png."""
    name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
    count = [0]

    def take(step: str, target=None):
        count[0] += 1
        path = artifacts / f"{name}-{count[0]:02d}-{step}.png"
        (target or page).screenshot(path=str(path))
        return path

    return take
