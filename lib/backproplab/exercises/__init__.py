"""Every exercise's checks, defined once: the test cells' :func:`check` (Validate) and the
grader's trusted judging use the same definitions. See :mod:`backproplab.exercises._core`.

A test cell::

    from backproplab.exercises import check
    check("ex01_chain", chain_derivative)

The exercises of notebook NN live in ``backproplab.exercises.nbNN``.
"""

from ._core import (
    MIME,
    Case,
    CaseResult,
    Exercise,
    PartResult,
    Verdict,
    call,
    check,
    collect,
    decode_result,
    evaluate,
    failed_uses_note,
    get,
    judge_case,
    registry,
    run_case,
    score,
    try_answer,
)

__all__ = [
    "MIME",
    "Case",
    "CaseResult",
    "Exercise",
    "PartResult",
    "Verdict",
    "call",
    "check",
    "collect",
    "decode_result",
    "evaluate",
    "failed_uses_note",
    "get",
    "judge_case",
    "registry",
    "run_case",
    "score",
    "try_answer",
]
