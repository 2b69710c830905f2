"""Grade every assignment's solution, release and sensitivity variants through the real pipeline.

The variants of an assignment live in ``tests/notebooks/variants/<assignment>.py``:

    WRONG = {"ex01_chain": {"forgot_inner_derivative": "def chain_derivative(...): ...", ...}, ...}
    CORRECT = {"ex01_chain": "def chain_derivative(...): ... written differently ...", ...}
    FIRES = {"ex01_chain": {"<hint key>": "<name of the wrong variant on which it fires>", ...}, ...}

Each WRONG entry replaces one answer cell of an otherwise correct submission and must lose
points on that exercise; each CORRECT entry must keep full marks. All of them, with the
solution, the unchanged release and an "all wrong" hand-in (the first wrong variant of every
exercise at once), are students of ONE pipeline run (sandboxed where the sandbox works), and
the tests read their records.
"""

from __future__ import annotations

import os
import re
import runpy
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.build.authoring import filled_submission
from autograder.course import COURSE, REPO, SOLUTIONS, answer_cells, graded_cells, make_config, notebook_path
from autograder.grading.pipeline import run
from autograder.grading.records import Record
from autograder.grading.sandbox import probe

VARIANTS = REPO / "tests" / "notebooks" / "variants"


def load_variants(aid: str, folder: Path = VARIANTS, with_fires: bool = False):
    """The sensitivity variants of ``aid`` from ``folder/<aid>.py`` (empty when there is none):
    ``WRONG`` {exercise: {name: code}}, ``CORRECT`` {exercise: code} and, with ``with_fires``,
    ``FIRES`` {exercise: {hint key: the wrong variant's name on which that hint must fire}}."""
    path = folder / f"{aid}.py"
    ns = runpy.run_path(str(path)) if path.exists() else {}
    out = ns.get("WRONG", {}), ns.get("CORRECT", {})
    return (*out, ns.get("FIRES", {})) if with_fires else out


def read_nb(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def exercise_ids(nb: nbformat.NotebookNode) -> list[str]:
    """Exercise ids of a notebook: each answer cell ``exNN_name`` with its test cell ``exNN_name_tests``."""
    answers, tests = answer_cells(nb), graded_cells(nb)
    return [gid for gid in answers if f"{gid}_tests" in tests]


def sandbox_available() -> bool:
    ok, why = probe()
    if not ok and os.environ.get("CI"):
        raise RuntimeError(f"CI must grade in the sandbox: {why}")
    return ok


def student_for(exercise: str, name: str, kind: str) -> str:
    return f"{kind}-{exercise}-{name}".replace("_", "-")


@dataclass
class AssignmentRun:
    aid: str
    workdir: Path
    exercises: list[str]
    records: dict[str, Record]
    wrong: dict[str, dict[str, str]]
    correct: dict[str, str]
    fires: dict[str, dict[str, str]]
    submissions: dict[str, Path]


def run_assignment(aid: str, workdir: Path) -> AssignmentRun:
    """Write every submission of ``aid`` as an nbgrader-layout export and grade them in one run."""
    source, release = read_nb(notebook_path(aid, SOLUTIONS)), read_nb(notebook_path(aid, COURSE))
    wrong, correct, fires = load_variants(aid, with_fires=True)
    subs = {"solution": filled_submission(release, source), "release": release}
    firsts = {ex: next(iter(v.values())) for ex, v in wrong.items() if v}
    if firsts:
        subs["all-wrong"] = filled_submission(release, source, firsts)
    for ex, variants in wrong.items():
        for name, code in variants.items():
            subs[student_for(ex, name, "wrong")] = filled_submission(release, source, {ex: code})
    for ex, code in correct.items():
        subs[student_for(ex, "alt", "correct")] = filled_submission(release, source, {ex: code})
    export = workdir / "export"
    paths = {}
    for student, nb in subs.items():
        p = export / student / aid / f"{aid}.ipynb"
        p.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(p))
        paths[student] = p
    summary = run(export, workdir / "out", jobs=1, only=[aid], sandbox=sandbox_available(), quiet=True,
                  report=False)
    records = {k: r for (k, a), r in summary.records.items() if a == aid}
    return AssignmentRun(aid, workdir, exercise_ids(source), records, wrong, correct, fires, paths)


_GRADING_ERROR = re.compile(r"GradingError\S*:\s*(.*)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def validate(path: Path) -> dict[str, str]:
    """nbgrader's Validate on a notebook, as the Validate button runs it: ``{test grade_id:
    the one-line message}`` of every failing test cell."""
    from nbgrader.validator import Validator

    result = Validator(config=make_config()).validate(str(path))
    nb = read_nb(path)
    by_source = {c.source.strip(): g for g, c in graded_cells(nb).items()}
    out = {}
    for f in result.get("failed", []):
        gid = by_source.get(f["source"].strip())
        if gid is None:
            continue
        text = _ANSI.sub("", f.get("raw_error", f.get("error", "")))
        m = _GRADING_ERROR.search(text)
        out[gid] = m.group(1).strip() if m else text.strip().splitlines()[-1]
    return out
