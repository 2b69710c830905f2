"""Grade one submission in a private nbgrader course root: the unit of parallel work.

    python -m autograder.worker --serve      # read job specs (JSON lines) on stdin

A job: read and check the hand-in; rebuild the notebook to grade (:mod:`autograder.tamper`);
write it as the only submission of a private course root with its own copy of the
gradebook; run **nbgrader autograde** there (the real ``NbGraderAPI``), whose execute step
is :class:`~autograder.execute.GuardedExecute` with a sandboxed kernel; read the scores from
that private gradebook and the verdicts from the executed notebook; write ``result.json``.
Only the parent process writes the class gradebook (:mod:`autograder.gradebook`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

import nbformat

from . import tamper
from .course import answer_cells, graded_cells, make_config, notebook_path
from .execute import events as read_events
from .sandbox import Limits, cgroup_create, cgroup_remove, prepare_scratch, socket_folder, worker_uid

__all__ = ["Unreadable", "grade_job", "read_handin"]


class Unreadable(Exception):
    """The hand-in cannot be graded; ``str()`` is the reason shown to the instructor."""


def read_handin(path: Path, aid: str, source_nb, candidates: dict[str, set[str]]) -> nbformat.NotebookNode:
    """Parse and check a handed-in file; raise :class:`Unreadable` with the reason."""
    raw = path.read_bytes()
    if not raw.strip():
        raise Unreadable("empty file")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Unreadable("not a notebook: the file is not UTF-8 text") from None
    except ValueError as exc:
        raise Unreadable(f"invalid notebook JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise Unreadable("not a notebook: no list of cells")
    if data.get("nbformat") != 4:
        raise Unreadable(f"unsupported notebook format {data.get('nbformat')!r} (expected 4)")
    try:
        nb = nbformat.from_dict(data)
        for c in nb.cells:
            c.setdefault("metadata", {})
            if isinstance(c.get("source"), list):
                c.source = "".join(c.source)
            if not isinstance(c.get("source", ""), str) or c.get("cell_type") not in ("code", "markdown", "raw"):
                raise ValueError("bad cell")
    except Exception:  # noqa: BLE001 - whatever nbformat objects to
        raise Unreadable("not a notebook: malformed cells") from None
    mine = set(answer_cells(source_nb))
    ids = {(c.get("metadata", {}).get("nbgrader") or {}).get("grade_id") for c in nb.cells}
    if not ids & (mine | set(graded_cells(source_nb))):
        other = tamper.assignment_of(nb, {a: g for a, g in candidates.items() if a != aid})
        if other:
            raise Unreadable(f"wrong notebook: this is {other}, not {aid}")
        names = set().union(*(tamper.defined_functions(c.source) for c in answer_cells(source_nb).values()))
        found = set().union(set(), *(tamper.defined_functions(c.source) for c in nb.cells if c.cell_type == "code"))
        if not names & found:
            raise Unreadable(f"wrong notebook: none of the exercises of {aid} is in it")
    return nb


def _atomic_json(path: Path, obj) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _first_error(cell) -> tuple[str, str] | None:
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            return o.get("ename", "Error"), str(o.get("evalue", "")).strip().splitlines()[0][:300] if str(o.get("evalue", "")).strip() else ""
    return None


def _stderr(cell) -> bool:
    return any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in cell.get("outputs", []))


def grade_job(job: dict) -> dict:
    """Grade one (student, assignment); return and write the result."""
    t0 = time.monotonic()
    aid, student = job["aid"], job["student"]
    result_dir = Path(job["result_dir"])
    result_dir.mkdir(parents=True, exist_ok=True)
    res = {"aid": aid, "student": student, "key": job["key"], "status": "failed", "reason": "",
           "score": 0.0, "max_score": 0.0, "tests": {}, "tampering": [], "notes": list(job.get("notes", [])),
           "events": [], "origin": job.get("origin", ""), "timestamp": job.get("timestamp")}
    root = Path(job["root"])
    source_nb = nbformat.read(str(notebook_path(aid, root / "source")), as_version=4)
    release_nb = nbformat.read(str(notebook_path(aid, root / "release")), as_version=4)
    res["max_score"] = float(sum(float(c.metadata.nbgrader.get("points", 0)) for c in graded_cells(source_nb).values()))
    try:
        student_nb = read_handin(Path(job["inbox"]), aid, source_nb,
                                 {a: set(g) for a, g in job.get("candidates", {}).items()})
    except Unreadable as exc:
        res["reason"] = str(exc)
        res["elapsed"] = round(time.monotonic() - t0, 2)
        _atomic_json(result_dir / "result.json", res)
        return res
    graded_nb, notes, nonces = tamper.build(source_nb, release_nb, student_nb)
    res["notes"] += notes

    jd = Path(job["job_dir"])
    if jd.exists():
        shutil.rmtree(jd)
    (jd / "source" / aid).mkdir(parents=True)
    shutil.copy(job["template_db"], jd / "gradebook.db")
    sub = jd / "submitted" / student / aid
    sub.mkdir(parents=True)
    nbformat.write(graded_nb, str(sub / f"{aid}.ipynb"))
    if job.get("timestamp"):
        (sub / "timestamp.txt").write_text(job["timestamp"])
    scratch = jd / "scratch"
    scratch.mkdir()
    for f in (root / "release" / aid).rglob("*"):  # the release's data files, never the solutions
        if f.is_file() and f.suffix != ".ipynb":
            dest = scratch / f.relative_to(root / "release" / aid)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, dest)
    limits = Limits.from_json(job["limits"])
    uid = worker_uid()
    prepare_scratch(scratch, uid, job["sandbox"])

    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.apps import NbGraderAPI
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from .execute import GuardedExecute

    c = make_config(root=jd, db=jd / "gradebook.db")
    c.Autograde.autograde_preprocessors = [GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                           SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    c.GuardedExecute.timeout = limits.cell_timeout
    c.GuardedExecute.startup_timeout = 120
    c.GuardedExecute.limits_json = limits.to_json()
    c.GuardedExecute.events_path = str(jd / "events.jsonl")
    c.SandboxedKernelManager.scratch = str(scratch)
    c.SandboxedKernelManager.sandbox = bool(job["sandbox"])
    c.SandboxedKernelManager.uid = uid
    c.SandboxedKernelManager.limits_json = limits.to_json()
    sockets = socket_folder(uid, job["sandbox"])
    c.SandboxedKernelManager.socket_dir = str(sockets)
    cg_name = f"{uid}-{os.getpid()}"
    c.SandboxedKernelManager.cgroups = cgroup_create(cg_name, limits) if job["sandbox"] else []
    api = NbGraderAPI(config=c)
    try:
        out = api.autograde(aid, student, force=True, create=True)
    finally:
        cgroup_remove(cg_name)
        shutil.rmtree(sockets, ignore_errors=True)
    res["events"] = read_events(jd / "events.jsonl")
    graded_path = jd / "autograded" / student / aid / f"{aid}.ipynb"
    if not out["success"] or not graded_path.exists():
        err = (str(out.get("error") or "").strip().splitlines() or ["unknown error"])[-1]
        why = [f"{e['kind']}: {e.get('reason', '')}" for e in res["events"] if e.get("reason")]
        res["reason"] = f"nbgrader autograde failed: {err[:200]}" + (f" (after {'; '.join(why)[:300]})" if why else "")
        (result_dir / "autograde.log").write_text(str(out.get("log", "")) + "\n" + str(out.get("error", "")))
        res["elapsed"] = round(time.monotonic() - t0, 2)
        _atomic_json(result_dir / "result.json", res)
        return res

    from nbgrader.api import Gradebook

    executed = nbformat.read(str(graded_path), as_version=4)
    problems, diagnoses = tamper.read_guards(executed, nonces)
    with Gradebook(c.CourseDirectory.db_url) as gb:
        snb = gb.find_submission_notebook(aid, aid, student)
        scores = {g.name: (float(g.auto_score or 0), float(g.max_score)) for g in snb.grades if g.cell_type == "code"}
    for cell in executed.cells:
        gid = (cell.metadata.get("nbgrader") or {}).get("grade_id")
        if gid not in scores or not cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        err = _first_error(cell)
        s, m = scores[gid]
        t = {"score": s, "max": m, "status": "pass" if s >= m else "fail", "ename": "", "message": "", "kinds": []}
        if err:
            t["ename"], t["message"] = err
        elif s < m and _stderr(cell):
            t["ename"], t["message"] = "stderr", "the test wrote to stderr (a warning?)"
        diags = diagnoses.get(gid, [])
        t["kinds"] = [k for k, _ in diags]
        if diags and not t["message"]:
            t["message"] = diags[-1][1][:300]
        if err and err[0] in ("KernelDied", "CellTimeout", "NotRun"):
            t["kinds"] = [{"KernelDied": "crash", "CellTimeout": "timeout", "NotRun": "not_run"}[err[0]]]
        elif not t["kinds"] and s < m:
            t["kinds"] = [err[0] if err else "failed"]
        res["tests"][gid] = t
    # crashes outside test cells (an answer cell that kills its kernel) are part of the record too
    for ev in res["events"]:
        if ev.get("kind") in ("KernelDied", "CellTimeout") and ev.get("role") == "answer":
            res["notes"].append(f"an answer cell failed to run: {ev.get('reason')}")
    res["tampering"] = problems
    res["score"] = float(sum(t["score"] for t in res["tests"].values()))
    res["status"] = "graded"
    res["elapsed"] = round(time.monotonic() - t0, 2)
    shutil.copy(graded_path, result_dir / "graded.ipynb")
    _atomic_json(result_dir / "result.json", res)
    if not job.get("keep_work"):
        shutil.rmtree(jd, ignore_errors=True)
    return res


def _serve() -> int:
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else printed goes to the log, never into the protocol
    sys.stdout = sys.stderr
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        try:
            grade_job(job)
            proto.write(f"done {job['job_id']}\n")
        except Exception:  # noqa: BLE001 - any grader bug becomes that submission's labelled failure
            tb = traceback.format_exc()
            print(tb, file=sys.stderr)
            last = tb.strip().splitlines()[-1]
            res = {"aid": job["aid"], "student": job["student"], "key": job["key"], "status": "failed",
                   "reason": f"internal grader error: {last[:300]}", "score": 0.0, "max_score": 0.0, "tests": {},
                   "tampering": [], "notes": list(job.get("notes", [])), "events": [], "origin": job.get("origin", "")}
            Path(job["result_dir"]).mkdir(parents=True, exist_ok=True)
            _atomic_json(Path(job["result_dir"]) / "result.json", res)
            proto.write(f"done {job['job_id']}\n")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.exit(_serve())
    sys.exit("usage: python -m autograder.worker --serve")
