"""Grading the demo class: this pipeline against plain sequential nbgrader, and the sandbox's cost.

Three runs on the same hand-ins, same machine, one after the other:

1. plain ``nbgrader autograde`` (NbGraderAPI, one process, one submission after another) on
   the hand-ins it can process, each assignment's submissions as students of one call;
2. this pipeline, sandboxed, one worker per core (``python -m autograder.grade``'s ``run``);
3. this pipeline unsandboxed (``--unsandboxed``), same workers.

Targets: (2) at least 1.8x faster than (1) on 2 cores; (2) within 15% of (3).
Hand-ins whose code would harm an unsandboxed machine are not in the demo class.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from autograder.sandbox import Limits, probe

from autograder.course import make_config, notebook_path
from autograder.grade import DEMO_EXPORT, gradeable
from autograder.grade import run as grade

CELL_TIMEOUT = 30


def _plain_nbgrader(root: Path, handins: dict) -> float:
    """Sequential stock nbgrader: generate, submit as-is, autograde each assignment."""
    from nbgrader.apps import NbGraderAPI

    aids = sorted({a for _, a in handins})
    shutil.copytree(Path(__file__).resolve().parents[2] / "solutions", root / "source",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    c = make_config(root=root)
    c.Execute.timeout = CELL_TIMEOUT
    api = NbGraderAPI(config=c)
    for aid in aids:
        api.generate_assignment(aid, force=True, create=True)
    for (student, aid), data in handins.items():
        path = root / "submitted" / student / aid / f"{aid}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    t0 = time.perf_counter()
    for aid in aids:
        api.autograde(aid, "*", force=True, create=True)
    return time.perf_counter() - t0


def run_bench() -> None:
    import nbformat
    from autograder.export import read_export

    from autograder.course import answer_cells

    aids = gradeable()
    ids = {a: set(answer_cells(nbformat.read(str(notebook_path(a)), as_version=4))) for a in aids}
    ex = read_export(DEMO_EXPORT, aids, ids)
    ok = {}
    for key, h in ex.handins.items():
        try:
            nb = nbformat.reads(h.data.decode(), as_version=4)
        except Exception:  # noqa: BLE001, S112 - unreadable hand-ins: stock nbgrader cannot grade them at all
            continue
        if {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells} & ids[key[1]]:
            ok[key] = h.data
    cores = os.cpu_count() or 1
    print(f"demo class: {len(ex.students)} students, {len(ex.handins)} hand-ins in {len(aids)} assignment(s); "
          f"{len(ok)} that stock nbgrader can process; {cores} core(s); cell timeout {CELL_TIMEOUT} s")
    limits = Limits(cell_timeout=CELL_TIMEOUT)
    with tempfile.TemporaryDirectory(prefix="bpl-bench-") as tmp:
        tmp = Path(tmp)
        plain = _plain_nbgrader(tmp / "plain", ok)
        print(f"  plain sequential nbgrader autograde  {plain:7.1f} s")
        sandboxed = unsandboxed = None
        if probe()[0]:
            t0 = time.perf_counter()
            grade(DEMO_EXPORT, tmp / "sandboxed", limits=limits, quiet=True)
            sandboxed = time.perf_counter() - t0
            print(f"  this pipeline, sandboxed             {sandboxed:7.1f} s  (all hand-ins, with gradebook, "
                  "feedback and report)")
        t0 = time.perf_counter()
        grade(DEMO_EXPORT, tmp / "unsandboxed", limits=limits, quiet=True, sandbox=False)
        unsandboxed = time.perf_counter() - t0
        print(f"  this pipeline, unsandboxed           {unsandboxed:7.1f} s")
    if sandboxed is None:
        print("  sandbox unavailable here: MISS (no sandboxed figures)")
        return
    speedup = plain / sandboxed
    overhead = sandboxed / unsandboxed - 1
    print(f"speed-up over plain nbgrader: {speedup:.2f}x   (target >= 1.8x on 2 cores)  "
          f"{'PASS' if speedup >= 1.8 else 'MISS'}")
    print(f"sandbox overhead:             {overhead * 100:+.1f}%  (target < 15%)           "
          f"{'PASS' if overhead < 0.15 else 'MISS'}")


def run() -> None:
    """The bench runner's entry point."""
    run_bench()
