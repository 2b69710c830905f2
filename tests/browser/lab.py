"""JupyterLab from the Binder environment, and Debian's chromium driven by Playwright.

:class:`LabServer` starts ``jupyter lab`` of a :class:`tests.binder.env.BinderEnv` on a free
loopback port, in the environment's home (the repository as the Binder image holds it), with a
known token, and waits for its HTTP API. :func:`open_notebook` goes to a Binder ``urlpath`` and
waits until the notebook is rendered and its kernel idle.

Every wait here is on JupyterLab's own state, never on the clock, so the tests hold on a
loaded machine: the server exposes the application object to the page (``window.jupyterapp``,
``--LabApp.expose_app_in_browser``, as JupyterLab's own UI tests do), and the helpers read the
current notebook's model (its cells' execution state and counts, its kernel's status) and wait
for the rendering loop (:func:`frames`) where the DOM follows a model change. Timeouts are
only the bound after which a test fails.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.binder.env import REPO, BinderEnv

ARTIFACTS = REPO / "tests" / "artifacts" / "browser"
# An HTTP call to the server may wait behind a Validate (nbgrader's handler holds the server's loop).
HTTP_TIMEOUT_S = 240
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

    def start(self, timeout: float = 240) -> LabServer:
        argv = [str(self.env.bin("jupyter")), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.env.home}",
                "--ServerApp.port_retries=0",
                # the tests read JupyterLab's state through window.jupyterapp (no effect on what a student sees)
                "--LabApp.expose_app_in_browser=True"]
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
            time.sleep(0.25)   # polling the server's HTTP API for its state
        self.stop()
        raise TimeoutError(f"jupyter lab did not answer within {timeout} s:\n{self.log()}")

    def api(self, path: str, method: str = "GET") -> dict:
        req = urllib.request.Request(f"{self.base}/{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
            return json.loads(r.read() or b"{}")

    def status(self, path: str) -> int:
        """HTTP status of a GET, authenticated."""
        req = urllib.request.Request(f"{self.base}/{path}", headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def shutdown_kernels(self) -> None:
        """Stop every kernel the browser started (a test's notebooks), keeping the server."""
        for k in self._get("api/kernels"):
            self.api(f"api/kernels/{k['id']}", method="DELETE")

    def _get(self, path: str):
        req = urllib.request.Request(f"{self.base}/{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
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


# How long a test waits for a state before it fails: generous, as a shared machine can be slow.
TIMEOUT_MS = 240_000

# The page's resource timing buffer holds 250 entries by default; JupyterLab loads about 150 files.
KEEP_RESOURCE_TIMINGS = "performance.setResourceTimingBufferSize(100000);"

# JavaScript run in the page. `PANEL` is the notebook panel in the current main-area tab.
_PANEL = """(() => { const app = window.jupyterapp; const w = app && app.shell.currentWidget;
  return w && w.content && w.sessionContext && w.context ? w : null; })()"""
_CODE_CELLS = f"""(() => {{ const w = {_PANEL}; return w ? w.content.widgets.filter(c => c.model.type === 'code') : []; }})()"""
_IDLE = f"""(() => {{ const w = {_PANEL}; if (!w) return false;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && !{_CODE_CELLS}.some(c => c.model.executionState === 'running'); }})()"""
_COUNTS = f"""(() => {{ return {_CODE_CELLS}.map(c => c.model.executionCount); }})()"""


def frames(page, n: int = 2) -> None:
    """Wait until the page has rendered ``n`` more frames: Lumino and React apply a model change to the
    DOM on the next animation frame, so after two frames the DOM shows what the model holds."""
    page.evaluate("(n) => new Promise(done => { const step = k => k ? requestAnimationFrame(() => step(k - 1)) "
                  ": done(); step(n); })", n)


def wait_app_ready(page, timeout: float = TIMEOUT_MS) -> None:
    """Wait until JupyterLab has started and restored its layout."""
    page.wait_for_function("() => !!window.jupyterapp", timeout=timeout)
    page.evaluate("() => { window.jupyterapp.restored.then(() => { window.__bplRestored = true; }); }")
    page.wait_for_function("() => window.__bplRestored === true", timeout=timeout)


def wait_notebook_ready(page, name: str, timeout: float = TIMEOUT_MS) -> None:
    """Wait until the notebook ``name`` is the current tab, its model is loaded and rendered, and its
    kernel connected and idle with no cell running."""
    wait_app_ready(page, timeout)
    page.wait_for_function(f"""(name) => {{ const w = {_PANEL}; if (!w) return false;
        const k = w.sessionContext.session && w.sessionContext.session.kernel;
        return w.context.path.split('/').pop() === name && w.context.isReady && w.sessionContext.isReady
          && !!k && k.connectionStatus === 'connected' && w.content.widgets.length > 0 && {_IDLE}; }}""",
                           arg=name, timeout=timeout)
    page.wait_for_selector(f'.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current:has-text("{name}")', timeout=timeout)
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell", timeout=timeout)
    page.wait_for_selector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status="idle"]',
                           timeout=timeout)


