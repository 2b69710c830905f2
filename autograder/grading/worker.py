"""Grade one hand-in: the unit of parallel work.

    python -m autograder.grading.worker --serve      # read jobs (JSON lines) on stdin

A job: read and check the hand-in (:func:`~autograder.grading.notebook.read_handin`); take
its answer cells into the release (:mod:`~autograder.grading.notebook`); scan them
(:mod:`~autograder.grading.scan`); draw every exercise's cases from the job's seed and put only
their inputs into collection cells (:mod:`~autograder.grading.judge`); run the notebook in its
sandbox (:mod:`~autograder.grading.execute`); judge the outputs here, outside the sandbox;
write the :class:`~autograder.grading.records.Record`, the graded notebook (for the
instructor) and the feedback page (for the student) into the job's result folder.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import traceback
from pathlib import Path

import nbformat
from backproplab.exercises import failed_uses_note, get

from ..course import graded_cells, nbgrader_meta
from . import feedback, judge
from .execute import Executor, SetupFailed
from .notebook import Unreadable, build, collect_source, needed_cells, read_handin, student_answers
from .records import Flag, Job, Record, TestResult
from .sandbox import Limits, cgroup_create, cgroup_remove, prepare_scratch, socket_folder, worker_uid
from .scan import scan

__all__ = ["grade_job", "serve"]


def _kernel_verdict(cell, max_score: float, gid: str) -> TestResult:
    """``checks="kernel"`` (benchmark only): all or nothing, by the cell's own error output."""
    err = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
    stderr = any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in cell.get("outputs", []))
    ok = err is None and not stderr
    msg = "" if ok else (f"{err.get('ename')}: {err.get('evalue')}"[:300] if err else "wrote to stderr")
    return TestResult(gid, max_score if ok else 0.0, max_score, msg, [] if ok else ["failed"])


def _finish(job: Job, rec: Record, page: str, t0: float) -> Record:
    out = Path(job.result_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "feedback.html").write_text(page)
    rec.elapsed = round(time.monotonic() - t0, 2)
    rec.write(out)
    return rec


