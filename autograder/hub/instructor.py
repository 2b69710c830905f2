"""The instructor's loop on the hub: release, (due), collect, grade, feedback.

Each step is one command (``python -m autograder.hub <step> <assignment>``, as root on the hub
machine) and works on nbgrader's own folders and exchange:

- **release**: the course's release build turns ``solutions/<aid>`` into the student version
  (the same checked build as ``course/``), nbgrader records the assignment's cells and points
  in the course gradebook, and nbgrader's ``release_assignment`` (run as the grader account)
  puts it in the exchange's outbound folder;
- **collect**: the exchange's inbound folder is swept first (a submission whose name claims
  another student than the account that wrote it, a symbolic link, or an oversized entry is
  moved to ``quarantine/``; a claimed timestamp earlier than the moment the entry was written
  is replaced by that moment), then nbgrader's ``collect`` copies the newest submission of each
  student into ``submitted/``, and each is recorded in the gradebook;
- **grade**: the collected notebooks, in nbgrader's ``<student>/<aid>/<aid>.ipynb`` layout, go
  through the course's grading pipeline (``python -m autograder.grade``, sandboxed), and its
  scores come back into the course gradebook with nbgrader's late policy applied to the
  submission times the exchange recorded;
- **feedback**: the pipeline's sanitised feedback pages (checked once more for hidden-test
  lines) are released with nbgrader's ``release_feedback``; each student's Assignment List
  fetches their own.
"""

from __future__ import annotations

import csv
import html
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .settings import HubSettings
from .system import as_user, chown_tree

# The release build: the one place this package imports it (it is moving to
# autograder.build.release with the same signature).
try:
    from autograder.build.release import build_release
except ImportError:
    from autograder.release import build_release

__all__ = ["HubError", "collect", "feedback", "grade", "parse_due", "release", "set_due"]

# nbgrader's Gradebook runs `alembic` as a command: this interpreter's bin folder must be on PATH
if str(Path(sys.executable).parent) not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")

SOLUTIONS = Path(__file__).resolve().parent.parent.parent / "solutions"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CLOCK_TOLERANCE = timedelta(seconds=120)   # a submission is written within this of its own timestamp
MAX_SUBMISSION = 100 * 1024 * 1024
FLAGGED = re.compile(r"tamper|flagged", re.IGNORECASE)   # how the pipeline's notes mark a hand-in for review


class HubError(RuntimeError):
    """A one-line, instructor-facing error."""


# ---------------------------------------------------------------------------------------------
# helpers
def nbgrader_as_grader(s: HubSettings, *args: str):
    """An nbgrader command run as the grader account in the course directory."""
    return as_user(s.grader, [str(s.bin("nbgrader")), *args], cwd=s.course_dir,
                   env={"PATH": f"{s.venv / 'bin'}:/usr/bin:/bin", "JUPYTER_CONFIG_PATH": str(s.etc_dir)})


def nbgrader_config(s: HubSettings, root: Path | None = None):
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root or s.course_dir)
    c.CourseDirectory.course_id = s.course_id
    c.CourseDirectory.source_directory = "source"
    c.CourseDirectory.release_directory = "release"
    c.CourseDirectory.db_url = f"sqlite:///{s.course_dir / 'gradebook.db'}"
    c.Exchange.root = str(s.exchange)
    c.LateSubmissionPlugin.penalty_method = s.late_policy
    return c


@contextmanager
def gradebook(s: HubSettings):
    """The course gradebook (written as root here, then handed back to the grader account)."""
    import warnings

    from nbgrader.api import Gradebook

    db = s.course_dir / "gradebook.db"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session.*")
        with Gradebook(f"sqlite:///{db}", s.course_id) as gb:
            yield gb
    for p in db.parent.glob("gradebook.db*"):
        chown_tree(p, s.grader)


def parse_due(text: str) -> datetime:
    """``now``, or an ISO date and time (with an offset, or in this machine's local time)
    -> naive UTC, as nbgrader stores due dates."""
    if text.strip().lower() == "now":
        return datetime.now(UTC).replace(tzinfo=None)
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HubError(f"cannot read the due date {text!r}: use e.g. 2026-03-01T17:00 or "
                       "2026-03-01T17:00+01:00 (or 'now')") from None
    return dt.astimezone(UTC).replace(tzinfo=None)


