"""JupyterLab from the Binder environment, and Debian's chromium driven by Playwright.

:class:`LabServer` starts ``jupyter lab`` of a :class:`tests.binder.env.BinderEnv` on a free
loopback port, in the environment's home (the repository as the Binder image holds it), with a
known token, and waits for its HTTP API. :func:`open_notebook` goes to a Binder ``urlpath`` and
waits until the notebook is rendered and its kernel idle.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.binder.env import REPO, BinderEnv

ARTIFACTS = REPO / "tests" / "artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def find_chromium() -> str | None:
    for cand in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):
        if cand and Path(cand).exists():
            return cand
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``jupyter lab`` of a Binder environment, started in its home folder."""

    def __init__(self, env: BinderEnv, log: Path | None = None) -> None:
        self.env = env
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log_path = log or (env.root / f"lab-{self.port}.log")
        # its own saved layouts: two servers on one home (two xdist workers) must not share them
        self.workspaces = env.root / f"workspaces-{self.port}"
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, urlpath: str) -> str:
        """The page a Binder link with ``?urlpath=...`` lands on, logged in with the token."""
        sep = "&" if "?" in urlpath else "?"
        return f"{self.base}/{urlpath.lstrip('/')}{sep}token={self.token}"

    def start(self, timeout: float = 90) -> LabServer:
        argv = [str(self.env.bin("jupyter")), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.env.home}",
                "--ServerApp.port_retries=0"]
        if os.geteuid() == 0:
            argv.append("--allow-root")
        self.started_at = time.perf_counter()
        self._log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen(argv, cwd=self.env.home, stdout=self._log,
                                     env=self.env.env(JUPYTERLAB_WORKSPACES_DIR=str(self.workspaces)),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited {self.proc.returncode}:\n{self.log()}")
            try:
                if self.api("api/status").get("started"):
                    return self
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"jupyter lab did not answer within {timeout} s:\n{self.log()}")

    def api(self, path: str, method: str = "GET") -> dict:
        req = urllib.request.Request(f"{self.base}/{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def status(self, path: str) -> int:
        """HTTP status of a GET, authenticated."""
        req = urllib.request.Request(f"{self.base}/{path}", headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def shutdown_kernels(self) -> None:
        """Stop every kernel the browser started (a test's notebooks), keeping the server."""
        for k in self._get("api/kernels"):
            self.api(f"api/kernels/{k['id']}", method="DELETE")

    def _get(self, path: str):
        req = urllib.request.Request(f"{self.base}/{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def log(self) -> str:
        try:
            return Path(self.log_path).read_text()[-6000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)   # the server and its kernels: our own session
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def launch_chromium(playwright, headless: bool = True):
    exe = find_chromium()
    if not exe:
        raise RuntimeError("Debian's chromium is missing: `make browser` (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=exe, headless=headless, args=CHROMIUM_ARGS)


def wait_notebook_ready(page, name: str, timeout: float = 90_000) -> None:
    """Wait until the notebook ``name`` is the current tab, its cells are rendered and its kernel idle."""
    page.wait_for_selector(f'.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current:has-text("{name}")',
                           timeout=timeout)
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell", timeout=timeout)
    page.wait_for_selector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status="idle"]',
                           timeout=timeout)


def open_notebook(page, server: LabServer, urlpath: str, timeout: float = 90_000) -> float:
    """Go to a Binder urlpath and wait until the notebook is usable; returns seconds from navigation."""
    t0 = time.perf_counter()
    page.goto(server.url(urlpath), wait_until="domcontentloaded", timeout=timeout)
    wait_notebook_ready(page, urlpath.rsplit("/", 1)[-1], timeout)
    return time.perf_counter() - t0


# --- what a student does, in JupyterLab's own widgets ---------------------------------------

def reset_workspace(server: LabServer) -> None:
    """Forget the layout JupyterLab saved (open tabs): every test starts as a fresh Binder session does."""
    shutil.rmtree(server.workspaces, ignore_errors=True)


def current_notebook(page):
    """The notebook panel in the current main-area tab."""
    return page.locator(".jp-NotebookPanel").filter(visible=True).first


_PROMPTS = "() => [...document.querySelectorAll('.jp-NotebookPanel .jp-InputPrompt')].map(p => p.textContent.trim())"


def _last_count(page) -> int:
    nums = [int(m) for t in page.evaluate(_PROMPTS) for m in re.findall(r"\[(\d+)\]", t)]
    return max(nums, default=0)


def wait_idle(page, timeout: float = 120_000) -> None:
    """Wait until the current notebook's kernel is idle with no cell queued or running."""
    current_notebook(page).locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=timeout)
    page.wait_for_function(f"() => !({_PROMPTS})().some(t => t.includes('[*]'))", timeout=timeout)
    current_notebook(page).locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=timeout)


def run_and_wait(page, action, timeout: float = 180_000) -> None:
    """Do ``action()`` (a key press, a menu click) that runs cells; wait until they have all run."""
    before = _last_count(page)
    action()
    page.wait_for_function(
        f"() => {{ const t = ({_PROMPTS})(); return t.some(x => x.includes('[*]')) || "
        f"t.some(x => {{ const m = x.match(/\\[(\\d+)\\]/); return m && +m[1] > {before}; }}); }}",
        timeout=timeout)
    wait_idle(page, timeout)


def find_cell(page, text: str, kind: str = ".jp-CodeCell"):
    """The first cell of the current notebook containing ``text``, scrolled into view.

    JupyterLab attaches cells lazily, so scroll down as a student would until it appears.
    """
    panel = current_notebook(page)
    for _ in range(80):
        loc = panel.locator(f".jp-Notebook {kind}", has_text=text)
        if loc.count():
            loc.first.scroll_into_view_if_needed()
            return loc.first
        panel.locator(".jp-WindowedPanel-outer").evaluate("el => el.scrollBy(0, el.clientHeight * 0.8)")
        page.wait_for_timeout(100)
    raise AssertionError(f"no cell with {text!r} in the notebook")


def menu(page, top: str, item: str) -> None:
    """Click a main-menu entry, e.g. ``menu(page, "Run", "Run All Cells")``."""
    page.locator(".lm-MenuBar-item", has_text=top).first.click()
    page.locator(".lm-Menu-item:visible", has=page.locator(".lm-Menu-itemLabel", has_text=item)).first.click()


def type_into_cell(page, cell, code: str) -> None:
    """Replace a code cell's text with ``code``, as if typed (no auto-indent, no auto-closing)."""
    cell.locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(code)


def press_validate(page, timeout: float = 180_000):
    """Press nbgrader's Validate in the notebook toolbar; returns the results dialog once it shows."""
    current_notebook(page).locator(".validate-button").click()
    dialog = page.locator(".jp-Dialog", has=page.locator("#validation-message"))
    dialog.wait_for(timeout=timeout)
    return dialog


def palette_search(page, query: str) -> list[str]:
    """Type ``query`` into the command palette (opening it if needed); the labels it offers."""
    box = page.locator(".lm-CommandPalette-input").filter(visible=True)
    if not box.count():
        page.keyboard.press("ControlOrMeta+Shift+c")
        try:
            box.first.wait_for(timeout=5000)
        except PlaywrightTimeout:  # the shortcut can be swallowed by the focused editor: use the menu
            page.keyboard.press("Escape")
            page.locator(".lm-MenuBar-itemLabel", has_text="View").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Command Palette").first.click()
            box.first.wait_for()
    box.first.fill(query)
    page.wait_for_timeout(250)
    return page.locator(".lm-CommandPalette-item").filter(visible=True).all_inner_texts()


def close_dialog(page) -> None:
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached")
