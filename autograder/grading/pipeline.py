"""Grade a class: a hand-in export in; grades, feedback and a class report out.

The steps, each its own module: read the export (:mod:`.export`) → take each hand-in's
answers into the release (:mod:`.notebook`) → scan them (:mod:`.scan`) → run them in a
sandboxed kernel that only hands back outputs (:mod:`.execute`) → judge the outputs outside it
(:mod:`.judge`) → write the record and the feedback page (:mod:`.worker`, :mod:`.feedback`) →
the class gradebook (:mod:`.gradebook`), the grade sheets (:mod:`.sheets`) and the report
(:mod:`.report`). This module schedules them.

Output folder::

    grades.csv              one row per student (by LMS id): a column per assignment, total, notes
    gradebook.db            the nbgrader gradebook with every score
    feedback/<student>/<assignment>.html     per-student feedback (and feedback/_mathjax/)
    report.html, report/*.png                the class report
    work/                   releases, results (record, graded notebook, feedback) per hand-in, logs

Nothing of ``solutions/`` is ever written under it: releases are built in a temporary folder
that is removed on every exit path. Re-running continues where it stopped: a hand-in whose
bytes, release and options are unchanged is not graded again (``force`` regrades all), and a
run with nothing new takes seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..course import AUTOGRADER, REPO, SOLUTIONS, answer_cells, assignments, graded_cells, notebook_path
from .records import Job, Record, Student
from .sandbox import Limits, probe

__all__ = ["DEFAULT_OUT", "DEMO_EXPORT", "GradeError", "RunSummary", "gradeable", "run", "safe_key"]

DEMO_EXPORT = AUTOGRADER / "demo" / "export.zip"
DEFAULT_OUT = AUTOGRADER / "output"
PIPELINE_VERSION = "6"


class GradeError(Exception):
    """A one-line, user-facing error."""


@dataclass
class RunSummary:
    out: Path
    students: dict[str, Student]
    records: dict[tuple[str, str], Record]
    graded_now: int = 0
    reused: int = 0
    problems: list[tuple[str | None, str | None, str]] = field(default_factory=list)
    elapsed: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[tuple[str | None, str | None, str]]:
        out = [(k, a, r.reason) for (k, a), r in sorted(self.records.items()) if not r.graded]
        return out + [p for p in self.problems if (p[0], p[1]) not in self.records]


# ---------------------------------------------------------------------------------------------
class Progress:
    """A progress line on stderr (a bar on a terminal, one line per step in a log)."""

    def __init__(self, total: int, label: str, quiet: bool = False) -> None:
        self.total, self.label, self.quiet = total, label, quiet
        self.done = self.failed = 0
        self.t0 = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.lock = threading.Lock()
        self._draw()

    def update(self, what: str = "", failed: bool = False) -> None:
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


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def _sha(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()


def safe_key(key: str) -> str:
    """A student's key as a folder name: itself when it is plain, else a slug and a hash."""
    import re

    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", key):
        return key
    slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")[:40] or "student"
    return f"{slug}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def _shard_of(key: str, n: int) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % n


def gradeable(source: Path = SOLUTIONS) -> list[str]:
    """Assignments of ``source`` that have graded test cells (the index notebook has none)."""
    import nbformat

    out = []
    for aid in assignments(source):
        path = notebook_path(aid, source)
        try:
            if path.exists() and graded_cells(nbformat.read(str(path), as_version=4)):
                out.append(aid)
        except Exception:  # noqa: BLE001, S112 - a notebook being written: not gradeable yet
            continue
    return out


