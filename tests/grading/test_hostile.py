"""Hostile hand-ins, all graded as students of ONE pipeline run in the sandbox.

For every case: the run finishes, the student has a row in grades.csv, a failure is labelled
with its reason (never a silent 0), tampering earns nothing, the control students keep
their scores, and nothing outside the grading workspace changes.
"""

from __future__ import annotations

import csv
import hashlib
import socket
import threading
from pathlib import Path

import pytest
from autograder.nbtools import GradingRoot
from autograder.sandbox import Limits, probe

from autograder.course import REPO, graded_cells
from autograder.grade import run
from tests.grading import hostile

pytestmark = [pytest.mark.xdist_group("grading-hostile"),
              pytest.mark.skipif(not probe()[0], reason=f"no sandbox here: {probe()[1]}")]

AID = "01-chain-rule"
LIMITS = Limits(cell_timeout=12, wall_seconds=240, cpu_seconds=60, memory_mb=1536, nproc=48, fsize_mb=16)


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
    root = GradingRoot(tmp / "ref", aids=[AID])
    canary = tmp / "canary"
    canary.mkdir()
    (canary / "existing.txt").write_text("instructor's file")
    before = _digest(canary)
    sol_digest = hashlib.sha256((REPO / "solutions" / AID / f"{AID}.ipynb").read_bytes()).hexdigest()
    out = tmp / "out"
    listener = Listener()
    export = tmp / "export.zip"
    try:
        cases = hostile.build(root, AID, export, port=listener.port, canary=canary, out_dir=out)
        summary = run(export, out, jobs=2, limits=LIMITS, only=[AID], quiet=True)
    finally:
        listener.close()
    with open(out / "grades.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    max_score = sum(float(c.metadata.nbgrader["points"]) for c in graded_cells(root.source_nb(AID)).values())
    return {"summary": summary, "cases": cases, "rows": rows, "out": out, "tmp": tmp, "canary": canary,
            "canary_before": before, "listener": listener, "max": max_score, "root": root,
            "sol_digest": sol_digest}


def outputs(g, student) -> str:
    """Everything the student's graded notebook printed."""
    import nbformat

    nb = nbformat.read(str(g["out"] / "work" / "results" / AID / student / "graded.ipynb"), as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def score(g, student) -> float:
    return float(g["rows"][student][AID] or 0)


def result(g, student) -> dict:
    return g["summary"].results[(student, AID)]


def test_every_student_has_a_row(graded):
    assert set(graded["cases"]) <= set(graded["rows"]), set(graded["cases"]) - set(graded["rows"])


def test_controls(graded):
    assert score(graded, "good") == graded["max"]
    assert 0 < score(graded, "wrong") < graded["max"]


@pytest.mark.parametrize("student,kind", [("loop", "CellTimeout"), ("osexit", "KernelDied"),
                                          ("segfault", "KernelDied")])
def test_a_crash_costs_only_its_exercise_and_is_labelled(graded, student, kind):
    r = result(graded, student)
    first = next(iter(r["tests"].values()))
    assert first["ename"] == kind and first["score"] == 0, first
    assert first["message"], "no reason given"
    others = list(r["tests"].values())[1:]
    assert all(t["score"] == t["max"] for t in others), "a crash cost more than its own exercise"
    assert "NOT GRADED" not in graded["rows"][student]["notes"]
    assert first["message"].split(" (")[0] in graded["rows"][student]["notes"]


@pytest.mark.parametrize("student", ["membomb", "forkbomb", "sysexit"])
def test_bombs_and_exits_lose_their_exercise_with_a_reason(graded, student):
    r = result(graded, student)
    first = next(iter(r["tests"].values()))
    assert first["score"] == 0 and (first["ename"] or first["message"]), first
    assert all(t["score"] == t["max"] for t in list(r["tests"].values())[1:]), r["tests"]


@pytest.mark.parametrize("student,reason", [("badjson", "invalid notebook JSON"), ("empty", "empty file"),
                                            ("otherassignment", "wrong notebook"), ("zipslip", "unsafe path")])
def test_unreadable_hand_ins_are_labelled_not_silent_zeros(graded, student, reason):
    assert reason in graded["rows"][student]["notes"], graded["rows"][student]
    assert "NOT GRADED" in graded["rows"][student]["notes"]
    report = (graded["out"] / "report.html").read_text()
    assert student in report and reason in report


@pytest.mark.parametrize("student", ["deletedtest", "duplicatedtest", "editedtest", "retypedtest"])
def test_test_cells_are_restored_from_the_source(graded, student):
    assert score(graded, student) == score(graded, "wrong"), "changing test cells changed the score"
    r = result(graded, student)
    assert set(r["tests"]) == set(result(graded, "wrong")["tests"]), "a test cell was lost or doubled"
    assert any("test cell" in n for n in r["notes"]), r["notes"]


@pytest.mark.parametrize("student,what", [("patchnumpy", "numpy.allclose"),
                                          ("patchhelpers", "backproplab.grading.check_expr"),
                                          ("patchbuiltins", "builtins.abs")])
def test_monkeypatching_earns_nothing_and_is_flagged(graded, student, what):
    r = result(graded, student)
    assert r["score"] <= result(graded, "wrong")["score"], "the patch earned points"
    assert any(what in p for p in r["tampering"]), r["tampering"]
    assert score(graded, student) == 0  # flagged hand-ins are scored 0 for review
    assert "TAMPERING" in graded["rows"][student]["notes"]


def test_helper_code_swap_and_ipython_hook_are_seen(graded):
    assert any("code of backproplab.grading.quietly" in p for p in result(graded, "patchhelpers")["tampering"])
    assert any("custom exception handler" in p for p in result(graded, "patchbuiltins")["tampering"])


def test_honest_students_are_not_flagged(graded):
    for s in ("good", "wrong", "loop", "osexit", "segfault", "bigoutput", "twice", "deletedtest"):
        assert not result(graded, s)["tampering"], (s, result(graded, s)["tampering"])


def test_solutions_and_gradebook_cannot_be_read(graded):
    r = result(graded, "readsecrets")
    assert r["score"] == 0
    text = outputs(graded, "readsecrets")
    assert "no solutions: FileNotFoundError" in text and "no gradebook: FileNotFoundError" in text


def test_nothing_outside_the_workspace_changes(graded):
    assert _digest(graded["canary"]) == graded["canary_before"]
    assert not (REPO / "PWNED-by-student").exists()
    assert not Path("/tmp/bpl-pwned").exists()
    assert score(graded, "writeoutside") == graded["max"]  # its own answers still count
    text = outputs(graded, "writeoutside")
    assert f"cannot write {graded['out'] / 'gradebook.db'}" in text, text
    assert f"cannot write {REPO / 'PWNED-by-student'}" in text, text
    assert hashlib.sha256((REPO / "solutions" / AID / f"{AID}.ipynb").read_bytes()).hexdigest() == graded["sol_digest"]


def test_gradebook_holds_the_pipelines_scores(graded):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded['out'] / 'gradebook.db'}") as gb:
        for s in ("good", "wrong", "writeoutside"):
            assert float(gb.find_submission(AID, s).score) == score(graded, s)


def test_no_network(graded):
    assert graded["listener"].accepted == []
    text = outputs(graded, "network")
    assert "no network" in text and "connected" not in text.replace("no network", "")
    assert score(graded, "network") == graded["max"]


def test_a_100_mb_output_is_truncated(graded):
    r = result(graded, "bigoutput")
    assert r["score"] == graded["max"]
    assert any(e["kind"] == "output_truncated" for e in r["events"])
    graded_nb = graded["out"] / "work" / "results" / AID / "bigoutput" / "graded.ipynb"
    assert graded_nb.stat().st_size < 5_000_000
    assert (graded["out"] / "feedback" / "bigoutput" / f"{AID}.html").stat().st_size < 5_000_000


def test_handed_in_twice_grades_the_newest(graded):
    assert score(graded, "twice") == graded["max"]
    assert "handed in 2 times" in " ".join(result(graded, "twice")["notes"])


def test_no_feedback_leaks_a_hidden_test(graded):
    from autograder.feedback import leaks

    src = graded["root"].source_nb(AID)
    for page in (graded["out"] / "feedback").rglob("*.html"):
        assert not leaks(page.read_text(), src), page
