"""A class on a real JupyterHub for the tests: real Linux accounts, the real exchange, loopback only.

The ``klass`` fixture sets up a class with ``python -m autograder.hub setup`` (an instructor and
five students from a roster, the grader account, the exchange, the course directory), starts
its hub with ``python -m autograder.hub start`` on free loopback ports, and afterwards stops it
and removes everything with ``python -m autograder.hub teardown``. Its state lives in
/srv/bpl-hubtest and its accounts are named hubt-*: whatever a killed earlier run left behind
is removed first, so the tests can always be run again.

All tests in this folder form one xdist group (``hub``), in file order, on one worker.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.hub.client import Hub, request, wait_for

REPO = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = REPO / "tests" / "artifacts" / "hub"
ROOT = Path("/srv/bpl-hubtest")
PREFIX = "hubt-"
HUB_PREFIX = Path(os.environ.get("BPL_HUB_PREFIX", "/opt/backprop-hub"))
INSTRUCTOR = "hubt-teach"
GRADER = "hubt-grader"
STUDENTS = {"hubt-solved": "solved", "hubt-blank": "blank", "hubt-wrong": "wrong (in the browser)",
            "hubt-late": "late", "hubt-tamper": "tampered"}
AID = "01-chain-rule"
# what the test class's hub is told (short timeouts, so culling and polling happen within a test)
LIMITS = {"mem_limit": "768M", "cpu_limit": "1", "cull_timeout": 45, "cull_every": 5, "activity_interval": 5,
          "poll_interval": 3, "late_policy": "zero"}


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _missing(msg: str):
    if _in_ci():
        pytest.fail(f"CI must run the hub tests: {msg}")
    pytest.skip(msg)


def pytest_collection_modifyitems(config, items):
    """Keep tests/hub/ in one xdist group (tests/conftest.py makes loadgroup honour it)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.xdist_group("hub"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hub_cli(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m autograder.hub --root ROOT ...`` as the instructor types it."""
    proc = subprocess.run([sys.executable, "-m", "autograder.hub", "--root", str(ROOT), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"autograder.hub {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stderr[-4000:]}\n{proc.stdout[-2000:]}")
    return proc


def _kill_tree_of(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def remove_leftovers() -> None:
    """What an earlier, killed run of these tests left: its hub, its class, its hubt-* accounts."""
    pidfile = ROOT / "hub" / "jupyterhub.pid"
    if pidfile.exists():
        try:
            _kill_tree_of(int(pidfile.read_text().strip()))
        except ValueError:
            pass
        pidfile.unlink(missing_ok=True)
    if (ROOT / "hub" / "settings.json").exists():
        hub_cli("teardown", "--yes", check=False)
    from autograder.hub.system import remove_user

    for entry in pwd.getpwall():
        if entry.pw_name.startswith(PREFIX):
            remove_user(entry.pw_name)
    import shutil

    shutil.rmtree(ROOT, ignore_errors=True)


@dataclass
class Klass:
    """The running test class."""

    url: str
    hub: Hub
    settings: object
    passwords: dict[str, str]
    log: Path
    figures: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def hub_log_since(self, mark: int) -> str:
        return self.log_text()[mark:]


def write_roster(path: Path, students: dict[str, str], instructor: str = INSTRUCTOR) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["username", "role", "name"])
        w.writerow([instructor, "instructor", "The Instructor"])
        for name, what in students.items():
            w.writerow([name, "student", what])
    return path


@pytest.fixture(scope="session")
def artifacts() -> Path:
    import shutil

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def klass(artifacts, tmp_path_factory):
    if os.geteuid() != 0:
        _missing("the hub tests run as root (they create Linux accounts and start a hub)")
    for need in (HUB_PREFIX / "venv" / "bin" / "jupyterhub",
                 REPO / "autograder" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"):
        if not need.exists():
            _missing(f"{need} is missing: run `make hub-env`")
    try:
        from autograder.grading.sandbox import probe
    except ImportError:          # before the pipeline's rebuild
        from autograder.sandbox import probe

    ok, why = probe()
    if not ok:
        _missing(f"the grading sandbox does not work here: {why}")
    remove_leftovers()
    roster = write_roster(tmp_path_factory.mktemp("hub") / "roster.csv", STUDENTS)
    # the browser tests' helpers (tests/browser/lab.py) read JupyterLab's state from the page, which
    # needs the app object exposed there: the class's own config, plus this, loaded last
    extra = roster.parent / "test_config.py"
    extra.write_text("c = get_config()  # noqa: F821\n"
                     "c.Spawner.args = ['--LabApp.expose_app_in_browser=True']\n")
    port = free_port()
    opts = ["--port", str(port), "--ip", "127.0.0.1", "--hub-port", str(free_port()),
            "--proxy-api-port", str(free_port()), "--formgrader-port", str(free_port()),
            "--prefix", str(HUB_PREFIX), "--home-base", str(ROOT / "home"), "--grader", GRADER,
            "--cgroup", "bpl-hubtest", "--extra-config", str(extra)]
    for k, v in LIMITS.items():
        opts += [f"--{k.replace('_', '-')}", str(v)]
    hub_cli("setup", "--roster", str(roster), *opts)
    from autograder.hub.settings import HubSettings

    settings = HubSettings.load(ROOT)
    with open(settings.hub_dir / "initial-passwords.csv") as f:
        passwords = {r["username"]: r["password"] for r in csv.DictReader(f)}
    log = artifacts / "jupyterhub.log"
    logf = open(log, "w")  # noqa: SIM115 - closed at the end of the session
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "autograder.hub", "--root", str(ROOT), "start"], cwd=REPO,
                            stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    hub = Hub(url, (settings.hub_dir / "admin-token").read_text().strip())
    try:
        def up():
            if proc.poll() is not None:
                raise AssertionError(f"the hub exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
            return request(f"{url}/hub/health", timeout=5)[0] == 200

        wait_for(up, 120, "the hub to answer")
        startup = time.monotonic() - t0
        # the formgrader service answers behind the proxy (a redirect to the hub's login)
        wait_for(lambda: request(f"{url}/services/backprop/", timeout=5)[0] in (200, 302), 120,
                 "the formgrader service")
        k = Klass(url, hub, settings, passwords, log)
        k.figures["hub_startup_s"] = round(startup, 2)
        k.figures["hub_and_services_startup_s"] = round(time.monotonic() - t0, 2)
        k.figures["load_average_at_start"] = [round(x, 1) for x in os.getloadavg()]
        yield k
        k.figures["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    finally:
        figures = locals().get("k").figures if locals().get("k") else {}
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)      # the hub stops every server and service it started
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                _kill_tree_of(proc.pid)
                proc.wait(10)
        logf.close()
        hub_cli("teardown", "--yes", check=False)
        remove_leftovers()
        if figures:
            (artifacts / "figures.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def browser():
    """Chromium for the class's tests; module-scoped as tests/browser/conftest.py's (which says why)."""
    from tests.browser.lab import find_chromium, launch_chromium

    if find_chromium() is None:
        _missing("Debian's chromium is not installed (make browser)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (tests/requirements.txt)")
    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def shot(artifacts, request):
    """``shot(page, "step")`` saves tests/artifacts/hub/<test>-NN-step.png."""
    name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
    count = [0]

    def take(page, step: str) -> Path:
        count[0] += 1
        path = artifacts / f"{name}-{count[0]:02d}-{step}.png"
        page.screenshot(path=str(path))
        return path

    return take
