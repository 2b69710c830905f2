"""The trusted side: draw each exercise's cases, then judge what the kernel handed back.

Runs in the grading worker, outside the sandbox, with the library from the repository. The
kernel only ever receives the cases' inputs (:func:`payload`); :func:`judge_test` rebuilds its
outputs through :mod:`backproplab.wire` and decides every case with the exercise's own
``judge``. A case whose output never came back scores as a failure.
"""

from __future__ import annotations

import hashlib

import numpy as np
from backproplab import wire
from backproplab.exercises import Case, Exercise, decode_result, judge_case, score

from .records import PartScore, TestResult

__all__ = ["case_seed", "draw", "judge_test", "payload"]

MAX_CASES_KEPT = 40


def case_seed(seed: int, exercise_id: str) -> int:
    """The hidden cases' seed for one exercise of one hand-in."""
    h = hashlib.sha256(f"{seed}:{exercise_id}".encode()).digest()
    return int.from_bytes(h[:8], "little")


def draw(ex: Exercise, seed: int) -> list[Case]:
    """Visible cases, then hidden ones drawn from ``seed``."""
    return ex.all_cases(np.random.default_rng(case_seed(seed, ex.id)))


def payload(cases: list[Case]) -> str:
    """The inputs of ``cases`` as wire text, the only thing the kernel receives."""
    return wire.dumps([[i, c.args] for i, c in enumerate(cases)])


def judge_test(grade_id: str, ex: Exercise, cases: list[Case], payloads: list[dict]) -> TestResult:
    """The verdict on one test cell from the payloads its collection cell displayed."""
    results: dict[int, dict] = {}
    for p in payloads:
        if not isinstance(p, dict):
            continue
        i = p.get("case")
        if type(i) is not int or not (0 <= i < len(cases)) or i in results:
            continue
        results[i] = decode_result(p.get("result"))
    verdicts = [judge_case(ex, i, c, results.get(i)) for i, c in enumerate(cases)]
    v = score(ex, verdicts)
    failed = [c for c in v.cases if not c.ok]
    return TestResult(
        grade_id=grade_id, score=v.score, max_score=v.max_score, message=v.message,
        kinds=list(dict.fromkeys(c.kind for c in failed)),
        parts=[PartScore(p.name, p.points, p.earned, p.message) for p in v.parts],
        cases=[{"index": c.index, "part": c.part, "visible": c.visible, "ok": c.ok, "kind": c.kind, "message": c.message}
               for c in [c for c in v.cases if c.visible or not c.ok][:MAX_CASES_KEPT]],
    )