# ---------------------------------------------------------------------------------------------
# releases: built from solutions/ in a temporary folder; only the releases reach work/
def _tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts):
        h.update(f.relative_to(folder).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def prepare_releases(source: Path, aids: list[str], work: Path, quiet: bool) -> tuple[dict[str, str], Path]:
    """``work/release/<aid>/`` (the student release and its data files) and
    ``work/template.db`` (nbgrader's gradebook of the assignments, with the release's cell
    sources), rebuilt only when ``solutions/`` changed. Returns ({aid: release hash}, template)."""
    import nbgrader

    want = {a: _sha(_tree_hash(source / a), nbgrader.__version__, PIPELINE_VERSION) for a in aids}
    manifest = work / "release.json"
    template = work / "template.db"
    try:
        have = json.loads(manifest.read_text())
    except (OSError, ValueError):
        have = {}
    if have == want and template.exists() and all((work / "release" / a / f"{a}.ipynb").exists() for a in aids):
        return want, template
    _say(quiet, f"preparing the release of {len(aids)} assignment(s) ...")
    from nbgrader.apps import NbGraderAPI

    from ..course import make_config

    with tempfile.TemporaryDirectory(prefix="bpl-grade-root-") as tmp:
        root = Path(tmp)
        (root / "source").mkdir()
        for aid in aids:
            shutil.copytree(source / aid, root / "source" / aid,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        db = root / "template.db"
        api = NbGraderAPI(config=make_config(root=root, db=db))
        bar = Progress(len(aids), "releasing", quiet)
        for aid in aids:
            res = api.generate_assignment(aid, force=True, create=True)
            if not res["success"]:
                raise GradeError(f"nbgrader could not release {aid}: "
                                 f"{(str(res.get('error')) or 'see log').strip().splitlines()[-1]}")
            bar.update(aid)
        _released_sources(db, root / "release", aids)
        shutil.rmtree(work / "release", ignore_errors=True)
        (work / "release").mkdir(parents=True)
        for aid in aids:
            shutil.copytree(root / "release" / aid, work / "release" / aid)
        shutil.copy(db, template)
    manifest.write_text(json.dumps(want))
    return want, template


def _released_sources(db: Path, release: Path, aids: list[str]) -> None:
    """The gradebook keeps each cell's source: make it the released one (no hidden test)."""
    import sqlite3

    import nbformat

    con = sqlite3.connect(db)
    try:
        for aid in aids:
            nb = nbformat.read(str(release / aid / f"{aid}.ipynb"), as_version=4)
            by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
            rows = con.execute("SELECT source_cell.id, source_cell.name FROM source_cell JOIN notebook ON "
                               "source_cell.notebook_id = notebook.id JOIN assignment ON notebook.assignment_id = "
                               "assignment.id WHERE assignment.name = ?", (aid,)).fetchall()
            for rid, name in rows:
                con.execute("UPDATE source_cell SET source = ? WHERE id = ?", (by_id.get(name, ""), rid))
        con.commit()
    finally:
        con.close()


def prepare_mpl_config(work: Path) -> Path:
    """A matplotlib font cache built once, copied into every sandbox: without it each kernel's
    first ``import matplotlib.pyplot`` scans the system's fonts (seconds, on every hand-in)."""
    folder = work / "mplconfig"
    if not any(folder.glob("fontlist-*.json")):
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=dict(
            os.environ, MPLCONFIGDIR=str(folder)), check=False, capture_output=True, timeout=300)
    return folder


def _secret(work: Path) -> bytes:
    """This output folder's secret: hidden cases are drawn from it (never in a notebook or the library)."""
    path = work / "secret"
    if not path.exists():
        work.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


# ---------------------------------------------------------------------------------------------
class Pool:
    """N long-lived ``autograder.grading.worker --serve`` processes; a job that outlives its
    wall-clock budget gets its worker (and with it the sandbox) killed, and is recorded."""

    def __init__(self, n: int, log_dir: Path, wall: int) -> None:
        self.n, self.log_dir, self.wall = n, log_dir, wall
        log_dir.mkdir(parents=True, exist_ok=True)

    def _spawn(self, slot: int):
        log = open(self.log_dir / f"worker-{slot}.log", "a")  # noqa: SIM115 - lives as long as the worker
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        p = subprocess.Popen([sys.executable, "-m", "autograder.grading.worker", "--serve"], cwd=str(REPO),
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

    def run(self, jobs: list[Job], hidden: dict[str, list[str]], on_done) -> None:
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
                    p.stdin.write(json.dumps({"job": asdict(job), "hidden": hidden.get(job.aid, [])}) + "\n")
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
                    from . import feedback

                    rec = Record.not_graded(job, reason)
                    rec.write(Path(job.result_dir))
                    (Path(job.result_dir) / "feedback.html").write_text(feedback.not_graded_page(rec))
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


# ---------------------------------------------------------------------------------------------
def run(export: Path = DEMO_EXPORT, out: Path = DEFAULT_OUT, *, jobs: int | None = None, force: bool = False,
        shard: tuple[int, int] | None = None, merge: list[Path] | None = None, sandbox: bool = True,
        limits: Limits | None = None, source: Path = SOLUTIONS, only: list[str] | None = None,
        tamper_zero: bool = True, quiet: bool = False, report: bool = True, checks: str = "trusted",
        roster: Path | None = None) -> RunSummary:
    """The whole pipeline; see the module docstring. Raises :class:`GradeError`."""
    import nbformat

    from .export import ExportError, read_export

    t0 = time.monotonic()
    timings: dict[str, float] = {}
    limits = limits or Limits()
    out = Path(out).resolve()
    export = Path(export)
    source = Path(source)
    if not export.exists():
        raise GradeError(f"cannot read the export {export}: no such file or folder")
    aids = [a for a in gradeable(source) if not only or a in only]
    if not aids:
        raise GradeError(f"no assignments to grade in {source}")
    if sandbox:
        ok, why = probe()
        if not ok:
            raise GradeError(f"no working sandbox: {why}. Refusing to run student code without isolation; "
                             "pass --unsandboxed to grade anyway (only for code you trust)")
    all_aids = gradeable(source)
    answer_ids = {a: set(answer_cells(nbformat.read(str(notebook_path(a, source)), as_version=4))) for a in all_aids}
    try:
        ex = read_export(export, all_aids, answer_ids)
    except ExportError as exc:
        raise GradeError(str(exc)) from None
    ex.handins = {k: h for k, h in ex.handins.items() if k[1] in aids}
    ex.problems = [p for p in ex.problems if p[1] is None or p[1] in aids]
    if not ex.handins and not ex.problems:
        raise GradeError(f"cannot read the export {export}: no notebooks of {', '.join(aids)} in it")
    students = dict(ex.students)
    if roster is not None:  # the LMS's own names (Canvas file names only carry a login), emails and ids
        from .sheets import read_roster

        for s in read_roster(roster):
            if s.key in students:
                known = students[s.key]
                students[s.key] = Student(s.key, s.name or known.name, s.email or known.email, known.source,
                                          {**known.extra, **s.extra})
            else:
                students[s.key] = s
    timings["export"] = time.monotonic() - t0
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    release_hash, template = prepare_releases(source, aids, work, quiet)
    timings["releases"] = time.monotonic() - t0 - timings["export"]
    releases = {a: nbformat.read(str(work / "release" / a / f"{a}.ipynb"), as_version=4) for a in aids}
    from ..build.release import secret_lines

    secret = secret_lines(source)
    hidden = {a: [ln for where, kind, ln in secret if kind == "hidden test" and where.startswith(f"{a}/")] for a in aids}
    secret = _secret(work)
    mpl_config = prepare_mpl_config(work)
    options = _sha(limits.to_json(), str(sandbox), checks, str(tamper_zero), PIPELINE_VERSION)
    all_jobs: list[Job] = []
    for (key, aid), h in sorted(ex.handins.items()):
        folder = safe_key(key)
        inbox = work / "inbox" / aid / f"{folder}.ipynb"
        inbox.parent.mkdir(parents=True, exist_ok=True)
        if not inbox.exists() or inbox.read_bytes() != h.data:
            inbox.write_bytes(h.data)
        data_hash = _sha(h.data)
        seed = int(_sha(secret, key, aid, data_hash)[:16], 16)
        all_jobs.append(Job(
            aid=aid, student=students.get(key, h.student), inbox=str(inbox),
            result_dir=str(work / "results" / aid / folder), work_dir=str(work / "jobs" / aid / folder),
            release_dir=str(work / "release" / aid), key=_sha(data_hash, release_hash[aid], options, *h.notes)[:32],
            seed=seed, limits=limits.to_json(), sandbox=sandbox, tamper_zero=tamper_zero, checks=checks,
            origin=h.origin, timestamp=h.timestamp, notes=list(h.notes),
            candidates={a: sorted(g) for a, g in answer_ids.items()}, mpl_config=str(mpl_config)))
    problems = list(ex.problems)
    if shard:
        i, n = shard
        all_jobs = [j for j in all_jobs if _shard_of(j.student.key, n) == i]
        students = {k: s for k, s in students.items() if _shard_of(k, n) == i}
        problems = [p for p in problems if p[0] and _shard_of(p[0], n) == i]
    for d in merge or []:
        src_results = Path(d) / "work" / "results"
        if not src_results.is_dir():
            raise GradeError(f"cannot merge {d}: it has no work/results (not a grading output folder)")
        for j in all_jobs:
            r_src = src_results / j.aid / Path(j.result_dir).name
            r = Record.read(r_src)
            if r and r.key == j.key and not force and Path(j.result_dir).resolve() != r_src.resolve():
                shutil.rmtree(j.result_dir, ignore_errors=True)
                shutil.copytree(r_src, j.result_dir)
    todo = []
    for j in all_jobs:
        r = Record.read(Path(j.result_dir))
        if force or r is None or r.key != j.key or not (Path(j.result_dir) / "feedback.html").exists():
            todo.append(j)
    reused = len(all_jobs) - len(todo)
    n = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    mode = "sandboxed (bwrap)" if sandbox else "UNSANDBOXED"
    _say(quiet, f"grading {len(todo)} hand-in(s) of {len(students)} student(s) on {n} worker(s), {mode}"
         + (f"; {reused} unchanged since the last run" if reused else ""))
    if not sandbox:
        _say(quiet, "WARNING: --unsandboxed: student code runs with your rights, network and files "
                    "(resource limits still apply)")
    t1 = time.monotonic()
    if todo:
        bar = Progress(len(todo), "grading", quiet)

        def done(job: Job) -> None:
            r = Record.read(Path(job.result_dir))
            bar.update(job.job_id, failed=r is None or not r.graded)

        Pool(n, work / "logs", limits.wall_seconds).run(todo, hidden, done)
    timings["grading"] = time.monotonic() - t1
    shutil.rmtree(work / "jobs", ignore_errors=True)
    records: dict[tuple[str, str], Record] = {}
    for j in all_jobs:
        r = Record.read(Path(j.result_dir))
        if r is None:
            r = Record.not_graded(j, "no result was written (see work/logs)")
        r.student = students.get(j.student.key, r.student)
        records[(j.student.key, j.aid)] = r
    summary = RunSummary(out, students, records, graded_now=len(todo), reused=reused, problems=problems)
    if shard:
        summary.elapsed = time.monotonic() - t0
        _say(quiet, f"shard {shard[0]}/{shard[1]}: {len(records)} result(s) in {work / 'results'}; merge the shards "
                    "with: python -m autograder.grade EXPORT --merge SHARD_DIR... -o OUT")
        return summary
    from .feedback import install_mathjax, not_graded_page
    from .gradebook import write_gradebook
    from .sheets import write_sheets

    t2 = time.monotonic()
    write_gradebook(out, template, students, records, tamper_zero, quiet=quiet)
    timings["gradebook"] = time.monotonic() - t2
    t2 = time.monotonic()
    fb = out / "feedback"
    fb.mkdir(exist_ok=True)
    install_mathjax(fb)
    for (key, aid), r in records.items():
        dest = fb / safe_key(key) / f"{aid}.html"
        src = Path(work / "results" / aid / safe_key(key) / "feedback.html")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.exists() and (not dest.exists() or dest.stat().st_mtime < src.stat().st_mtime
                             or dest.stat().st_size != src.stat().st_size):
            shutil.copy2(src, dest)
    for key, aid, why in problems:
        if key and aid and (key, aid) not in records:
            dest = fb / safe_key(key) / f"{aid}.html"
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(not_graded_page(Record(students[key], aid, "", reason=why)))
    timings["feedback"] = time.monotonic() - t2
    t2 = time.monotonic()
    write_sheets(out, aids, releases, students, records, problems, tamper_zero)
    timings["sheets"] = time.monotonic() - t2
    if report:
        from .report import write_report

        t2 = time.monotonic()
        _say(quiet, "writing the class report ...")
        write_report(out, aids, releases, students, records, problems, ex.ignored, tamper_zero, quiet=quiet)
        timings["report"] = time.monotonic() - t2
    summary.elapsed = time.monotonic() - t0
    summary.timings = timings
    graded = sum(r.graded for r in records.values())
    flagged = sum(bool(r.tampering) for r in records.values())
    _say(quiet, f"graded {graded} of {len(records)} hand-in(s) in {summary.elapsed:.0f} s; "
                f"{len(summary.failed)} not graded, {flagged} flagged for review")
    _say(quiet, f"grades:   {out / 'grades.csv'}\nfeedback: {fb}\nreport:   {out / 'report.html'}")
    return summary
