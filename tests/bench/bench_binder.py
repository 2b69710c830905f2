"""The course on a Binder-sized machine: `python -m tests.bench binder`.

Builds the Binder environment from binder/ (tests/binder/env.py), then prints:
- its build time and installed size (du of the fresh environment);
- each notebook's solution run top to bottom on one core (taskset -c 0) in that environment's
  kernel: seconds in cells, and the kernel's peak resident memory (getrusage maxrss), against
  the course budget (30 s, 500 MB) and mybinder's 1 to 2 GB;
- JupyterLab's time to a usable page: from starting the server to the index notebook rendered
  with an idle kernel in chromium (and a course notebook opened after it).
"""

from __future__ import annotations

import os
import time

from autograder.course import SOLUTIONS, assignments, notebook_path
from tests.binder.env import REPO, interpreter_version, shared_env
from tests.browser.lab import LabServer, find_chromium, launch_chromium, open_notebook, reset_workspace

BUDGET_S, BUDGET_MB = 30.0, 500.0


def _mb(kb: float) -> float:
    return kb / 1024


def run() -> None:
    t0 = time.perf_counter()
    env = shared_env()
    t = env.timings
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} (figures grow with load)")
    print(f"Binder environment (fresh venv on Python {interpreter_version(str(env.python))}, "
          "binder/requirements.txt, postBuild): "
          f"built in {time.perf_counter() - t0:.0f} s (pip {t.get('requirements', 0):.0f} s, "
          f"postBuild {t.get('postBuild', 0):.0f} s)")
    print(f"installed size (du of the environment): {env.installed_size() / 2**20:.0f} MB")

    print("\nsolutions, top to bottom, one core (taskset -c 0), in the Binder environment's kernel:")
    print(f"{'notebook':28} {'cells s':>8} {'kernel start s':>15} {'peak MB':>8}  {'budget 30 s / 500 MB':<22} errors")
    for aid in assignments():
        path = notebook_path(aid, SOLUTIONS)
        try:
            res = env.run_notebook(path, mode="all", pin_cpu=0, timeout=900)
        except Exception as e:  # noqa: BLE001  (a benchmark reports, it does not fail)
            print(f"{aid:28} failed to run: {str(e).splitlines()[0][:80]}")
            continue
        mb = _mb(res["kernel"]["maxrss_kb"])
        ok = res["seconds"] <= BUDGET_S and mb <= BUDGET_MB
        errors = ", ".join(f"{e['ename']} in cell {e['index']}" for e in res["errors"]) or "none"
        print(f"{aid:28} {res['seconds']:8.1f} {res['kernel_start_seconds']:15.1f} {mb:8.0f}  "
              f"{'within' if ok else 'OVER':<22} {errors}")

    if not find_chromium():
        print("\ntime to a usable page: skipped (no chromium; `make browser`)")
        return
    from playwright.sync_api import sync_playwright

    from autograder.build.index import INDEX_URLPATH

    print("\nJupyterLab, time to a usable page (server start -> notebook rendered, kernel idle, in chromium):")
    with sync_playwright() as p:
        browser = launch_chromium(p)
        for label in ("first start", "second start"):
            server = LabServer(env, log=env.root / "bench-lab.log")
            reset_workspace(server)
            try:
                server.start()
                api = time.perf_counter() - server.started_at
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                open_notebook(page, server, INDEX_URLPATH)
                usable = time.perf_counter() - server.started_at
                graded = [a for a in assignments() if not a.startswith("00-")]
                extra = ""
                page.context.close()
                if graded and (env.home / "course" / graded[0]).exists():
                    # a new session, as a student's second link: a fresh browser context and no saved
                    # layout (a second tab on the same workspace would restore the index as current)
                    reset_workspace(server)
                    page2 = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                    s = open_notebook(page2, server, f"lab/tree/course/{graded[0]}/{graded[0]}.ipynb")
                    extra = f"; then {graded[0]} in a new session: {s:.1f} s"
                    page2.context.close()
                print(f"  {label}: HTTP API up {api:.1f} s, index usable {usable:.1f} s{extra}")
            finally:
                server.stop()
        browser.close()
    print(f"(repository: {REPO})")
