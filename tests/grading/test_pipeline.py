"""The pipeline end to end on a small, honest class: scores, grades.csv, feedback, report, resume, shards."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from autograder.build.authoring import filled_submission
from autograder.course import COURSE, REPO, SOLUTIONS, graded_cells, notebook_path
from autograder.grading.cli import main
from autograder.grading.feedback import html_text
from autograder.grading.pipeline import run
from autograder.grading.sandbox import Limits
from tests.notebooks.harness import exercise_ids, load_variants, read_nb, sandbox_available

pytestmark = [pytest.mark.xdist_group("grading-pipeline")]

AID = "01-chain-rule"
LIMITS = Limits(cell_timeout=60, wall_seconds=300)


def first_wrong(ex: str) -> str:
    wrong, _ = load_variants(AID)
    return next(iter(wrong[ex].values()))


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """An export in nbgrader's folder layout (<student>/<assignment>/<file>) of four students."""
    tmp = tmp_path_factory.mktemp("klass")
    src, rel = read_nb(notebook_path(AID, SOLUTIONS)), read_nb(notebook_path(AID, COURSE))
    exs = exercise_ids(src)
    subs = {"ada": filled_submission(rel, src),
            "bob": filled_submission(rel, src, {exs[0]: first_wrong(exs[0])}),
            "cy": filled_submission(rel, src, {exs[0]: first_wrong(exs[0]), exs[3]: first_wrong(exs[3])}),
            "dee": rel}
    export = tmp / "export"
    for s, nb in subs.items():
        (export / s / AID).mkdir(parents=True)
        nbformat.write(nb, str(export / s / AID / f"{AID}.ipynb"))
    out = tmp / "out"
    summary = run(export, out, jobs=2, limits=LIMITS, only=[AID], quiet=True, sandbox=sandbox_available())
    with open(out / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    points = {g: float(c.metadata.nbgrader["points"]) for g, c in graded_cells(src).items()}
    return {"tmp": tmp, "export": export, "out": out, "summary": summary, "rows": rows, "src": src,
            "points": points, "exs": exs}


def test_correct_gets_full_marks_and_wrong_do_not(klass):
    by = {r["student"]: r for r in klass["rows"]}
    full = sum(klass["points"].values())
    assert float(by["ada"][AID]) == full
    assert float(by["bob"][AID]) == full - klass["points"][f"{klass['exs'][0]}_tests"]
    assert float(by["cy"][AID]) < float(by["bob"][AID])
    assert float(by["dee"][AID]) == 0


def test_partial_credit_for_a_separable_part(klass):
    """ex01_network_grad's hidden-layer part fails while its output-layer part passes."""
    t = klass["summary"].records[("cy", AID)].tests["ex01_network_grad_tests"]
    parts = {p.name: p.earned for p in t.parts}
    assert 0 < t.score < t.max_score and parts == {"hidden": 0.0, "output": 1.0}, parts


def test_grades_csv_is_one_row_per_student_ready_for_upload(klass):
    rows = klass["rows"]
    assert [r["student"] for r in rows] == ["ada", "bob", "cy", "dee"]
    assert list(rows[0]) == ["student", "name", "email", AID, "total", "max_total", "notes"]
    for r in rows:
        assert float(r["total"]) == float(r[AID])
        assert float(r["max_total"]) == sum(klass["points"].values())


def test_diagnoses_reach_the_records(klass):
    cy = klass["summary"].records[("cy", AID)]
    failed = [t for t in cy.tests.values() if not t.passed]
    assert failed and all(t.message and t.kinds for t in failed)
    assert all(k in ("known", "entries", "sign", "scaled", "type", "shape") for t in failed for k in t.kinds)


def test_hidden_cases_come_from_a_seed_per_hand_in(klass):
    recs = klass["summary"].records
    seeds = {k: r.seed for (k, _), r in recs.items()}
    assert len(set(seeds.values())) == len(seeds), "two hand-ins drew the same hidden cases"
    text = (REPO / "solutions" / AID / f"{AID}.ipynb").read_text()
    assert all(str(s) not in text for s in seeds.values())


def test_feedback_shows_verdicts_and_no_traceback(klass):
    for s in ("ada", "bob", "cy", "dee"):
        page = (klass["out"] / "feedback" / s / f"{AID}.html").read_text()
        text = html_text(page)
        assert "BEGIN HIDDEN TESTS" not in page and "hidden=True" not in page
        assert "Traceback (most recent call last)" not in text
        assert "cdnjs" not in page and "_mathjax/MathJax.js" in page
    bob = html_text((klass["out"] / "feedback" / "bob" / f"{AID}.html").read_text())
    assert f"{klass['exs'][0]}: 0 of 2 points." in bob
    assert "Exercise ex01_chain" in bob
    assert (klass["out"] / "feedback" / "_mathjax" / "MathJax.js").exists()


def test_report_has_figures_and_sections(klass):
    page = (klass["out"] / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 1
    assert (klass["out"] / "report" / f"{AID}.png").stat().st_size > 10_000
    for section in ("Most common diagnosed mistakes", "could not be graded", "Flagged for review"):
        assert section in page
    assert "GradingError" not in page and "AssertionError" not in page


def test_resume_regrades_nothing(klass):
    again = run(klass["export"], klass["out"], jobs=2, limits=LIMITS, only=[AID], quiet=True,
                sandbox=sandbox_available())
    assert again.graded_now == 0 and again.reused == 4
    assert again.records == klass["summary"].records


def test_a_changed_hand_in_is_regraded_alone(klass, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(klass["out"], out)
    export = tmp_path / "export"
    shutil.copytree(klass["export"], export)
    shutil.copy(export / "ada" / AID / f"{AID}.ipynb", export / "dee" / AID / f"{AID}.ipynb")
    again = run(export, out, jobs=2, limits=LIMITS, only=[AID], quiet=True, sandbox=sandbox_available())
    assert again.graded_now == 1
    assert again.records[("dee", AID)].score == sum(klass["points"].values())


def test_shards_then_merge_equal_a_single_run(klass, tmp_path):
    for i in range(2):
        run(klass["export"], tmp_path / f"shard{i}", jobs=1, limits=LIMITS, only=[AID], shard=(i, 2), quiet=True,
            sandbox=sandbox_available())
    merged = run(klass["export"], tmp_path / "merged", jobs=1, limits=LIMITS, only=[AID],
                 merge=[tmp_path / "shard0", tmp_path / "shard1"], quiet=True, sandbox=sandbox_available())
    assert merged.graded_now == 0, "the merge regraded hand-ins the shards had graded"
    single = {k: (r.score, r.status) for k, r in klass["summary"].records.items()}
    assert {k: (r.score, r.status) for k, r in merged.records.items()} == single
    assert (tmp_path / "merged" / "grades.csv").read_text() == (klass["out"] / "grades.csv").read_text()


def test_unreadable_export_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "hand-ins.zip"
    bad.write_bytes(b"this is not a zip")
    assert main([str(bad), "-o", str(tmp_path / "out"), "--assignments", AID]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot read the export") and "not a zip" in err[0]


def test_command_line_grades_a_moodle_zip_with_progress(tmp_path, klass):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.write(klass["export"] / "ada" / AID / f"{AID}.ipynb", f"Ada Lovelace_1_assignsubmission_file_/{AID}.ipynb")
    (tmp_path / "lms.zip").write_bytes(buf.getvalue())
    args = [] if sandbox_available() else ["--unsandboxed"]
    r = subprocess.run([sys.executable, "-m", "autograder.grade", str(tmp_path / "lms.zip"), "-o", str(tmp_path / "o"),
                        "--assignments", AID, "-j", "1", *args], cwd=REPO, capture_output=True, text=True,
                       timeout=600, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.search(r"grading \[#+\] 1/1", r.stderr)
    assert (tmp_path / "o" / "grades.csv").read_text().splitlines()[1].startswith("1,Ada Lovelace,,10,")
