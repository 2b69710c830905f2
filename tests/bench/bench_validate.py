"""Validate's time, idle and loaded, before and after the fix: `python -m tests.bench validate`.

Runs nbgrader's real Validator (what the Validate button's server handler runs) again and again
on a student's notebook: the first released notebook with a widget cell (ipywidgets' interact),
every exercise answered. Two configurations:

- before: nbgrader's defaults with the grader's cell budget (`Execute.timeout = 120`), what
  binder/postBuild shipped before;
- after: the configuration the Validate handler loads now (binder/postBuild's
  nbgrader_config.py in this environment, written by `make setup`), whose kernel client re-arms
  a waiting receive after each send (backproplab/kernel_client.py says why).

each on an idle machine and with two CPU hogs (two processes spinning, as two busy neighbours on
a shared Binder node), in a fresh process per configuration and load that validates
BENCH_VALIDATE_RUNS times (default 6). It prints the four distributions side by side; a run over
60 s waited out the 120 s cell budget (the stall). Before the fix a loaded machine stalls most
runs, so this section takes about 15 minutes.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.course import COURSE, REPO, SOLUTIONS, graded_assignments, notebook_path

RUNS = int(os.environ.get("BENCH_VALIDATE_RUNS", "6"))
HOGS = 2
STALL_S = 60.0
WIDGET = re.compile(r"\binteract\s*\(|widgets\.\w*Slider|\bFloatSlider\(|\bIntSlider\(|\bwidgets\.Output\(")


def widget_notebook() -> str | None:
    """The first released notebook with a widget in a code cell."""
    import nbformat

    for aid in graded_assignments():
        path = notebook_path(aid, COURSE)
        if path.exists() and any(c.cell_type == "code" and WIDGET.search(c.source)
                                 for c in nbformat.read(str(path), as_version=4).cells):
            return aid
    return None


# --- the worker: one configuration, N validations in one process (as in a JupyterLab server) ----

def _config(which: str):
    from traitlets.config import Config

    if which == "before":
        c = Config()
        c.Execute.timeout = 120
        return c
    # what the Validate button's handler loads (nbgrader's handler, unchanged)
    from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler

    return ValidateAssignmentHandler.load_config(None)


def worker(which: str, aid: str, runs: int) -> None:
    import nbformat
    from nbgrader.validator import Validator

    from autograder.build.authoring import filled_submission

    release = nbformat.read(str(notebook_path(aid, COURSE)), as_version=4)
    nb = filled_submission(release, nbformat.read(str(notebook_path(aid, SOLUTIONS)), as_version=4))
    config = _config(which)
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        path = Path(tmp) / f"{aid}.ipynb"
        nbformat.write(nb, str(path))
        for _ in range(runs):
            t0 = time.perf_counter()
            result = Validator(config=config).validate(str(path))
            seconds = time.perf_counter() - t0
            print(json.dumps({"seconds": seconds, "failed": len(result.get("failed", [])),
                              "client": config.AsyncKernelManager.get("client_class", "default")}), flush=True)


# --- the driver ----------------------------------------------------------------------------------

def _measure(which: str, aid: str, hogs: int) -> list[dict]:
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(hogs)]
    try:
        proc = subprocess.run([sys.executable, "-m", "tests.bench.bench_validate", "--worker", which, aid, str(RUNS)],
                              check=False, cwd=REPO, capture_output=True, text=True, timeout=RUNS * 400)
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not rows:
        raise RuntimeError(f"the {which} worker failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return rows


def _summary(rows: list[dict]) -> str:
    s = sorted(r["seconds"] for r in rows)
    p90 = s[min(len(s) - 1, round(0.9 * (len(s) - 1)))]
    stalls = sum(x > STALL_S for x in s)
    return (f"median {statistics.median(s):5.1f}  p90 {p90:5.1f}  max {s[-1]:5.1f}  "
            f"stalls {stalls}/{len(s)}")


def run() -> None:
    aid = widget_notebook()
    if aid is None:
        print("no released notebook has a widget cell: nothing to measure")
        return
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} before this section (others' work counts)")
    print(f"Validate (nbgrader's Validator, as the Validate button's handler runs it) on {aid}, every exercise "
          f"answered; {RUNS} runs per column, one process per column; seconds")
    results: dict[tuple[str, str], list[dict]] = {}
    for which in ("before", "after"):
        for label, hogs in (("idle", 0), (f"{HOGS} CPU hogs", HOGS)):
            results[which, label] = _measure(which, aid, hogs)
    labels = ["idle", f"{HOGS} CPU hogs"]
    print(f"{'':8}" + "".join(f"{label:<52}" for label in labels))
    for which in ("before", "after"):
        print(f"{which:8}" + "".join(f"{_summary(results[which, label]):<52}" for label in labels))
    print("each run, sorted:")
    for (which, label), rows in results.items():
        times = " ".join(f"{r['seconds']:.1f}" for r in sorted(rows, key=lambda r: r["seconds"]))
        failed = {r["failed"] for r in rows}
        print(f"  {which:6} {label:12} {times}   (failing test cells: {sorted(failed)}; "
              f"client: {rows[0]['client']})")
    print(f"(a stall: a run over {STALL_S:.0f} s, which waited out the 120 s cell budget; see backproplab/kernel_client.py)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        run()
