"""The pipeline on a small, honest class: scores, grades.csv, feedback, report, resume, shards."""

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
from autograder.feedback import html_text, leaks
from autograder.nbtools import GradingRoot, exercise_ids, filled_submission
from autograder.sandbox import Limits, probe

from autograder.course import REPO, graded_cells
from autograder.grade import main, run
from tests.grading.hostile import wrong_answers

pytestmark = [pytest.mark.xdist_group("grading-pipeline"),
              pytest.mark.skipif(not probe()[0], reason=f"no sandbox here: {probe()[1]}")]

AID = "01-chain-rule"
LIMITS = Limits(cell_timeout=60, wall_seconds=300)


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """An export in nbgrader's folder layout (<student>/<assignment>/<file>) of four students."""
    tmp = tmp_path_factory.mktemp("klass")
    root = GradingRoot(tmp / "ref", aids=[AID])
    src, rel = root.source_nb(AID), root.release_nb(AID)
    exs = exercise_ids(src)
    bad = wrong_answers(AID, exs, rel)
    subs = {"ada": filled_submission(rel, src), "bob": filled_submission(rel, src, {exs[0]: bad[exs[0]]}),
            "cy": filled_submission(rel, src, bad), "dee": rel}
    export = tmp / "export"
    for s, nb in subs.items():
        (export / s / AID).mkdir(parents=True)
        nbformat.write(nb, str(export / s / AID / f"{AID}.ipynb"))
    out = tmp / "out"
    summary = run(export, out, jobs=2, limits=LIMITS, only=[AID], quiet=True)
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


def test_grades_csv_is_one_row_per_student_ready_for_upload(klass):
    rows = klass["rows"]
    assert [r["student"] for r in rows] == ["ada", "bob", "cy", "dee"]
    assert list(rows[0]) == ["student", AID, "total", "max_total", "notes"]
    for r in rows:
        assert float(r["total"]) == float(r[AID])
        assert float(r["max_total"]) == sum(klass["points"].values())
    assert (klass["out"] / "nbgrader_export.csv").exists()


def test_diagnoses_reach_the_results(klass):
    cy = klass["summary"].results[("cy", AID)]
    failed = [t for t in cy["tests"].values() if t["score"] < t["max"]]
    assert failed and all(t["message"] and t["kinds"] for t in failed)


def test_feedback_has_no_hidden_test_and_shows_the_verdicts(klass):
    for s in ("ada", "bob", "cy", "dee"):
        page = (klass["out"] / "feedback" / s / f"{AID}.html").read_text()
        assert not leaks(page, klass["src"]), s
        assert "BEGIN HIDDEN TESTS" not in page and "BPL-GUARD" not in page
        assert "Traceback (most recent call last)" not in html_text(page)
    bob = (klass["out"] / "feedback" / "bob" / f"{AID}.html").read_text()
    assert "GradingError" in bob


def test_report_has_figures_and_sections(klass):
    page = (klass["out"] / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 1
    assert (klass["out"] / "report" / f"{AID}.png").stat().st_size > 10_000
    for section in ("Most common diagnosed mistakes", "could not be graded", "Flagged for tampering"):
        assert section in page


def test_resume_regrades_nothing(klass):
    again = run(klass["export"], klass["out"], jobs=2, limits=LIMITS, only=[AID], quiet=True)
    assert again.graded_now == 0 and again.reused == 4
    assert again.results == klass["summary"].results


def test_a_changed_hand_in_is_regraded_alone(klass, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(klass["out"], out)
    export = tmp_path / "export"
    shutil.copytree(klass["export"], export)
    shutil.copy(export / "ada" / AID / f"{AID}.ipynb", export / "dee" / AID / f"{AID}.ipynb")
    again = run(export, out, jobs=2, limits=LIMITS, only=[AID], quiet=True)
    assert again.graded_now == 1
    assert again.results[("dee", AID)]["score"] == sum(klass["points"].values())


def test_shards_then_merge_equal_a_single_run(klass, tmp_path):
    for i in range(2):
        run(klass["export"], tmp_path / f"shard{i}", jobs=1, limits=LIMITS, only=[AID], shard=(i, 2), quiet=True)
    merged = run(klass["export"], tmp_path / "merged", jobs=1, limits=LIMITS, only=[AID],
                 merge=[tmp_path / "shard0", tmp_path / "shard1"], quiet=True)
    assert merged.graded_now == 0, "the merge regraded submissions the shards had graded"
    single = (klass["out"] / "grades.csv").read_text()
    assert (tmp_path / "merged" / "grades.csv").read_text() == single


def test_unreadable_export_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "hand-ins.zip"
    bad.write_bytes(b"this is not a zip")
    assert main([str(bad), "-o", str(tmp_path / "out"), "--assignments", AID]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot read the export") and "not a zip" in err[0]


def test_command_line_grades_a_zip_with_progress(tmp_path, klass):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.write(klass["export"] / "ada" / AID / f"{AID}.ipynb", f"Ada Lovelace_1_assignsubmission_file_/{AID}.ipynb")
    (tmp_path / "lms.zip").write_bytes(buf.getvalue())
    r = subprocess.run([sys.executable, "-m", "autograder.grade", str(tmp_path / "lms.zip"), "-o", str(tmp_path / "o"),
                        "--assignments", AID, "-j", "1"], cwd=REPO, capture_output=True, text=True, timeout=600,
                       check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.search(r"grading \[#+\] 1/1", r.stderr)
    assert (tmp_path / "o" / "grades.csv").read_text().splitlines()[1].startswith("ada-lovelace,10,")
