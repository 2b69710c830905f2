"""Grade every assignment's solution, release and sensitivity variants in one nbgrader run.

The variants of an assignment live in ``tests/notebooks/variants/<assignment>.py``:

    WRONG = {"ex01_chain": {"forgot_inner_derivative": "def chain_derivative(...): ...", ...}, ...}
    CORRECT = {"ex01_chain": "def chain_derivative(...): ... written differently ...", ...}

Each WRONG entry replaces one answer cell of an otherwise correct submission and
must lose points on that exercise; each CORRECT entry must keep full marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.nbtools import Graded, GradingRoot, exercise_ids, filled_submission, load_variants


@dataclass
class AssignmentRun:
    aid: str
    root: GradingRoot
    exercises: list[str]
    results: dict[str, Graded]
    wrong: dict[str, dict[str, str]]
    correct: dict[str, str]

    @staticmethod
    def student_for(exercise: str, name: str, kind: str) -> str:
        return f"{kind}-{exercise}-{name}".replace("_", "-")


def run_assignment(aid: str, workdir: Path) -> AssignmentRun:
    """Release ``aid`` in a private root and grade, as students of one autograde run:
    the solution, the unchanged release, every wrong and every correct variant."""
    root = GradingRoot(workdir, aids=[aid])
    source, release = root.source_nb(aid), root.release_nb(aid)
    wrong, correct = load_variants(aid)
    subs = {"solution": filled_submission(release, source), "release": release}
    for ex, variants in wrong.items():
        for name, code in variants.items():
            subs[AssignmentRun.student_for(ex, name, "wrong")] = filled_submission(release, source, {ex: code})
    for ex, code in correct.items():
        subs[AssignmentRun.student_for(ex, "alt", "correct")] = filled_submission(release, source, {ex: code})
    results = root.grade(aid, subs)
    return AssignmentRun(aid, root, exercise_ids(source), results, wrong, correct)
