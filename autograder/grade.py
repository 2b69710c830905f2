"""Grade a class: a hand-in export in, grades, feedback and a class report out.

    python -m autograder.grade                          # the demo class -> autograder/output/
    python -m autograder.grade hand-ins.zip -o out/     # a zip from the LMS, or a folder
    python -m autograder.grade hand-ins.zip --shard 0/4 -o shard0/   # one of four machines
    python -m autograder.grade hand-ins.zip --merge shard*/ -o out/  # then merge them

Output folder::

    gradebook.db            nbgrader gradebook with every score (rebuilt from results each run)
    grades.csv              one row per student: a column per assignment, total, notes
    nbgrader_export.csv     nbgrader's own export (one row per student and assignment)
    feedback/<student>/<assignment>.html     per-student feedback, no hidden test in it
    report.html, report/*.png                the class report
    nbgrader/               the course root (source, release, autograded, feedback)
    work/results/<assignment>/<student>/     per-submission result.json and executed notebook
    work/logs/              worker logs

Each submission is graded by a worker process in a private nbgrader root with its own
gradebook copy (:mod:`autograder.worker`); this process is the only writer of the class
gradebook. Re-running continues where it stopped: a submission whose hand-in, notebook
source and options are unchanged is not graded again (``--force`` regrades everything).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .course import AUTOGRADER, REPO, SOLUTIONS, answer_cells, assignments, make_config, notebook_path
from .sandbox import Limits, probe

__all__ = ["DEFAULT_OUT", "DEMO_EXPORT", "RunSummary", "main", "run"]

DEMO_EXPORT = AUTOGRADER / "demo" / "export.zip"
DEFAULT_OUT = AUTOGRADER / "output"
PIPELINE_VERSION = "1"


class GradeError(Exception):
    """A one-line, user-facing error."""


@dataclass
class RunSummary:
    out: Path
    students: list[str]
    results: dict[tuple[str, str], dict]
    graded_now: int = 0
    reused: int = 0
    failed: list[tuple[str, str | None, str]] = field(default_factory=list)
    elapsed: float = 0.0


# ---------------------------------------------------------------------------------------------
# progress
class Progress:
    def __init__(self, total: int, label: str, quiet: bool = False) -> None:
        self.total, self.label, self.quiet = total, label, quiet
        self.done = self.failed = 0
        self.t0 = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.lock = threading.Lock()
        self._draw()

    def update(self, what: str, failed: bool = False) -> None:
        with self.lock:
            self.done += 1
            self.failed += failed
            self._draw(what)

    def _draw(self, what: str = "") -> None:
        if self.quiet or not self.total:
            return
        width = 28
        filled = int(width * self.done / self.total)
        el = time.monotonic() - self.t0
        eta = el / self.done * (self.total - self.done) if self.done else 0
        bar = f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
        bar += f" · {self.failed} not graded" if self.failed else ""
        bar += f" · {el:.0f}s" + (f", eta {eta:.0f}s" if self.done and self.done < self.total else "")
        if self.tty:
            sys.stderr.write("\r" + bar[:150].ljust(150) + ("\n" if self.done == self.total else ""))
        else:
            sys.stderr.write(bar + (f"  {what}" if what else "") + "\n")
        sys.stderr.flush()


# ---------------------------------------------------------------------------------------------
# the course root of this run
def prepare_root(out: Path, source: Path, aids: list[str]) -> Path:
    """A fresh nbgrader course root in ``out/nbgrader`` with the assignments released, and
    a template gradebook (assignments only, no students) in ``out/work/template.db``."""
    from nbgrader.apps import NbGraderAPI

    root = out / "nbgrader"
    for sub in ("source", "release", "autograded", "feedback", "submitted"):
        shutil.rmtree(root / sub, ignore_errors=True)
    (root / "source").mkdir(parents=True)
    for aid in aids:
        shutil.copytree(source / aid, root / "source" / aid,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    template = out / "work" / "template.db"
    template.parent.mkdir(parents=True, exist_ok=True)
    template.unlink(missing_ok=True)
    api = NbGraderAPI(config=make_config(root=root, db=template))
    for aid in aids:
        res = api.generate_assignment(aid, force=True, create=True)
        if not res["success"]:
            raise GradeError(f"nbgrader could not release {aid}: "
                             f"{(str(res.get('error')) or 'see log').strip().splitlines()[-1]}")
    return root


def gradeable(source: Path = SOLUTIONS) -> list[str]:
    """Assignments of ``source`` that have graded test cells (the index notebook has none)."""
    import nbformat

    from .course import graded_cells

    out = []
    for aid in assignments(source):
        path = notebook_path(aid, source)
        try:
            if path.exists() and graded_cells(nbformat.read(str(path), as_version=4)):
                out.append(aid)
        except Exception:  # noqa: BLE001, S112 - a notebook being written: not gradeable yet
            continue
    return out


def _sha(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()[:24]


def _shard_of(student: str, n: int) -> int:
    return int(hashlib.sha1(student.encode()).hexdigest(), 16) % n


# ---------------------------------------------------------------------------------------------
# the worker pool: one writer (this process), N grading workers
class Pool:
    """N long-lived ``autograder.worker --serve`` processes; a job that outlives its
    wall-clock budget gets its worker (and with it the sandbox) killed and is recorded."""

    def __init__(self, n: int, log_dir: Path, wall: int) -> None:
        self.n, self.log_dir, self.wall = n, log_dir, wall
        log_dir.mkdir(parents=True, exist_ok=True)

    def _spawn(self, slot: int):
        log = open(self.log_dir / f"worker-{slot}.log", "a")  # noqa: SIM115 - lives as long as the worker
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        p = subprocess.Popen([sys.executable, "-m", "autograder.worker", "--serve"], cwd=str(REPO),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                             start_new_session=True, env=env)
        lines: queue.Queue = queue.Queue()

        def reader():
            for line in p.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=reader, daemon=True).start()
        return p, lines, log

    @staticmethod
    def _kill(p) -> None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        p.wait()

    def run(self, jobs: list[dict], on_done) -> None:
        todo: queue.Queue = queue.Queue()
        for j in jobs:
            todo.put(j)

        def slot(i: int) -> None:
            worker = None
            while True:
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    break
                if worker is None or worker[0].poll() is not None:
                    worker = self._spawn(i)
                p, lines, _ = worker
                reason = None
                try:
                    p.stdin.write(json.dumps(job) + "\n")
                    p.stdin.flush()
                    line = lines.get(timeout=self.wall + 180)
                    if line is None:
                        reason = "the grading worker crashed (see work/logs)"
                except queue.Empty:
                    reason = f"grading took longer than the wall-clock limit ({self.wall} s + margin): stopped"
                except (BrokenPipeError, OSError):
                    reason = "the grading worker crashed (see work/logs)"
                if reason:
                    self._kill(p)
                    worker = None
                    _write_failure(job, reason)
                on_done(job)
            if worker is not None:
                try:
                    worker[0].stdin.close()
                except OSError:
                    pass
                try:
                    worker[0].wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._kill(worker[0])

        threads = [threading.Thread(target=slot, args=(i,), daemon=True) for i in range(self.n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def _write_failure(job: dict, reason: str) -> None:
    d = Path(job["result_dir"])
    d.mkdir(parents=True, exist_ok=True)
    res = {"aid": job["aid"], "student": job["student"], "key": job["key"], "status": "failed",
           "reason": reason, "score": 0.0, "max_score": 0.0, "tests": {}, "tampering": [],
           "notes": list(job.get("notes", [])), "events": [], "origin": job.get("origin", "")}
    (d / "result.json").write_text(json.dumps(res, indent=1))


def _load_result(d: Path) -> dict | None:
    try:
        return json.loads((d / "result.json").read_text())
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# gradebook, feedback, CSV
def rebuild_gradebook(out: Path, root: Path, students: list[str], results: dict, tamper_zero: bool) -> Path:
    """The class gradebook from the template and every result (this process is its only writer)."""
    from nbgrader.api import Gradebook

    db = out / "gradebook.db"
    tmp = out / "work" / "gradebook.tmp.db"
    tmp.unlink(missing_ok=True)
    shutil.copy(out / "work" / "template.db", tmp)
    with Gradebook(f"sqlite:///{tmp}") as gb, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader's own autoflush noise
        for s in students:
            gb.update_or_create_student(s)
        for (student, aid), r in sorted(results.items()):
            ts = None
            if r.get("timestamp"):
                try:
                    ts = datetime.fromisoformat(r["timestamp"])
                except ValueError:
                    ts = None
            gb.update_or_create_submission(aid, student, **({"timestamp": ts} if ts else {}))
            snb = gb.find_submission_notebook(aid, aid, student)
            for g in snb.grades:
                t = r.get("tests", {}).get(g.name)
                if r["status"] == "graded" and t is not None:
                    g.auto_score = t["score"]
                    g.needs_manual_grade = False
                    if r.get("tampering") and tamper_zero:
                        g.manual_score = 0.0
                else:
                    g.auto_score = 0.0
                    g.needs_manual_grade = r["status"] != "graded"
            gb.db.commit()
    os.replace(tmp, db)
    return db


def write_feedback(out: Path, root: Path, results: dict) -> list[str]:
    """Sanitised notebooks into the root's autograded/, nbgrader's generate_feedback, then a
    last check of each page. Returns leak warnings (empty when clean)."""
    import nbformat
    from nbgrader.apps import NbGraderAPI

    from .feedback import failed_feedback_html, leaks, sanitize

    fb = out / "feedback"
    shutil.rmtree(fb, ignore_errors=True)
    shutil.rmtree(root / "autograded", ignore_errors=True)
    shutil.rmtree(root / "feedback", ignore_errors=True)
    sources = {}
    for (student, aid), r in results.items():
        if aid not in sources:
            sources[aid] = nbformat.read(str(notebook_path(aid, root / "source")), as_version=4)
        graded = out / "work" / "results" / aid / student / "graded.ipynb"
        if r["status"] == "graded" and graded.exists():
            nb = sanitize(nbformat.read(str(graded), as_version=4), sources[aid])
            dest = root / "autograded" / student / aid / f"{aid}.ipynb"
            dest.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(dest))
    api = NbGraderAPI(config=make_config(root=root, db=out / "gradebook.db"))
    for aid in sorted(sources):
        if any(r["status"] == "graded" for (s, a), r in results.items() if a == aid):
            res = api.generate_feedback(aid, force=True)
            if not res["success"]:
                raise GradeError(f"nbgrader generate_feedback failed for {aid}: "
                                 f"{str(res.get('error')).strip().splitlines()[-1:]}")
    problems = []
    for (student, aid), r in sorted(results.items()):
        dest = fb / student / f"{aid}.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        page = root / "feedback" / student / aid / f"{aid}.html"
        if r["status"] == "graded" and page.exists():
            text = page.read_text()
            found = leaks(text, sources[aid])
            if found:  # never ship it: the student gets the short page, the instructor a warning
                problems.append(f"{student}/{aid}: feedback withheld, it contained {len(found)} hidden-test line(s)")
                text = failed_feedback_html(student, aid, "feedback withheld; your instructor will send it")
            dest.write_text(text)
        else:
            dest.write_text(failed_feedback_html(student, aid, r.get("reason") or "not graded"))
    return problems


def _fmt(x: float) -> str:
    return f"{x:g}"


def write_csvs(out: Path, root: Path, students: list[str], aids: list[str], results: dict,
               problems: list[tuple[str | None, str | None, str]], tamper_zero: bool) -> Path:
    """grades.csv (one row per student, from the gradebook) and nbgrader's own export."""
    import csv

    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.plugins import CsvExportPlugin

    path = out / "grades.csv"
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb, open(path, "w", newline="") as f:
        CsvExportPlugin(to=str(out / "nbgrader_export.csv")).export(gb)
        w = csv.writer(f)
        w.writerow(["student", *aids, "total", "max_total", "notes"])
        maxes = {a: gb.find_assignment(a).max_score for a in aids}
        for s in students:
            row, total, notes = [s], 0.0, []
            for a in aids:
                r = results.get((s, a))
                try:
                    sc = float(gb.find_submission(a, s).score)
                except MissingEntry:
                    sc = None
                if r is None:
                    why = [p[2] for p in problems if p[0] == s and p[1] in (a, None)]
                    row.append("")
                    if why:
                        notes.append(f"{a}: NOT GRADED ({'; '.join(why)})")
                    continue
                row.append(_fmt(sc or 0.0))
                total += sc or 0.0
                if r["status"] != "graded":
                    notes.append(f"{a}: NOT GRADED ({r.get('reason')})")
                if r.get("tampering"):
                    notes.append(f"{a}: TAMPERING ({r['tampering'][0]}{' ...' if len(r['tampering']) > 1 else ''})"
                                 + ("; scored 0 for review" if tamper_zero else ""))
                crashes = [f"{g}: {t['message']}" for g, t in r.get("tests", {}).items()
                           if t.get("ename") in ("KernelDied", "CellTimeout", "NotRun")]
                if crashes:
                    notes.append(f"{a}: " + "; ".join(crashes))
            row += [_fmt(total), _fmt(sum(maxes.values())), " | ".join(notes)]
            w.writerow(row)
    return path


