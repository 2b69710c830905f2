r"""Gradient checking by centered finite differences.

The centered difference
$\frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}$
has truncation error $O(h^2)$ (the forward difference only $O(h)$); with float64
and $h \approx 10^{-5}$ it agrees with an exact gradient to about $10^{-10}$.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._guard import protected
from .diagnose import diagnose, fmt_index

__all__ = ["GradCheck", "check_gradient", "numerical_gradient", "relative_error"]


@protected
def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    r"""Centered differences of a scalar function at ``x``.

    $g_i = (f(x + h e_i) - f(x - h e_i)) / (2h)$. x: float array of any shape
    -> array of x's shape. ``x`` is perturbed in place and restored, so ``f`` may
    close over it (as with a network's weights).
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError("numerical_gradient needs a float64 numpy array (float32 is too coarse for h=1e-5)")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = float(f(x))
        x[i] = old - h
        fm = float(f(x))
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


@protected
def relative_error(a, b, eps: float = 1e-12) -> float:
    r"""$\max_i |a_i - b_i| / \max(|a_i| + |b_i|, \epsilon)$: 0 when equal, 1 when opposite."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)))


@dataclass(frozen=True)
class GradCheck:
    """Result of :func:`check_gradient`: truthy when it passed; ``str()`` is one line."""

    ok: bool
    name: str
    max_rel_error: float
    worst_index: tuple[int, ...]
    analytic: np.ndarray
    numeric: np.ndarray
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.message


def check_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic,
    name: str = "grad",
    tol: float = 1e-6,
    h: float = 1e-5,
) -> GradCheck:
    """Compare an analytic gradient of ``f`` at ``x`` with centered differences.

    Returns a :class:`GradCheck`; its message names the worst entry, e.g.
    ``dW[2] differs at (1, 0): analytic 0.4131, numeric 0.2066 (ratio 2.00) - off by a factor of 2?``
    """
    numeric = numerical_gradient(f, x, h)
    analytic_arr = np.asarray(analytic)
    d = diagnose(analytic, numeric, name, rtol=tol, atol=tol * 1e-2)
    if d.kind in ("type", "shape", "transposed", "nonfinite"):
        return GradCheck(False, name, float("inf"), (), analytic_arr, numeric, d.message)
    analytic_arr = analytic_arr.astype(np.float64)
    err = np.abs(analytic_arr - numeric) / np.maximum(np.abs(analytic_arr) + np.abs(numeric), 1e-12)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape)) if err.size else ()
    rel = float(err[idx]) if err.size else 0.0
    ok = rel <= tol or bool(np.allclose(analytic_arr, numeric, rtol=tol, atol=tol * 1e-2))
    if ok:
        msg = f"{name} ok: max relative error {rel:.2e} (tolerance {tol:.0e})"
    else:
        av, nv = float(analytic_arr[idx]), float(numeric[idx])
        ratio = f" (ratio {av / nv:.2f})" if nv != 0 else ""
        hint = {
            "sign": " - sign flipped?",
            "scaled": " - off by a constant factor?",
            "batch_size": " - off by the batch size?",
        }.get(d.kind, "")
        if d.kind == "scaled" and nv != 0:
            hint = f" - off by a factor of {av / nv:.3g}?"
        msg = (
            f"{name} differs at {fmt_index(idx)}: analytic {av:.4g}, numeric {nv:.4g}{ratio}{hint} "
            f"(max relative error {rel:.2e})"
        )
    return GradCheck(ok, name, rel, idx, analytic_arr, numeric, msg)
