"""The student release: generated from solutions/, in sync, and free of solutions and hidden tests."""

from __future__ import annotations

import json

from autograder.course import (COURSE, HIDDEN_MARKERS, SOLUTION_MARKERS, answer_cells, assignments,
                               notebook_path, graded_cells)
from autograder.nbtools import read_nb
from autograder.release import check_release


def _release_text(aid: str) -> str:
    return "\n".join(c.source for c in read_nb(notebook_path(aid, COURSE)).cells)


def _block_lines(source: str, begin: str, end: str) -> tuple[list[str], set[str]]:
    """Distinctive lines inside the blocks, and every line outside them."""
    lines, outside, inside = [], set(), False
    for line in source.splitlines():
        s = line.strip()
        if s == begin:
            inside = True
        elif s == end:
            inside = False
        elif inside and len(s) >= 12 and not s.startswith("#"):
            lines.append(s)
        elif not inside:
            outside.add(s)
    return lines, outside


def test_every_assignment_is_released():
    aids = assignments()
    assert aids, "no assignments in solutions/"
    for aid in aids:
        assert notebook_path(aid, COURSE).exists(), f"{aid} is not released; run `make release`"


def test_course_equals_a_fresh_regeneration():
    problems = check_release()
    assert not problems, "course/ is stale (run `make release`):\n" + "\n".join(problems)


def test_no_solution_or_hidden_test_in_course():
    everything = "\n".join(p.read_text() for p in COURSE.rglob("*") if p.is_file())
    for marker in SOLUTION_MARKERS + HIDDEN_MARKERS:
        assert marker not in everything
    for aid in assignments():
        src = read_nb(notebook_path(aid))
        text = _release_text(aid)
        # a line also written outside the blocks (a visible test's loop header) is no leak
        public = {s.strip() for c in src.cells for s in c.source.splitlines()}
        secret = []
        for gid, cell in answer_cells(src).items():
            lines, outside = _block_lines(cell.source, *SOLUTION_MARKERS)
            secret += [(gid, "solution", ln) for ln in lines]
            public -= set(lines) - outside
        for gid, cell in graded_cells(src).items():
            lines, outside = _block_lines(cell.source, *HIDDEN_MARKERS)
            secret += [(gid, "hidden test", ln) for ln in lines]
            public -= set(lines) - outside
        for gid, kind, line in secret:
            if line not in public:
                assert line not in text, f"{aid}/{gid}: {kind} line in the release: {line!r}"


def test_release_notebooks_carry_no_outputs():
    for p in COURSE.rglob("*.ipynb"):
        nb = json.loads(p.read_text())
        for c in nb["cells"]:
            assert not c.get("outputs"), f"{p.name} carries outputs"
