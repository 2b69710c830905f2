"""Grading the demo class, side by side in one run on one machine.

1. plain ``nbgrader autograde`` (NbGraderAPI, one process, one submission after another) on
   the hand-ins it can process, each assignment's submissions as students of one call: the
   baseline an instructor would otherwise use;
2. this pipeline, sandboxed, trusted checks (references and judging outside the kernel),
   one worker per core — everything: gradebook, feedback pages, grade sheets, report;
3. this pipeline, sandboxed, with the test cells' own checks run inside the kernel instead
   (``checks="kernel"``: what grading cost before references left the kernel);
4. (2) again on the same output folder with nothing changed: the no-change re-run.

Targets: (1)/(2) >= 1.9x on 2 cores; (2)/(3) <= 1.10 (trusted checks cost at most 10%);
(4) < 10 s.

The whole demo class by default (about 40 minutes for the four runs on 2 cores);
``BENCH_STUDENTS=N`` grades only its first N students (by LMS id), every notebook of theirs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

from autograder.course import make_config, notebook_path
from autograder.grading.pipeline import DEMO_EXPORT, gradeable
from autograder.grading.pipeline import run as grade
from autograder.grading.sandbox import Limits, probe

CELL_TIMEOUT = 30
STUDENTS = int(os.environ.get("BENCH_STUDENTS", "0"))


def _export(tmp: Path) -> Path:
    """The demo export, or the part of it that holds the first ``STUDENTS`` students (by LMS id)."""
    if not STUDENTS:
        return DEMO_EXPORT
    with zipfile.ZipFile(DEMO_EXPORT) as z:
        uid = {}
        for n in z.namelist():
            parts = n.rsplit("/", 1)[-1].split("_")   # Canvas: login_[late_]uid_subid_file
            if len(parts) > 3:
                uid[n] = parts[2] if parts[1].lower() == "late" else parts[1]
        keep = set(sorted(set(uid.values()))[:STUDENTS])
        path = tmp / "export.zip"
        with zipfile.ZipFile(path, "w") as part:
            for n, u in uid.items():
                if u in keep:
                    part.writestr(n, z.read(n))
    return path


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


def _timed(export: Path, **kw) -> tuple[float, object]:
    t0 = time.perf_counter()
    s = grade(export, limits=Limits(cell_timeout=CELL_TIMEOUT), quiet=True, **kw)
    return time.perf_counter() - t0, s


def run_bench() -> None:
    import nbformat

    from autograder.course import answer_cells
    from autograder.grading.export import read_export

    aids = gradeable()
    ids = {a: set(answer_cells(nbformat.read(str(notebook_path(a)), as_version=4))) for a in aids}
    tmp_export = Path(tempfile.mkdtemp(prefix="bpl-bench-export-"))
    export = _export(tmp_export)
    ex = read_export(export, aids, ids)
    ok = {}
    for key, h in ex.handins.items():
        try:
            nb = nbformat.reads(h.data.decode(), as_version=4)
        except Exception:  # noqa: BLE001, S112 - unreadable hand-ins: stock nbgrader cannot grade them at all
            continue
        if {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells} & ids[key[1]]:
            ok[key] = h.data
    cores = os.cpu_count() or 1
    print(f"demo class{f' (its first {STUDENTS} students)' if STUDENTS else ''}: {len(ex.students)} students, {len(ex.handins)} hand-ins in {len(aids)} assignment(s); "
          f"{len(ok)} that stock nbgrader can process; {cores} core(s); cell timeout {CELL_TIMEOUT} s")
    sandbox = probe()[0]
    if not sandbox:
        print("  sandbox unavailable here: the pipeline runs unsandboxed (figures not comparable to CI)")
    with tempfile.TemporaryDirectory(prefix="bpl-bench-") as tmp:
        tmp = Path(tmp)
        plain = _plain_nbgrader(tmp / "plain", ok)
        print(f"  1. plain sequential nbgrader autograde    {plain:7.1f} s  ({len(ok)} hand-ins, grades only)")
        trusted, s = _timed(export, out=tmp / "trusted", sandbox=sandbox)
        steps = ", ".join(f"{k} {v:.1f}" for k, v in s.timings.items())
        print(f"  2. this pipeline, trusted checks          {trusted:7.1f} s  ({len(s.records)} hand-ins, "
              f"everything; {steps})")
        kernel, _ = _timed(export, out=tmp / "kernel", sandbox=sandbox, checks="kernel")
        print(f"  3. this pipeline, checks in the kernel    {kernel:7.1f} s")
        again, s2 = _timed(export, out=tmp / "trusted", sandbox=sandbox)
        print(f"  4. re-run with nothing changed            {again:7.1f} s  ({s2.graded_now} regraded)")
    shutil.rmtree(tmp_export, ignore_errors=True)
    speedup = plain / trusted
    cost = trusted / kernel - 1
    print(f"speed-up over plain nbgrader:   {speedup:.2f}x  (target >= 1.9x on 2 cores)  "
          f"{'PASS' if speedup >= 1.9 else 'MISS'}")
    print(f"cost of the trusted checks:     {cost * 100:+.1f}%  (target <= +10%)          "
          f"{'PASS' if cost <= 0.10 else 'MISS'}")
    print(f"no-change re-run:               {again:.1f} s  (target < 10 s)             "
          f"{'PASS' if again < 10 else 'MISS'}")


def run() -> None:
    """The bench runner's entry point."""
    run_bench()
