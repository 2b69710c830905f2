r"""Name the likely mistake when an array differs from the one expected.

Used by :mod:`backproplab.gradcheck` (for a student's own checks) and by
:mod:`backproplab.grading` (for test cells), so both speak with one voice. The
checks run in a fixed order (exercise contract, point 6): type, shape, finite
values, then the numbers; the first failure is reported in one line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Diagnosis", "diagnose", "fmt_index"]


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on one array. ``ok`` is True when it matches; ``kind`` is a short
    tag (``"type"``, ``"shape"``, ``"transposed"``, ``"nonfinite"``, ``"sign"``,
    ``"scaled"``, ``"batch_size"``, ``"entries"``) the class report counts; ``message``
    is one line a student can act on."""

    ok: bool
    kind: str
    message: str

    def __bool__(self) -> bool:
        return self.ok


def fmt_index(idx: tuple[int, ...]) -> str:
    """``(1, 0)`` for a 2-D index, ``3`` for a 1-D one, ``()`` for a scalar."""
    if len(idx) == 1:
        return str(idx[0])
    return "(" + ", ".join(str(int(i)) for i in idx) + ")"


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _worst(actual: np.ndarray, expected: np.ndarray) -> tuple[int, ...]:
    err = np.abs(actual - expected) / (np.abs(expected) + 1e-12)
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))


def _tname(x) -> str:
    return getattr(x, "type_name", None) or type(x).__name__


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def diagnose(
    actual,
    expected,
    name: str = "result",
    rtol: float = 1e-7,
    atol: float = 1e-10,
    batch_size: int | None = None,
) -> Diagnosis:
    """Compare ``actual`` with ``expected`` and name the likely mistake.

    actual: anything (a student's answer); expected: array-like of floats.
    ``batch_size`` (the m of a batch) lets a factor of m or 1/m be named as such.
    Never warns and never prints.
    """
    expected = np.asarray(expected, dtype=np.float64)
    if isinstance(actual, (list, tuple)) and expected.ndim > 0:
        return Diagnosis(
            False,
            "type",
            f"{name} should be a numpy array of shape {expected.shape}, got a {_tname(actual)}",
        )
    if actual is None:
        return Diagnosis(False, "type", f"{name} is None: did you forget to return it?")
    if not isinstance(actual, (np.ndarray, np.generic, float, int)) or isinstance(actual, bool):
        return Diagnosis(
            False,
            "type",
            f"{name} should be a numpy array (or a float), got {_tname(actual)}",
        )
    a = np.asarray(actual)
    if not np.issubdtype(a.dtype, np.number):
        return Diagnosis(False, "type", f"{name} has dtype {a.dtype}, expected float64 numbers")
    if a.shape != expected.shape:
        if a.ndim == 2 and a.shape == expected.shape[::-1]:
            with np.errstate(all="ignore"):
                if _close(a.T.astype(np.float64), expected, rtol, atol):
                    return Diagnosis(
                        False,
                        "transposed",
                        f"{name} has shape {a.shape}, expected {expected.shape}: it is the "
                        "transpose of the right answer (check the order of the product)",
                    )
        return Diagnosis(False, "shape", f"{name} has shape {a.shape}, expected {expected.shape}")
    a = a.astype(np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if a.ndim else ()
        return Diagnosis(
            False,
            "nonfinite",
            f"{name} has {int(bad.sum())} non-finite value(s) (NaN or inf), first at "
            f"{fmt_index(idx)}: look for an overflow or a division by zero",
        )
    with np.errstate(all="ignore"):
        if _close(a, expected, rtol, atol):
            return Diagnosis(True, "ok", f"{name} is correct")
        single = a.size == 1
        got_expected = f": got {_fmt(float(a.reshape(-1)[0]))}, expected {_fmt(float(expected.reshape(-1)[0]))}" \
            if single else ""
        if np.any(expected != 0) and _close(-a, expected, rtol, atol):
            where = "" if single else " everywhere"
            return Diagnosis(False, "sign", f"{name} has the wrong sign{where} (sign flipped){got_expected}")
        if a.ndim == 2 and a.shape[0] == a.shape[1] and a.shape[0] > 1 and _close(a.T, expected, rtol, atol):
            return Diagnosis(
                False, "transposed", f"{name} is the transpose of the right answer (square matrix)"
            )
        nz = np.abs(expected) > 1e-12
        if nz.any():
            ratio = a[nz] / expected[nz]
            c = float(np.median(ratio))
            if np.isfinite(c) and abs(c) > 1e-12 and abs(c - 1.0) > 1e-3 and _close(a, c * expected, 1e-6, atol):
                if batch_size and batch_size > 1 and (np.isclose(c, batch_size) or np.isclose(c, 1 / batch_size)):
                    how = "summed over the batch instead of averaging" if c > 1 else "divided by the batch size once too often"
                    return Diagnosis(
                        False,
                        "batch_size",
                        f"{name} is off by a factor of {_fmt(c)} = the batch size m={batch_size}: {how}?",
                    )
                # one number is always some multiple of another: only a factor seen on several
                # entries, or a plain 2 or 1/2, says something about the mistake
                if not single or any(np.isclose(abs(c), k, rtol=1e-9) for k in (2.0, 0.5)):
                    return Diagnosis(
                        False, "scaled", f"{name} is off by a constant factor of {_fmt(c)}{got_expected}"
                    )
        mism = ~np.isclose(a, expected, rtol=rtol, atol=atol)
        idx = _worst(a, expected) if a.ndim else ()
        where = f" at {fmt_index(idx)}" if a.ndim else ""
        av = float(a[idx]) if a.ndim else float(a)
        ev = float(expected[idx]) if a.ndim else float(expected)
        ratio = f" (ratio {av / ev:.3g})" if ev != 0 else ""
        count = f"; {int(mism.sum())} of {mism.size} entries differ" if a.ndim else ""
        return Diagnosis(
            False,
            "entries",
            f"{name} differs{where}: got {_fmt(av)}, expected {_fmt(ev)}{ratio}{count}",
        )