def grade_job(job: Job, hidden_lines: list[str] = ()) -> Record:
    """Grade one hand-in; write and return its record."""
    t0 = time.monotonic()
    out = Path(job.result_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "graded.ipynb").unlink(missing_ok=True)
    release_nb = nbformat.read(str(Path(job.release_dir) / f"{job.aid}.ipynb"), as_version=4)
    tests = graded_cells(release_nb)
    max_score = float(sum(float(nbgrader_meta(c).get("points", 0)) for c in tests.values()))
    try:
        student_nb = read_handin(Path(job.inbox).read_bytes(), job.aid, release_nb,
                                 {a: set(g) for a, g in job.candidates.items()})
    except Unreadable as exc:
        rec = Record.not_graded(job, str(exc), max_score=max_score)
        return _finish(job, rec, feedback.not_graded_page(rec), t0)

    answers, notes = student_answers(student_nb, release_nb)
    exercises = {gid: get(gid.removesuffix("_tests")) for gid in tests}
    routes = {ex.id: list(ex.routes) for ex in exercises.values()}
    setup = [c.source for c in release_nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("locked")
             and not nbgrader_meta(c).get("grade")]
    flags = scan(answers, routes, setup)
    cases = {gid: judge.draw(ex, job.seed) for gid, ex in exercises.items()}
    if job.checks == "trusted":
        code = {gid: collect_source(ex.id, judge.payload(cases[gid])) for gid, ex in exercises.items()}
    else:  # the test cell's own code, visible and hidden cases, judged in the kernel (benchmark only)
        code = {gid: tests[gid].source + f"\ncheck({ex.id!r}, {', '.join(ex.names)}, hidden=True)"
                for gid, ex in exercises.items()}
    names = {n for ex in exercises.values() for n in ex.names}
    nb = build(release_nb, answers, code, needed_cells(release_nb, answers, names))

    work = Path(job.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    scratch = work / "scratch"
    scratch.mkdir(parents=True)
    for f in Path(job.release_dir).rglob("*"):  # the release's data files
        if f.is_file() and f.suffix != ".ipynb":
            dest = scratch / f.relative_to(job.release_dir)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, dest)
    if job.mpl_config:
        cache = scratch / ".config" / "matplotlib"
        cache.mkdir(parents=True)
        for f in Path(job.mpl_config).glob("fontlist-*.json"):
            shutil.copy(f, cache / f.name)
    limits = Limits.from_json(job.limits)
    uid = worker_uid()
    prepare_scratch(scratch, uid, job.sandbox)
    sockets = socket_folder(uid, job.sandbox)
    cg_name = f"{uid}-{os.getpid()}"
    cgroups = cgroup_create(cg_name, limits) if job.sandbox else []
    ex_run = Executor(nb, limits=limits, scratch=str(scratch), sandbox=job.sandbox, uid=uid, cgroups=cgroups,
                      socket_dir=str(sockets))
    try:
        executed = ex_run.run()
    except SetupFailed as exc:
        rec = Record.not_graded(job, f"the notebook's own setup did not run ({exc}): the grader's trouble, "
                                     "not the student's; grade it again", max_score=max_score)
        return _finish(job, rec, feedback.not_graded_page(rec), t0)
    finally:
        cgroup_remove(cg_name)
        shutil.rmtree(sockets, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    results: dict[str, TestResult] = {}
    index = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(executed.cells)}
    for gid, ex in exercises.items():
        i = index[gid]
        if job.checks == "trusted":
            results[gid] = judge.judge_test(gid, ex, cases[gid], ex_run.payloads.get(i, []))
        else:
            results[gid] = _kernel_verdict(executed.cells[i], ex.points, gid)
    _point_to_failed_uses(results, exercises)
    for ev in ex_run.events:
        cell = executed.cells[ev["cell"]] if "cell" in ev else None
        gid = nbgrader_meta(cell).get("grade_id", "") if cell is not None else ""
        if ev["kind"] in ("KernelDied", "CellTimeout"):
            kind = "timeout" if ev["kind"] == "CellTimeout" else "crash"
            if ev.get("role") == "test":
                flags.append(Flag(kind, gid, f"the kernel stopped while testing: {ev.get('reason')}"))
            else:
                notes.append(f"{gid or 'a cell'} failed to run: {ev.get('reason')}")
        elif ev["kind"] == "budget":
            notes.append("the hand-in used up its grading time; later cells were not run")
        elif ev["kind"] == "output_truncated":
            notes.append(f"{gid or 'a cell'} printed more than the output limit: truncated")
    for gid, t in results.items():
        if "delegation" in t.kinds:
            notes.append(f"{gid}: the answer called the library's own route while it was tested (refused)")
    rec = Record(student=job.student, aid=job.aid, key=job.key, status="graded", score=sum(t.score for t in results.values()),
                 max_score=max_score, tests=results, flags=flags, notes=list(job.notes) + notes, events=ex_run.events,
                 origin=job.origin, timestamp=job.timestamp, seed=job.seed)

    for i, c in enumerate(executed.cells):  # the instructor's copy: test cells show their verdict
        if c.cell_type == "code" and nbgrader_meta(c).get("grade_id") in results:
            t = results[nbgrader_meta(c)["grade_id"]]
            c.metadata["bpl_collect_source"] = c.source
            c.source = c.metadata.get("bpl_visible_source", c.source)
            c.outputs = [nbformat.v4.new_output("stream", name="stdout" if t.passed else "stderr",
                                                text=feedback.verdict_text(t, t.grade_id.removesuffix("_tests")) + "\n")]
    nbformat.write(executed, str(out / "graded.ipynb"))
    fb_nb = feedback.feedback_notebook(executed, ex_run.snapshot, rec, job.tamper_zero)
    page = feedback.render(fb_nb, rec, job.tamper_zero)
    found = feedback.leaks(page, list(hidden_lines))
    if found:
        rec.notes.append(f"feedback withheld: it contained {len(found)} hidden-test line(s)")
        page = feedback.not_graded_page(Record.not_graded(job, "feedback withheld; your instructor will send it"))
    return _finish(job, rec, page, t0)


def serve() -> int:
    """Read ``{"job": ..., "hidden": [...]}`` lines on stdin; answer ``done <job id>`` per line."""
    import json

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else printed goes to the log, never into the protocol
    sys.stdout = sys.stderr
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        job = Job.from_json(json.dumps(msg["job"]))
        try:
            grade_job(job, msg.get("hidden", []))
        except Exception:  # noqa: BLE001 - any grader bug becomes that hand-in's labelled failure
            tb = traceback.format_exc()
            print(tb, file=sys.stderr)
            rec = Record.not_graded(job, f"internal grader error: {tb.strip().splitlines()[-1][:300]}")
            _finish(job, rec, feedback.not_graded_page(rec), time.monotonic())
        proto.write(f"done {job.job_id}\n")
    return 0


def _point_to_failed_uses(results: dict[str, TestResult], exercises: dict) -> None:
    """A failed exercise that calls an earlier, failed answer says so: fix that one first."""
    failed = {ex.id for gid, ex in exercises.items() if gid in results and not results[gid].passed}
    for gid, ex in exercises.items():
        t = results.get(gid)
        if t is not None and not t.passed:
            t.message += failed_uses_note(ex, failed)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.exit(serve())
    sys.exit("usage: python -m autograder.grading.worker --serve")