def parse_stamp(text: str) -> datetime:
    from nbgrader.utils import parse_utc

    return parse_utc(text.strip())


def stamp(dt: datetime) -> str:
    """nbgrader's own timestamp format (UTC)."""
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def check_assignment(aid: str) -> None:
    if not (SOLUTIONS / aid / f"{aid}.ipynb").is_file():
        known = sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").is_file())
        raise HubError(f"unknown assignment {aid!r}; solutions/ has: {', '.join(known)}")


def collected(s: HubSettings, aid: str) -> dict[str, Path]:
    """{student: their collected submission folder} of an assignment."""
    base = s.course_dir / "submitted"
    return {d.name: d / aid for d in sorted(base.iterdir()) if (d / aid).is_dir()} if base.is_dir() else {}


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# release
def release(s: HubSettings, aid: str, due: str | None = None) -> dict:
    """Build the release of ``aid`` from solutions/, record it in the gradebook, release it."""
    from nbgrader.apps import NbGraderAPI

    check_assignment(aid)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bpl-hub-release-") as tmp:
        tmp = Path(tmp)
        build_release(tmp / "release", SOLUTIONS, only=[aid])
        # nbgrader records the assignment's notebook, cells and points in the course gradebook
        scratch = tmp / "root"
        shutil.copytree(SOLUTIONS / aid, scratch / "source" / aid,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        res = NbGraderAPI(config=nbgrader_config(s, root=scratch)).generate_assignment(aid, force=True, create=True)
        if not res["success"]:
            raise HubError(f"nbgrader could not record {aid} in the gradebook: "
                           f"{(str(res.get('error')) or res.get('log') or '').strip().splitlines()[-1:]}")
        for sub, src in (("source", SOLUTIONS / aid), ("release", tmp / "release" / aid)):
            dest = s.course_dir / sub / aid
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for p in s.course_dir.glob("gradebook.db*"):
        chown_tree(p, s.grader)
    if due:
        set_due(s, aid, due)
    chown_tree(s.course_dir, s.grader)
    nbgrader_as_grader(s, "release_assignment", aid, "--force")
    out = {"assignment": aid, "seconds": round(time.monotonic() - t0, 2),
           "outbound": str(s.exchange_course / "outbound" / aid)}
    _say(f"released {aid} into the exchange ({out['outbound']}) in {out['seconds']} s")
    return out


def set_due(s: HubSettings, aid: str, when: str) -> datetime:
    due = parse_due(when)
    with gradebook(s) as gb:
        gb.update_or_create_assignment(aid, duedate=due)
    _say(f"{aid} is due {stamp(due)}")
    return due


# ---------------------------------------------------------------------------------------------
# collect
def _owner(st) -> str:
    try:
        return pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        return f"uid {st.st_uid}"


def _problem(entry: Path, claimed: str, aid: str) -> str | None:
    """Why an inbound entry must not be collected (None when it may)."""
    st = entry.lstat()
    owner = _owner(st)
    if entry.is_symlink() or not entry.is_dir():
        return f"not a folder but a {'symbolic link' if entry.is_symlink() else 'file'}, made by {owner}"
    if claimed != owner:
        return f"claims to be {claimed}'s submission but was written by {owner}"
    size = 0
    for dirpath, dirnames, filenames in os.walk(entry):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            if p.is_symlink():
                return f"holds a symbolic link ({p.relative_to(entry)} -> {os.readlink(p)})"
            if n in filenames:
                size += p.lstat().st_size
    if size > MAX_SUBMISSION:
        return f"is {size // 2**20} MB, more than {MAX_SUBMISSION // 2**20} MB"
    try:
        parse_stamp(entry.name.rsplit("+", 3)[2])
    except (ValueError, IndexError, OverflowError):
        return "has no readable timestamp in its name"
    return None


def sweep_inbound(s: HubSettings, aid: str) -> dict:
    """Quarantine what nbgrader's collect must not take; fix timestamps older than the entry."""
    inbound = s.exchange_course / "inbound"
    quarantine = s.course_dir / "quarantine"
    quarantine.mkdir(exist_ok=True)
    moved, clock = [], []
    for entry in sorted(inbound.iterdir()):
        parts = entry.name.split("+")
        if len(parts) < 3 or parts[1] != aid:
            continue
        why = _problem(entry, parts[0], aid)
        if why:
            shutil.move(str(entry), str(quarantine / entry.name))
            moved.append(f"{entry.name}: {why}")
            _say(f"quarantined {entry.name}: {why}")
            continue
        claimed = parse_stamp(entry.name.rsplit("+", 3)[2])
        written = datetime.fromtimestamp(entry.stat().st_ctime, UTC).replace(tzinfo=None)
        if claimed < written - CLOCK_TOLERANCE:
            (entry / "timestamp.txt").write_text(stamp(written))
            clock.append(f"{entry.name}: claimed {stamp(claimed)}, written {stamp(written)}")
            _say(f"{entry.name}: claimed {stamp(claimed)} but was written at {stamp(written)}: using the latter")
    if moved:
        with open(quarantine / "README.txt", "a") as f:
            f.writelines(line + "\n" for line in moved)
    chown_tree(quarantine, s.grader)
    return {"quarantined": moved, "clock": clock}


def collect(s: HubSettings, aid: str) -> dict:
    """Sweep the inbound folder, run nbgrader's collect, record each submission in the gradebook."""
    check_assignment(aid)
    t0 = time.monotonic()
    swept = sweep_inbound(s, aid)
    nbgrader_as_grader(s, "collect", aid, "--update")
    subs = collected(s, aid)
    with gradebook(s) as gb:
        for student in [*s.students, *s.instructors, *subs]:
            first, _, last = s.names.get(student, "").rpartition(" ")
            gb.update_or_create_student(student, **({"first_name": first or last, "last_name": last if first else ""}
                                                     if last else {}))
        for student, folder in subs.items():
            ts = (folder / "timestamp.txt").read_text() if (folder / "timestamp.txt").is_file() else None
            gb.update_or_create_submission(aid, student, **({"timestamp": parse_stamp(ts)} if ts else {}))
    chown_tree(s.course_dir, s.grader)
    out = {"assignment": aid, "collected": sorted(subs), **swept, "seconds": round(time.monotonic() - t0, 2)}
    _say(f"collected {len(subs)} submission(s) of {aid} into {s.course_dir / 'submitted'}"
         + (f"; {len(swept['quarantined'])} quarantined" if swept["quarantined"] else ""))
    return out


# ---------------------------------------------------------------------------------------------
# grade
def _pipeline_help() -> str:
    r = subprocess.run([sys.executable, "-m", "autograder.grade", "--help"], capture_output=True, text=True,
                       cwd=str(SOLUTIONS.parent), check=False)
    return r.stdout


def read_grades(path: Path, aid: str, students: list[str]) -> dict[str, dict]:
    """The pipeline's grades.csv: per student {"score": float or None (blank: not graded),
    "flagged": bool (flagged for review: tampering), "row": the row}. The student's row is found
    by the column holding the usernames, the assignment's column by its id."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    cols = list(rows[0])
    wanted = set(students)
    ucol = max(cols, key=lambda c: sum(r.get(c, "") in wanted for r in rows))
    if aid not in cols:
        raise HubError(f"{path}: no column {aid!r} (columns: {', '.join(cols)})")
    out = {}
    for r in rows:
        cell = (r.get(aid) or "").strip()
        out[r[ucol]] = {"score": float(cell) if cell else None,
                        "flagged": any(FLAGGED.search(v or "") for v in r.values()),
                        "row": r}
    return out


def _import_scores(s: HubSettings, aid: str, subs: dict[str, Path], pipeline_db: Path) -> list[str]:
    """Per-test scores from the pipeline's nbgrader gradebook into the course gradebook, and the
    collected notebooks into autograded/ (what the formgrader shows). Returns the students done."""
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.preprocessors import AssignLatePenalties

    if not pipeline_db.is_file():
        return []
    scores = {}
    with Gradebook(f"sqlite:///{pipeline_db}") as pgb:
        for student in subs:
            try:
                nb = pgb.find_submission_notebook(aid, aid, student)
            except MissingEntry:
                continue
            scores[student] = {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade) for g in nb.grades}
    for student, grades in scores.items():
        folder = subs[student]
        with gradebook(s) as gb:
            ts = (folder / "timestamp.txt").read_text() if (folder / "timestamp.txt").is_file() else None
            gb.update_or_create_submission(aid, student, **({"timestamp": parse_stamp(ts)} if ts else {}))
            for g in gb.find_submission_notebook(aid, aid, student).grades:
                if g.name in grades:
                    g.auto_score, g.manual_score, g.needs_manual_grade = grades[g.name]
            gb.db.commit()
        dest = s.course_dir / "autograded" / student / aid
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(folder, dest, ignore=shutil.ignore_patterns("submission_secret.txt"))
        # nbgrader's own late policy, on the submission's exchange timestamp and the due date
        AssignLatePenalties(config=nbgrader_config(s)).preprocess(nbformat.v4.new_notebook(), {"nbgrader": {
            "notebook": aid, "assignment": aid, "student": student,
            "db_url": f"sqlite:///{s.course_dir / 'gradebook.db'}"}})
    for p in s.course_dir.glob("gradebook.db*"):
        chown_tree(p, s.grader)
    return sorted(scores)


def grade(s: HubSettings, aid: str, pipeline_args: list[str] | None = None) -> dict:
    """Grade the collected submissions of ``aid`` with the course's pipeline; grades.csv with
    the late policy applied, the class report, and the scores in the course gradebook."""
    import nbformat  # noqa: F401  (fail early, before the long part, if the environment is wrong)
    from nbgrader.plugins import LateSubmissionPlugin

    check_assignment(aid)
    t0 = time.monotonic()
    subs = collected(s, aid)
    if not subs:
        raise HubError(f"nothing collected for {aid}: run `python -m autograder.hub collect {aid}` first")
    work = s.grading / aid
    inbox, out = work / "in", work / "out"
    shutil.rmtree(inbox, ignore_errors=True)
    inbox.mkdir(parents=True)
    os.chmod(work, 0o700)
    notes: dict[str, str] = {}
    for student, folder in subs.items():
        nb = folder / f"{aid}.ipynb"
        if nb.is_symlink() or not nb.is_file():
            notes[student] = f"no {aid}.ipynb in the submission"
            continue
        dest = inbox / student / aid / f"{aid}.ipynb"
        dest.parent.mkdir(parents=True)
        shutil.copyfile(nb, dest)
        ts = (folder / "timestamp.txt").read_text() if (folder / "timestamp.txt").is_file() else None
        if ts:
            when = parse_stamp(ts).replace(tzinfo=UTC).timestamp()
            os.utime(dest, (when, when))
    argv = [sys.executable, "-m", "autograder.grade", str(inbox), "-o", str(out)]
    if "--assignments" in _pipeline_help():   # grade this assignment only (faster), where the CLI offers it
        argv += ["--assignments", aid]
    argv += pipeline_args or []
    _say(f"grading {len(subs)} submission(s) of {aid} with the course's pipeline: {' '.join(argv[1:])}")
    log = work / "grade.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(argv, cwd=str(SOLUTIONS.parent), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        for line in proc.stdout:
            fh.write(line)
            sys.stderr.write(line)
        rc = proc.wait()
    if rc != 0 or not (out / "grades.csv").is_file():
        raise HubError(f"the grading pipeline failed ({rc}); see {log}")
    grades = read_grades(out / "grades.csv", aid, list(subs))
    imported = _import_scores(s, aid, subs, out / "gradebook.db")

    plugin = LateSubmissionPlugin(config=nbgrader_config(s))
    rows = []
    with gradebook(s) as gb:
        due = gb.find_assignment(aid).duedate
        for student, folder in subs.items():
            g = grades.get(student, {"score": None, "flagged": False, "row": {}})
            ts = (folder / "timestamp.txt").read_text().strip() if (folder / "timestamp.txt").is_file() else ""
            when = parse_stamp(ts) if ts else None
            late = max(0.0, (when - due).total_seconds()) if (when and due) else 0.0
            penalty = 0.0
            if late > 0 and g["score"] is not None:
                p = plugin.late_submission_penalty(student, g["score"], late)
                penalty = min(max(p or 0.0, 0.0), g["score"])   # as nbgrader clamps it
            final = None if g["score"] is None else g["score"] - penalty
            rows.append({**g["row"], "submitted_at": ts, "due": stamp(due) if due else "",
                         "seconds_late": f"{late:g}", "late_penalty": f"{penalty:g}",
                         "final": "" if final is None else f"{final:g}",
                         "hub_notes": notes.get(student, "")})
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(work / "grades.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    # what the instructor reads in the formgrader's server: grades, report
    shown = s.course_dir / "grades" / aid
    shutil.rmtree(shown, ignore_errors=True)
    shown.mkdir(parents=True)
    shutil.copy(work / "grades.csv", shown / "grades.csv")
    if (out / "report.html").is_file():
        shutil.copy(out / "report.html", shown / "report.html")
    if (out / "report").is_dir():
        shutil.copytree(out / "report", shown / "report")
    chown_tree(s.course_dir, s.grader)
    result = {"assignment": aid, "graded": sorted(grades), "scores": {k: v["score"] for k, v in grades.items()},
              "flagged": sorted(k for k, v in grades.items() if v["flagged"]), "imported": imported,
              "grades_csv": str(work / "grades.csv"), "report": str(out / "report.html"),
              "seconds": round(time.monotonic() - t0, 2)}
    if not imported:
        _say("note: the pipeline left no per-test scores (gradebook.db) to show in the formgrader; "
             "grades.csv has them all")
    _say(f"grades:  {work / 'grades.csv'}\nreport:  {out / 'report.html'}\n(copies for the instructor in {shown})")
    return result


# ---------------------------------------------------------------------------------------------
# feedback
def hidden_lines(aid: str) -> list[str]:
    """Distinctive lines of the hidden-test blocks of ``aid``'s source notebook."""
    import nbformat

    nb = nbformat.read(str(SOLUTIONS / aid / f"{aid}.ipynb"), as_version=4)
    out, inside = [], False
    for cell in nb.cells:
        for line in cell.source.splitlines():
            t = line.strip()
            if t == HIDDEN_BEGIN:
                inside = True
            elif t == HIDDEN_END:
                inside = False
            elif inside and len(t) >= 12:
                out.append(t)
    return out


def page_text(page: str) -> str:
    """The visible text of an HTML page, one line per line."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", page)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def feedback(s: HubSettings, aid: str) -> dict:
    """Release each graded student's feedback page through the exchange (release_feedback)."""
    check_assignment(aid)
    t0 = time.monotonic()
    pages = s.grading / aid / "out" / "feedback"
    if not pages.is_dir():
        raise HubError(f"no feedback for {aid} yet: run `python -m autograder.hub grade {aid}` first")
    secret = hidden_lines(aid)
    released, missing, withheld = [], [], []
    for student, folder in collected(s, aid).items():
        page = pages / student / f"{aid}.html"
        if not page.is_file():
            missing.append(student)
            continue
        text = page.read_text(encoding="utf-8")
        visible = {ln.strip() for ln in page_text(text).splitlines()}
        if HIDDEN_BEGIN in text or any(ln in visible for ln in secret):
            withheld.append(student)
            _say(f"{student}: feedback withheld, it shows a hidden-test line")
            continue
        dest = s.course_dir / "feedback" / student / aid
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        shutil.copyfile(page, dest / f"{aid}.html")
        for name in ("timestamp.txt", "submission_secret.txt"):
            if (folder / name).is_file():
                shutil.copyfile(folder / name, dest / name)
        released.append(student)
    chown_tree(s.course_dir, s.grader)
    if released:
        nbgrader_as_grader(s, "release_feedback", aid)
    out = {"assignment": aid, "released": released, "missing": missing, "withheld": withheld,
           "seconds": round(time.monotonic() - t0, 2)}
    _say(f"released feedback of {aid} to {len(released)} student(s)"
         + (f"; no page for {', '.join(missing)}" if missing else "")
         + (f"; withheld for {', '.join(withheld)}" if withheld else ""))
    return out
