"""Small helpers the exercise modules (``nb01`` ... ``nb11``) share when they judge an answer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NoReturn

import numpy as np

from ..grading import GradingError, check_array

__all__ = ["as_layout", "fail", "field", "on", "scalar", "stable_sigmoid"]


def fail(kind: str, message: str) -> NoReturn:
    raise GradingError(message, kind)


@contextlib.contextmanager
def on(label: str) -> Iterator[None]:
    """Name the case in front of a failure's one line: "<label>: dW[2] differs at ..."."""
    try:
        yield
    except GradingError as exc:
        raise GradingError(f"{label}: {exc}", exc.kind) from None


def field(out, key: str):
    """One entry of what ``run`` returned; a malformed record is a failure, never a pass."""
    if not isinstance(out, dict) or key not in out:
        fail("type", "the test's record of your function's outputs could not be read: run the cell again")
    return out[key]


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z) without overflow for any z."""
    with np.errstate(all="ignore"):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def as_layout(A: np.ndarray, layout: str) -> np.ndarray:
    """A as passed to the student: "F" makes a column-major copy (not C-contiguous)."""
    return np.asfortranarray(A) if layout == "F" else A


def scalar(actual, expected: float, name: str, mistakes=(), batch_size: int | None = None) -> None:
    """check_scalar with the exercise's own hints (``mistakes``: (wrong number, hint) pairs)."""
    if isinstance(actual, np.ndarray) and actual.size == 1:
        actual = actual.reshape(())
    if isinstance(actual, np.ndarray) and actual.ndim > 0:
        fail("shape", f"{name} should be a single number, got an array of shape {actual.shape}")
    check_array(actual, np.float64(expected), name, batch_size=batch_size,
                mistakes=[(np.float64(w), h) for w, h in mistakes])
