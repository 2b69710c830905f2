"""The student release: generated from solutions/, in sync, and free of solutions and hidden tests."""

from __future__ import annotations

import json
import shutil

from autograder.build.release import check_release, find_leaks, secret_lines
from autograder.course import COURSE, assignments, notebook_path


def test_every_assignment_is_released():
    aids = assignments()
    assert aids, "no assignments in solutions/"
    for aid in aids:
        assert notebook_path(aid, COURSE).exists(), f"{aid} is not released; run `make release`"


def test_course_equals_a_fresh_regeneration():
    problems = check_release()
    assert not problems, "course/ is stale (run `make release`):\n" + "\n".join(problems)


def test_no_solution_or_hidden_test_in_course():
    assert secret_lines(), "found no solution or hidden-test lines to look for"
    leaks = find_leaks(COURSE)
    assert not leaks, "\n".join(leaks)


def test_leak_check_finds_a_planted_solution_and_hidden_test(tmp_path):
    tree = tmp_path / "course"
    shutil.copytree(COURSE, tree)
    secrets = secret_lines()
    where, sol = next((w, line) for w, kind, line in secrets if kind == "solution")
    hid = next(line for _, kind, line in secrets if kind == "hidden test")
    aid = where.split("/")[0]
    nb_path = notebook_path(aid, tree)
    nb = json.loads(nb_path.read_text())
    nb["cells"][-1]["source"] = f"x = 1\n    {sol}\n"
    nb_path.write_text(json.dumps(nb))
    (tree / "notes.md").write_text(f"copied from the instructor:\n\n    {hid}\n")
    leaks = find_leaks(tree)
    assert any(sol in leak for leak in leaks) and any(hid in leak for leak in leaks), leaks


def test_release_notebooks_carry_no_outputs():
    for p in COURSE.rglob("*.ipynb"):
        nb = json.loads(p.read_text())
        for c in nb["cells"]:
            assert not c.get("outputs"), f"{p.name} carries outputs"