# ---------------------------------------------------------------------------------------------
def run(export: Path = DEMO_EXPORT, out: Path = DEFAULT_OUT, *, jobs: int | None = None, force: bool = False,
        shard: tuple[int, int] | None = None, merge: list[Path] | None = None, sandbox: bool = True,
        limits: Limits | None = None, source: Path = SOLUTIONS, only: list[str] | None = None,
        tamper_zero: bool = True, quiet: bool = False, report: bool = True) -> RunSummary:
    """The whole pipeline; see the module docstring. Raises :class:`GradeError`."""
    import nbformat

    from .export import ExportError, read_export

    t0 = time.monotonic()
    limits = limits or Limits()
    out = Path(out).resolve()
    export = Path(export)
    aids = [a for a in gradeable(source) if not only or a in only]
    if not aids:
        raise GradeError(f"no assignments to grade in {source}")
    if sandbox:
        ok, why = probe()
        if not ok:
            raise GradeError(f"no working sandbox: {why}. Refusing to run student code without isolation; "
                             "pass --unsandboxed to grade anyway (only for code you trust)")
    out.mkdir(parents=True, exist_ok=True)
    root = prepare_root(out, source, aids)
    srcs = {a: nbformat.read(str(notebook_path(a, root / "source")), as_version=4) for a in aids}
    answer_ids = {a: set(answer_cells(nb)) for a, nb in srcs.items()}
    try:
        ex = read_export(export, gradeable(source), answer_ids)
    except ExportError as exc:
        raise GradeError(str(exc)) from None
    # hand-ins of assignments not graded in this run (--assignments) are left out quietly
    ex.handins = {k: h for k, h in ex.handins.items() if k[1] in aids}
    ex.problems = [p for p in ex.problems if p[1] is None or p[1] in aids]
    if not ex.handins and not ex.problems:
        raise GradeError(f"cannot read the export {export}: no notebooks in it")
    students = sorted(ex.students)
    src_hash = {a: _sha((root / "source" / a / f"{a}.ipynb").read_bytes(),
                        (root / "release" / a / f"{a}.ipynb").read_bytes()) for a in aids}
    inbox = out / "work" / "inbox"
    all_jobs = []
    for (student, aid), h in sorted(ex.handins.items()):
        path = inbox / aid / f"{student}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != h.data:
            path.write_bytes(h.data)
        key = _sha(h.data, src_hash[aid], limits.to_json(), str(sandbox), PIPELINE_VERSION, ",".join(h.notes))
        all_jobs.append({
            "job_id": f"{aid}/{student}", "aid": aid, "student": student, "inbox": str(path),
            "job_dir": str(out / "work" / "jobs" / aid / student),
            "result_dir": str(out / "work" / "results" / aid / student),
            "root": str(root), "template_db": str(out / "work" / "template.db"),
            "limits": limits.to_json(), "sandbox": sandbox, "key": key, "notes": h.notes,
            "origin": h.origin, "timestamp": h.timestamp,
            "candidates": {a: sorted(g) for a, g in answer_ids.items()},
        })
    if shard:
        i, n = shard
        all_jobs = [j for j in all_jobs if _shard_of(j["student"], n) == i]
        students = [s for s in students if _shard_of(s, n) == i]
    for d in merge or []:
        src_results = Path(d) / "work" / "results"
        if not src_results.is_dir():
            raise GradeError(f"cannot merge {d}: it has no work/results (not a grading output folder)")
        for j in all_jobs:
            r_src = src_results / j["aid"] / j["student"]
            r = _load_result(r_src)
            if r and r.get("key") == j["key"] and not force:
                dest = Path(j["result_dir"])
                if dest.resolve() != r_src.resolve():
                    shutil.rmtree(dest, ignore_errors=True)
                    shutil.copytree(r_src, dest)
    todo, reused = [], 0
    for j in all_jobs:
        r = _load_result(Path(j["result_dir"]))
        if r and r.get("key") == j["key"] and not force:
            reused += 1
        else:
            todo.append(j)
    n = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    if not quiet:
        mode = "sandboxed (bwrap)" if sandbox else "UNSANDBOXED"
        print(f"grading {len(todo)} submission(s) of {len(students)} student(s) on {n} worker(s), {mode}"
              + (f"; {reused} unchanged from the last run" if reused else ""), file=sys.stderr)
    if not sandbox and not quiet:
        print("WARNING: --unsandboxed: student code runs with your rights, network and files "
              "(resource limits still apply)", file=sys.stderr)
    bar = Progress(len(todo), "grading", quiet)

    def done(job):
        r = _load_result(Path(job["result_dir"])) or {}
        bar.update(job["job_id"], failed=r.get("status") != "graded")

    if todo:
        Pool(n, out / "work" / "logs", limits.wall_seconds).run(todo, done)
    results = {}
    for j in all_jobs:
        r = _load_result(Path(j["result_dir"]))
        if r is not None:
            results[(j["student"], j["aid"])] = r
    summary = RunSummary(out, students, results, graded_now=len(todo), reused=reused)
    summary.failed = [(s, a, r.get("reason", "")) for (s, a), r in sorted(results.items()) if r["status"] != "graded"]
    shard_problems = [p for p in ex.problems if not shard or (p[0] and _shard_of(p[0], shard[1]) == shard[0])]
    summary.failed += [p for p in shard_problems if (p[0], p[1]) not in results]
    if shard:
        summary.elapsed = time.monotonic() - t0
        if not quiet:
            print(f"shard {shard[0]}/{shard[1]}: {len(results)} result(s) in {out / 'work' / 'results'}; "
                  "merge the shards with: python -m autograder.grade EXPORT --merge SHARD_DIR... -o OUT",
                  file=sys.stderr)
        return summary
    rebuild_gradebook(out, root, students, results, tamper_zero)
    leak_warnings = write_feedback(out, root, results)
    write_csvs(out, root, students, aids, results, shard_problems, tamper_zero)
    if report:
        from .report import write_report

        write_report(out, aids, srcs, students, results, shard_problems, ex.ignored, leak_warnings, tamper_zero)
    summary.elapsed = time.monotonic() - t0
    if not quiet:
        flagged = sum(1 for r in results.values() if r.get("tampering"))
        print(f"graded {len(results) - sum(r['status'] != 'graded' for r in results.values())} of "
              f"{len(results)} submission(s) in {summary.elapsed:.0f} s; {len(summary.failed)} not graded, "
              f"{flagged} flagged for tampering", file=sys.stderr)
        for w in leak_warnings:
            print("WARNING: " + w, file=sys.stderr)
        print(f"grades:   {out / 'grades.csv'}\nfeedback: {out / 'feedback'}\nreport:   {out / 'report.html'}",
              file=sys.stderr)
    return summary


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError("use I/N, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise argparse.ArgumentTypeError("need 0 <= I < N")
    return i, n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m autograder.grade", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("export", nargs="?", type=Path, default=DEMO_EXPORT,
                    help="hand-in export: a zip or a folder (default: the demo class)")
    ap.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT, help="output folder (default: autograder/output)")
    ap.add_argument("-j", "--jobs", type=int, default=None, help="parallel workers (default: one per core)")
    ap.add_argument("--force", action="store_true", help="regrade everything, even unchanged submissions")
    ap.add_argument("--shard", type=_shard, metavar="I/N", help="grade only shard I of N (by student); merge later")
    ap.add_argument("--merge", type=Path, nargs="+", metavar="DIR", help="output folders of shards to merge")
    ap.add_argument("--assignments", nargs="+", metavar="ID", help="grade only these assignments")
    ap.add_argument("--unsandboxed", action="store_true",
                    help="run student code without bwrap isolation (only resource limits); for trusted code")
    ap.add_argument("--keep-tampered-scores", action="store_true",
                    help="keep the (repaired) scores of submissions flagged for tampering instead of 0")
    d = Limits()
    ap.add_argument("--cell-timeout", type=int, default=d.cell_timeout, help="seconds per cell (default %(default)s)")
    ap.add_argument("--timeout", type=int, default=d.wall_seconds, help="seconds per submission (default %(default)s)")
    ap.add_argument("--cpu", type=int, default=d.cpu_seconds, help="CPU seconds per kernel (default %(default)s)")
    ap.add_argument("--memory", type=int, default=d.memory_mb, help="MB of address space (default %(default)s)")
    ap.add_argument("--nproc", type=int, default=d.nproc, help="processes per sandbox (default %(default)s)")
    ap.add_argument("--fsize", type=int, default=d.fsize_mb, help="largest file in MB (default %(default)s)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    a = ap.parse_args(argv)
    known = gradeable()
    for aid in a.assignments or []:
        if aid not in known:
            ap.error(f"unknown assignment {aid!r}; solutions/ has: {', '.join(known)}")
    limits = Limits(cell_timeout=a.cell_timeout, wall_seconds=a.timeout, cpu_seconds=a.cpu,
                    memory_mb=a.memory, nproc=a.nproc, fsize_mb=a.fsize)
    try:
        run(a.export, a.out, jobs=a.jobs, force=a.force, shard=a.shard, merge=a.merge, sandbox=not a.unsandboxed,
            limits=limits, only=a.assignments, tamper_zero=not a.keep_tampered_scores, quiet=a.quiet)
    except GradeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished submissions are kept; run the same command again to continue",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