def open_notebook(page, server: LabServer, urlpath: str, timeout: float = TIMEOUT_MS) -> float:
    """Go to a Binder urlpath and wait until the notebook is usable; returns seconds from navigation."""
    t0 = time.perf_counter()
    page.goto(server.url(urlpath), wait_until="domcontentloaded", timeout=timeout)
    wait_notebook_ready(page, urlpath.rsplit("/", 1)[-1], timeout)
    return time.perf_counter() - t0


def wait_settled(page, timeout: float = TIMEOUT_MS) -> None:
    """Wait until everything JupyterLab shows by itself after loading has had its chance to show:
    the layout restored, and the announcements plugin (the news prompt, the update check) past its
    decision, which it takes once its config section (``/api/config/jupyterlabapputilsextensionannouncements``)
    has loaded; then a few frames for a toast or dialog to render. (The page keeps every resource timing
    entry: :data:`KEEP_RESOURCE_TIMINGS`, an init script of the tests' browser context.)"""
    wait_app_ready(page, timeout)
    page.wait_for_function("() => performance.getEntriesByType('resource')"
                           ".some(e => e.name.includes('/api/config/jupyterlabapputilsextensionannouncements'))",
                           timeout=timeout)
    frames(page, 3)


# --- what a student does, in JupyterLab's own widgets ---------------------------------------

def reset_workspace(server: LabServer) -> None:
    """Forget the layout JupyterLab saved (open tabs): every test starts as a fresh Binder session does."""
    shutil.rmtree(server.workspaces, ignore_errors=True)


def current_notebook(page):
    """The notebook panel in the current main-area tab."""
    return page.locator(".jp-NotebookPanel").filter(visible=True).first


def execution_counts(page) -> list[int | None]:
    """The execution count of every code cell of the current notebook (None: never run)."""
    return page.evaluate(f"() => {_COUNTS}")


def wait_idle(page, timeout: float = TIMEOUT_MS) -> None:
    """Wait until the current notebook's kernel is idle with no cell queued or running."""
    page.wait_for_function(f"() => {_IDLE}", timeout=timeout)
    current_notebook(page).locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=timeout)


def run_and_wait(page, action, timeout: float = TIMEOUT_MS) -> None:
    """Do ``action()`` (a key press, a menu click) that runs code cells; wait until they have all run.

    Started: a cell is running or queued, or a cell's execution count changed (a quick cell may have
    finished before the first look). Done: the kernel is idle and no cell is running or queued."""
    before = execution_counts(page)
    action()
    page.wait_for_function(f"""(before) => {{ const cells = {_CODE_CELLS};
        return cells.some(c => c.model.executionState === 'running')
          || JSON.stringify(cells.map(c => c.model.executionCount)) !== JSON.stringify(before); }}""",
                           arg=before, timeout=timeout)
    wait_idle(page, timeout)


_cell_keys = iter(range(1, 1 << 30))


