"""Hostile hand-ins, all graded as students of ONE pipeline run in the sandbox.

Robustness: the run finishes, every student has a row, a failure is labelled with its reason
(never a silent 0), the controls keep their scores, nothing outside the workspace changes.
Trust: every attack of tests/grading/hostile.py, on a wrong answer, is scored as wrong or
flagged (never more); on the right answer, never above the right score. The table of case,
expected and observed is written to tests/artifacts/hostile.md.
"""

from __future__ import annotations

import csv
import hashlib
import resource
import socket
import threading
from pathlib import Path

import pytest

from autograder.course import REPO, SOLUTIONS, graded_cells, notebook_path
from autograder.grading.feedback import html_text
from autograder.grading.pipeline import run
from autograder.grading.sandbox import Limits
from tests.grading import hostile
from tests.notebooks.harness import read_nb, sandbox_available

pytestmark = [pytest.mark.xdist_group("grading-hostile")]

AID = hostile.AID
LIMITS = Limits(cell_timeout=12, wall_seconds=240, cpu_seconds=60, memory_mb=1536, nproc=48, fsize_mb=16)
ARTIFACTS = REPO / "tests" / "artifacts"


class Listener:
    """A TCP server on the host's loopback that records every connection."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[bytes] = []
        self.stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.accepted.append(conn.recv(100) or b"<connected>")
                except OSError:
                    self.accepted.append(b"<connected>")

    def close(self) -> None:
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    canary = tmp / "canary"
    canary.mkdir()
    (canary / "existing.txt").write_text("instructor's file")
    before = _digest(canary)
    sol_digest = hashlib.sha256((SOLUTIONS / AID / f"{AID}.ipynb").read_bytes()).hexdigest()
    out = tmp / "out"
    listener = Listener()
    export = tmp / "export.zip"
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        people = hostile.build(export, port=listener.port, canary=canary, gradebook=out / "gradebook.db")
        summary = run(export, out, jobs=2, limits=LIMITS, only=[AID], quiet=True, sandbox=sandbox_available())
    finally:
        listener.close()
    rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024
    with open(out / "grades.csv", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    src = read_nb(notebook_path(AID, SOLUTIONS))
    points = {g: float(c.metadata.nbgrader["points"]) for g, c in graded_cells(src).items()}
    g = {"summary": summary, "people": people, "rows": rows, "out": out, "canary": canary, "canary_before": before,
         "listener": listener, "max": sum(points.values()), "points": points, "sol_digest": sol_digest,
         "rss_growth": rss_growth}
    _write_table(g)
    return g


def rec(g, student):
    return g["summary"].records[(g["people"][student]["uid"], AID)]


def row(g, student):
    return g["rows"][g["people"][student]["uid"]]


def feedback_page(g, student) -> str:
    return (g["out"] / "feedback" / g["people"][student]["uid"] / f"{AID}.html").read_text()


def outputs(g, student) -> str:
    import nbformat

    nb = nbformat.read(str(g["out"] / "work" / "results" / AID / g["people"][student]["uid"] / "graded.ipynb"),
                       as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def _write_table(g) -> None:
    lines = ["| class | case | build | expected | observed (trusted score, counted, flagged) |", "|---|---|---|---|---|"]
    for a in hostile.ATTACKS:
        for build in ("wrong", "right"):
            s = f"{build}{a.name.replace('_', '')}"
            r = rec(g, s)
            attacked = r.tests.get(f"{a.exercise}_tests")
            exp = ("attacked exercise 0, flagged" if a.flagged else "attacked exercise 0") if build == "wrong" else \
                (f"{g['max']:g} (full)" if a.keeps_right else f"<= {g['max']:g}") + (", flagged" if a.flagged else "")
            obs = f"{r.score:g}/{g['max']:g} ({a.exercise}: {attacked.score:g}), counted {r.counted_score(True):g}, " \
                  f"{'flagged' if r.tampering else 'not flagged'}"
            lines.append(f"| {a.klass} | {a.name}: {a.what} | {build} | {exp} | {obs} |")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "hostile.md").write_text("\n".join(lines) + "\n")


def test_every_student_has_a_row(graded):
    missing = {s for s, p in graded["people"].items() if p["uid"] not in graded["rows"]}
    assert not missing, missing


def test_controls(graded):
    assert rec(graded, "good").score == graded["max"] and not rec(graded, "good").flags
    assert 0 < rec(graded, "wrong").score < graded["max"]


@pytest.mark.parametrize("attack", hostile.ATTACKS, ids=lambda a: a.name)
def test_an_attack_on_a_wrong_answer_scores_as_wrong_or_flagged(graded, attack):
    r = rec(graded, f"wrong{attack.name.replace('_', '')}")
    assert r.graded, r.reason
    t = r.tests[f"{attack.exercise}_tests"]
    assert t.score == 0, f"{attack.name} made a wrong answer earn {t.score}: {t.message}"
    assert r.score <= graded["max"] - graded["points"][f"{attack.exercise}_tests"]
    if attack.flagged:
        assert r.tampering and all(f.line for f in r.tampering), f"{attack.name} was not flagged"
        assert r.counted_score(True) == 0 and row(graded, f"wrong{attack.name.replace('_', '')}")[AID] == "0"
        assert "FLAGGED FOR REVIEW" in row(graded, f"wrong{attack.name.replace('_', '')}")["notes"]


@pytest.mark.parametrize("attack", hostile.ATTACKS, ids=lambda a: a.name)
def test_an_attack_on_the_right_answer_never_scores_more(graded, attack):
    r = rec(graded, f"right{attack.name.replace('_', '')}")
    assert r.graded, r.reason
    assert r.score <= graded["max"]
    if attack.keeps_right:
        assert r.score == graded["max"], {k: t.message for k, t in r.tests.items() if not t.passed}
    assert bool(r.tampering) == attack.flagged, [str(f) for f in r.tampering]


def test_a_flagged_students_feedback_says_why_and_what_to_do(graded):
    text = html_text(feedback_page(graded, "wrongframes"))
    assert "flagged for review" in text and "sys._getframe" in text and "hand in again" in text


def test_feedback_carries_only_what_came_before_the_tests(graded):
    page = feedback_page(graded, "rightdisplayupdate")
    assert "my notes" in page and "verified by the grader" not in page
    page = feedback_page(graded, "righthtmlscript")
    assert "document.title" not in page and "class='score'" not in page and "Score: 10.0 / 10.0</h2>" not in page
    for student in graded["people"]:
        p = graded["out"] / "feedback" / graded["people"][student]["uid"] / f"{AID}.html"
        if p.exists():
            text = p.read_text()
            assert "HIDDEN-INPUT-MARKER" not in text, student
            assert "hidden=True" not in text and "Traceback (most recent call last)" not in html_text(text), student


@pytest.mark.parametrize("student,kind", [("loop", "timeout"), ("osexit", "crash"), ("segfault", "crash"),
                                          ("forkbomb", "timeout")])
def test_a_crash_costs_only_its_exercise_and_is_labelled(graded, student, kind):
    r = rec(graded, student)
    first = next(iter(r.tests.values()))
    assert first.score == 0 and first.message
    assert any(f.kind == kind and f.where == first.grade_id for f in r.flags), [str(f) for f in r.flags]
    assert all(t.score == t.max_score for t in list(r.tests.values())[1:]), "a crash cost more than its exercise"
    assert "NOT GRADED" not in row(graded, student)["notes"]


@pytest.mark.parametrize("student", ["membomb", "sysexit"])
def test_bombs_and_exits_lose_their_exercise_with_a_reason(graded, student):
    r = rec(graded, student)
    first = next(iter(r.tests.values()))
    assert first.score == 0 and first.message, first
    assert all(t.score == t.max_score for t in list(r.tests.values())[1:]), {k: t.message for k, t in r.tests.items()}


@pytest.mark.parametrize("student,reason", [("badjson", "invalid notebook JSON"), ("empty", "empty file"),
                                            ("otherassignment", "wrong notebook"), ("zipslip", "unsafe path"),
                                            ("bomb", "more than")])
def test_unreadable_hand_ins_are_labelled_and_blank(graded, student, reason):
    r = row(graded, student)
    assert reason in r["notes"] and "NOT GRADED" in r["notes"], r
    assert r[AID] == "", "an ungraded hand-in must be blank, not 0"
    report = (graded["out"] / "report.html").read_text()
    assert reason in report


def test_a_compressed_bomb_does_not_blow_up_the_grader(graded):
    assert graded["rss_growth"] < 800 * 2**20, f"the grader grew by {graded['rss_growth'] / 2**20:.0f} MB"


@pytest.mark.parametrize("student", ["deletedtest", "duplicatedtest", "editedtest", "retypedtest"])
def test_test_cells_are_restored_from_the_release(graded, student):
    assert rec(graded, student).score == rec(graded, "wrong").score, "changing test cells changed the score"
    assert set(rec(graded, student).tests) == set(rec(graded, "wrong").tests)
    assert any("test cell" in n for n in rec(graded, student).notes), rec(graded, student).notes


def test_honest_students_are_not_flagged(graded):
    for s in ("good", "wrong", "loop", "twice", "deletedtest", "bigoutput", "writeoutside", "rightdisplayupdate",
              "righthtmlscript", "rightprintinputs", "rightshadowbuiltins"):
        assert not rec(graded, s).tampering, (s, [str(f) for f in rec(graded, s).tampering])


def test_solutions_and_gradebook_cannot_be_read(graded):
    r = rec(graded, "readsecrets")
    assert r.score == 0
    text = outputs(graded, "readsecrets")
    assert "no solutions: FileNotFoundError" in text and "no gradebook: FileNotFoundError" in text


def test_nothing_outside_the_workspace_changes(graded):
    assert _digest(graded["canary"]) == graded["canary_before"]
    assert not (REPO / "PWNED-by-student").exists()
    assert not Path("/tmp/bpl-pwned").exists()
    assert rec(graded, "writeoutside").score == graded["max"]
    text = outputs(graded, "writeoutside")
    assert f"cannot write {graded['out'] / 'gradebook.db'}" in text, text
    assert f"cannot write {REPO / 'PWNED-by-student'}" in text, text
    assert hashlib.sha256((SOLUTIONS / AID / f"{AID}.ipynb").read_bytes()).hexdigest() == graded["sol_digest"]


def test_gradebook_holds_the_pipelines_scores(graded):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded['out'] / 'gradebook.db'}") as gb:
        for s in ("good", "wrong", "writeoutside", "wrongframes"):
            assert float(gb.find_submission(AID, graded["people"][s]["uid"]).score) == float(row(graded, s)[AID])


def test_no_network(graded):
    assert graded["listener"].accepted == []
    text = outputs(graded, "network")
    assert "no network" in text and "connected" not in text.replace("no network", "")


def test_a_100_mb_output_is_truncated(graded):
    r = rec(graded, "bigoutput")
    assert r.score == graded["max"]
    assert any(e["kind"] == "output_truncated" for e in r.events)
    uid = graded["people"]["bigoutput"]["uid"]
    assert (graded["out"] / "work" / "results" / AID / uid / "graded.ipynb").stat().st_size < 5_000_000
    assert (graded["out"] / "feedback" / uid / f"{AID}.html").stat().st_size < 5_000_000


def test_handed_in_twice_grades_the_newest(graded):
    assert rec(graded, "twice").score == graded["max"]
    assert "handed in 2 times" in " ".join(rec(graded, "twice").notes)


def test_students_are_keyed_by_lms_id_with_their_names(graded):
    ids = [s for s, p in graded["people"].items() if p.get("name")]
    names = sorted(row(graded, s)["name"] for s in ids)
    assert names == sorted(["Sam Lee", "Sam Lee", "李小龍", "Дмитрий Иванов"])
    assert len({graded["people"][s]["uid"] for s in ids}) == 4
    assert all(float(row(graded, s)[AID]) == graded["max"] for s in ids)
