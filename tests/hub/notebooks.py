"""What the test class hands in: notebooks made from the released one and the source.

Self-contained on purpose (nbgrader metadata only): solved, one exercise wrong (a mistake from
tests/notebooks/variants/), tampered (test cells edited, numpy patched), unchanged (blank).
"""

from __future__ import annotations

import copy
import runpy
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent.parent
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def answer_ids(nb) -> list[str]:
    return [meta(c)["grade_id"] for c in nb.cells if meta(c).get("solution") and not meta(c).get("grade")]


def test_cells(nb) -> dict[str, dict]:
    return {meta(c)["grade_id"]: c for c in nb.cells if meta(c).get("grade") and not meta(c).get("solution")}


def source(aid: str):
    return nbformat.read(str(REPO / "solutions" / aid / f"{aid}.ipynb"), as_version=4)


def solutions(aid: str) -> dict[str, str]:
    """{answer grade_id: the solution, as a student would write it (marker lines dropped)}."""
    out = {}
    for c in source(aid).cells:
        if meta(c).get("solution") and not meta(c).get("grade"):
            out[meta(c)["grade_id"]] = "\n".join(ln for ln in c.source.splitlines()
                                                 if ln.strip() not in SOLUTION_MARKERS)
    return out


def points(aid: str) -> dict[str, float]:
    """{exercise id: points of its test cell}."""
    return {gid.removesuffix("_tests"): float(meta(c).get("points", 0)) for gid, c in test_cells(source(aid)).items()}


def a_mistake(aid: str, exercise: str) -> str:
    """One wrong answer of ``exercise`` from the notebook's sensitivity variants."""
    wrong = runpy.run_path(str(REPO / "tests" / "notebooks" / "variants" / f"{aid}.py"))["WRONG"]
    return wrong[exercise][min(wrong[exercise])]


def filled(release: dict, answers: dict[str, str]) -> dict:
    """The released notebook with these answer cells filled in."""
    nb = nbformat.from_dict(copy.deepcopy(release))
    for c in nb.cells:
        gid = meta(c).get("grade_id")
        if gid in answers and meta(c).get("solution"):
            c.source = answers[gid]
    return nb


def solved(aid: str, release: dict) -> dict:
    return filled(release, solutions(aid))


def wrong_answers(aid: str) -> tuple[str, dict[str, str]]:
    """(the exercise answered wrongly, every answer) — the first exercise gets a common mistake."""
    sols = solutions(aid)
    first = next(iter(sols))
    return first, {**sols, first: a_mistake(aid, first)}


def tampered(aid: str, release: dict) -> dict:
    """Correct answers, every test cell edited to pass, and numpy's comparisons patched."""
    sols = solutions(aid)
    first = next(iter(sols))
    sols[first] += ("\nimport numpy as np\nnp.allclose = lambda *a, **k: True\n"
                    "np.testing.assert_allclose = lambda *a, **k: None\n")
    nb = filled(release, sols)
    for c in test_cells(nb).values():
        c.source = "pass  # all good"
    return nb