def find_cell(page, text: str, kind: str = ".jp-CodeCell", timeout: float = TIMEOUT_MS):
    """The first cell of the current notebook whose source contains ``text``, scrolled into view.

    Found in the notebook's model (cells out of view may not be rendered yet), scrolled to by the
    notebook itself, and returned as a locator once its editor is on the page."""
    key = f"c{next(_cell_keys)}"
    cell_type = {".jp-CodeCell": "code", ".jp-MarkdownCell": "markdown"}.get(kind, "")
    index = page.evaluate(f"""async ([text, type, key]) => {{ const w = {_PANEL}; if (!w) return -1;
        const nb = w.content;
        const i = nb.widgets.findIndex(c => (!type || c.model.type === type) && c.model.sharedModel.getSource().includes(text));
        if (i < 0) return -1;
        await nb.scrollToItem(i, 'center');
        nb.widgets[i].node.dataset.bplCell = key;
        return i; }}""", [text, cell_type, key])
    if index < 0:
        raise AssertionError(f"no cell with {text!r} in the notebook")
    cell = current_notebook(page).locator(f'[data-bpl-cell="{key}"]')
    cell.locator(".jp-InputArea").wait_for(timeout=timeout)
    cell.scroll_into_view_if_needed(timeout=timeout)
    return cell


def _no_overlay(page, timeout: float = TIMEOUT_MS) -> None:
    """Wait until no menu, command palette or dialog is open (a click would land on it)."""
    for sel in (".lm-Menu", ".lm-CommandPalette-input", ".jp-Dialog"):
        page.locator(sel).filter(visible=True).first.wait_for(state="hidden", timeout=timeout)


def menu(page, top: str, item: str, timeout: float = TIMEOUT_MS) -> None:
    """Click a main-menu entry, e.g. ``menu(page, "Run", "Run All Cells")`` (its label exactly)."""
    _no_overlay(page, timeout)
    page.locator(".lm-MenuBar-item", has_text=top).first.click(timeout=timeout)
    label = page.locator(".lm-Menu-itemLabel").get_by_text(item, exact=True)
    entry = page.locator(".lm-Menu .lm-Menu-item", has=label).filter(visible=True).first
    entry.click(timeout=timeout)
    page.locator(".lm-Menu").filter(visible=True).first.wait_for(state="hidden", timeout=timeout)


def type_into_cell(page, cell, code: str, timeout: float = TIMEOUT_MS) -> None:
    """Replace a code cell's text with ``code``, as if typed (no auto-indent, no auto-closing); returns
    once the notebook's model holds it (what a run would execute). ``cell`` comes from :func:`find_cell`."""
    key = cell.get_attribute("data-bpl-cell")
    cell.locator(".cm-content").click(timeout=timeout)
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(code)
    page.wait_for_function(f"""([key, code]) => {{ const w = {_PANEL};
        const c = w && w.content.widgets.find(c => c.node.dataset.bplCell === key);
        return !!c && c.model.sharedModel.getSource().trim() === code.trim(); }}""", arg=[key, code], timeout=timeout)


def press_validate(page, timeout: float = TIMEOUT_MS):
    """Press nbgrader's Validate in the notebook toolbar; returns the results dialog once it shows."""
    _no_overlay(page, timeout)
    current_notebook(page).locator(".validate-button").click(timeout=timeout)
    dialog = page.locator(".jp-Dialog", has=page.locator("#validation-message"))
    dialog.wait_for(timeout=timeout)
    return dialog


def palette_search(page, query: str, timeout: float = TIMEOUT_MS) -> list[str]:
    """Type ``query`` into the command palette (opening it if needed); the labels it offers."""
    box = page.locator(".lm-CommandPalette-input").filter(visible=True)
    if not box.count():
        # the palette's own command (what its shortcut and View menu entry run): a key press can be
        # swallowed by a focused editor, a command cannot
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:activate-command-palette')")
        box.first.wait_for(timeout=timeout)
    box.first.fill(query)
    frames(page)   # the palette renders its filtered list on the next frame
    return page.locator(".lm-CommandPalette-item").filter(visible=True).all_inner_texts()


def close_palette(page, timeout: float = TIMEOUT_MS) -> None:
    page.keyboard.press("Escape")
    page.locator(".lm-CommandPalette-input").filter(visible=True).first.wait_for(state="hidden", timeout=timeout)


def close_dialog(page, timeout: float = TIMEOUT_MS) -> None:
    page.locator(".jp-Dialog .jp-mod-accept").click(timeout=timeout)
    page.locator(".jp-Dialog").wait_for(state="detached", timeout=timeout)
