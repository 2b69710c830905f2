"""Nothing of ``solutions/`` under the output folder, after a failed run and after a successful one.

Every file under the output folder is searched, whatever it is: notebooks and JSON (their
strings decoded), SQLite databases (every text value of every table: nbgrader's gradebook keeps
cell sources), HTML pages (their visible text too, letters and digits only, so syntax
highlighting cannot hide a line), and everything else as text. No file may equal a file of
``solutions/`` (other than the public ones ``course/`` holds too), and no file may hold a
distinctive solution or hidden-test line (``secret_lines``) that the graded hand-ins did not
bring themselves (a student may well write a line the solution has).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.build.release import secret_lines
from autograder.course import COURSE, REPO, SOLUTIONS
from autograder.grading.feedback import html_text
from tests.grading.lms import AID, CLASSES, graded

pytestmark = pytest.mark.xdist_group("lms-class")


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def texts_of(path: Path) -> tuple[list[str], str]:
    """(texts to search line by line, visible text of an HTML page or "")."""
    data = path.read_bytes()
    raw = data.decode("utf-8", errors="ignore")
    texts = [raw]
    if data.startswith(b"SQLite format 3\x00"):
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                for row in con.execute(f'SELECT * FROM "{table}"'):
                    texts += [v for v in row if isinstance(v, str)]
                    texts += [v.decode("utf-8", errors="ignore") for v in row if isinstance(v, bytes)]
        finally:
            con.close()
    else:
        try:
            texts += list(_strings(json.loads(raw)))
        except ValueError:
            pass
    visible = html_text(raw) if path.suffix in (".html", ".htm") else ""
    return texts, visible


def solution_files() -> dict[str, Path]:
    """sha256 -> file of solutions/, for every file that is not also public (the same in course/)."""
    out = {}
    for p in SOLUTIONS.rglob("*"):
        if p.is_file() and ".ipynb_checkpoints" not in p.parts:
            public = COURSE / p.relative_to(SOLUTIONS)
            if not (public.is_file() and public.read_bytes() == p.read_bytes()):
                out[hashlib.sha256(p.read_bytes()).hexdigest()] = p
    return out


def handin_texts(export: Path) -> str:
    """Everything the graded hand-ins said, raw and with their cells decoded."""
    parts = []
    entries = ([(n, zipfile.ZipFile(export).read(n)) for n in zipfile.ZipFile(export).namelist()]
               if export.is_file() else [(str(p), p.read_bytes()) for p in export.rglob("*") if p.is_file()])
    for _, data in entries:
        raw = data.decode("utf-8", errors="ignore")
        parts.append(raw)
        try:
            parts += list(_strings(json.loads(raw)))
        except ValueError:
            pass
    return "\n".join(parts)


def solution_traces(out: Path, handins: str = "") -> list[str]:
    """Files under ``out`` that equal a file of solutions/ or hold a secret line (see the module docstring)."""
    if not out.exists():
        return []
    given = {ln.strip() for ln in handins.splitlines()}
    given_norm = _norm(handins)
    secret = [(w, k, ln) for w, k, ln in secret_lines() if ln not in given and _norm(ln) not in given_norm]
    assert len(secret) > 50, "too few secret lines left to prove anything"
    files = solution_files()
    problems = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in files:
            problems.append(f"{rel} is a copy of {files[digest].relative_to(REPO)}")
            continue
        texts, visible = texts_of(path)
        lines = {ln.strip() for t in texts for ln in t.splitlines()}
        vis = _norm(visible)
        for where, kind, line in secret:
            if line in lines or (vis and len(_norm(line)) >= 20 and _norm(line) in vis):
                problems.append(f"{rel}: {kind} line of {where}: {line!r}")
    return problems


def _grade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder.grade", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=900, check=False)


def test_the_search_finds_solutions(tmp_path):
    """The search itself: a solution notebook copied, rewritten as JSON, shown in HTML, or stored in
    a database is found; the release is not."""
    src = SOLUTIONS / AID / f"{AID}.ipynb"
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "x.ipynb").write_bytes(src.read_bytes())
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "x.json").write_text(json.dumps(json.loads(src.read_text()), indent=None))
    line = next(ln for w, k, ln in secret_lines() if k == "solution" and w.startswith(AID) and len(_norm(ln)) >= 20)
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "x.html").write_text("<pre>" + "".join(f"<span>{c}</span>" for c in line) + "</pre>")
    (tmp_path / "db").mkdir()
    con = sqlite3.connect(tmp_path / "db" / "x.db")
    con.execute("CREATE TABLE source_cell (source TEXT)")
    con.execute("INSERT INTO source_cell VALUES (?)", (f"def f():\n    {line}\n",))
    con.commit()
    con.close()
    for kind in ("copy", "json", "html", "db"):
        assert solution_traces(tmp_path / kind), kind
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / "x.ipynb").write_bytes((COURSE / AID / f"{AID}.ipynb").read_bytes())
    assert solution_traces(tmp_path / "release") == []


@pytest.mark.parametrize("case", ["no such export", "not a zip", "bad roster"])
def test_nothing_of_solutions_after_a_failed_run(tmp_path, case):
    out = tmp_path / "out"
    if case == "no such export":
        r = _grade("/nonexistent.zip", "-o", str(out))
    elif case == "not a zip":
        (tmp_path / "hand-ins.zip").write_text("this is not a zip")
        r = _grade(str(tmp_path / "hand-ins.zip"), "-o", str(out), "--assignments", AID)
    else:                                          # fails late: after the releases are built
        (tmp_path / "roster.csv").write_text("who,what\nAda,3\n")
        r = _grade(str(CLASSES["canvas"][0]), "-o", str(out), "--assignments", AID, "--roster",
                   str(tmp_path / "roster.csv"))
    assert r.returncode == 2, r.stderr[-2000:]
    assert r.stderr.strip().splitlines()[-1].startswith("error: "), r.stderr[-2000:]
    assert solution_traces(out) == []


def test_nothing_of_solutions_after_a_successful_run(tmp_path_factory):
    out = graded("canvas", tmp_path_factory)
    assert (out / "grades.csv").exists() and (out / "gradebook.db").exists()
    assert list((out / "feedback").rglob("*.html")) and list((out / "work").rglob("graded.ipynb"))
    assert solution_traces(out, handin_texts(CLASSES["canvas"][0])) == []
