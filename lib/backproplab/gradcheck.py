r"""Gradient checking by centered finite differences, with one rule for "agrees".

The centered difference
$g_i = \frac{C(x + h e_i) - C(x - h e_i)}{2h}$
has a truncation error of about $h^2 |C'''| / 6$. Rounding adds more: $C$ itself is computed
to a relative error of about $\varepsilon$ (machine epsilon), so the difference of the two
values carries an absolute error of about $\varepsilon |C| / h$ whatever the true gradient is.
That is the **noise floor**: an entry of the gradient smaller than it cannot be resolved by
finite differences at all. With float64 and $h = 10^{-5}$ it is about $2 \cdot 10^{-11} |C|$.

**The rule** (this module's and notebook 03's alike). An analytic entry $a_i$ and a numeric
entry $n_i$ agree when

$$|a_i - n_i| \le \max\big(\tau\,(|a_i| + |n_i|),\ \eta\big), \qquad
\eta = \texttt{NOISE\_FACTOR}\cdot\varepsilon\,|C| / h,$$

that is, when the error is small *relative to the entry* (tolerance $\tau$) or smaller than the
noise floor $\eta$. Dividing by $\tau$ gives one number per entry, the relative error with
the floor $\eta/\tau$ in its denominator,

$$r_i = \frac{|a_i - n_i|}{\max(|a_i| + |n_i|,\ \eta / \tau)} \le \tau,$$

and the check reports the worst $r_i$. ``NOISE_FACTOR`` = 100 is a safety margin: $C$ is the
result of many operations, each of which rounds, and the truncation error at $h = 10^{-5}$ is of
the same size as the rounding. It costs nothing that matters: only a wrong entry smaller than
$\eta \approx 2 \cdot 10^{-9} |C|$ could hide below the floor. The estimate assumes that $C$ is
computed to a relative error of about $\varepsilon$; near a perfect fit, where $C$ is a small
difference of much larger numbers, its rounding is larger: check at a random point, not at a
minimum of $C$.

Why an absolute floor and not a norm-wise error: the rule stays per entry, so a wrong entry is
named where it is and a wrong small entry is not hidden by large ones; and the floor scales
with $|C|$, so a loss a million times smaller has a floor a million times lower (the check
stays scale-free). Without a floor, a correct gradient with tiny entries (a saturated tanh
unit, for example) fails: its entries near $10^{-7}$ have relative errors near $10^{-4}$ that
are pure noise. The other source of false alarms is a **kink** (ReLU at 0, ``max`` at a tie):
where some input is within $h$ of the kink, the centered difference averages the two one-sided
slopes, and no rule can tell that from a bug; check at points away from kinks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._guard import protected
from .diagnose import diagnose, fmt_index

__all__ = ["NOISE_FACTOR", "GradCheck", "check_gradient", "noise_floor", "numerical_gradient", "relative_error"]

NOISE_FACTOR = 100.0


@protected
def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    r"""Centered differences of a scalar function at ``x``.

    $g_i = (f(x + h e_i) - f(x - h e_i)) / (2h)$. x: float64 array of any shape (a
    non-contiguous view such as ``W.T`` too) -> array of x's shape. ``x`` is perturbed in place
    and every entry restored exactly, so ``f`` may close over it (as with a network's weights).
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError("numerical_gradient needs a float64 numpy array (float32 is too coarse for h=1e-5)")
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = float(f(x))
        x[i] = old - h
        fm = float(f(x))
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def noise_floor(c: float, h: float = 1e-5, dtype=np.float64) -> float:
    r"""$\eta = \texttt{NOISE\_FACTOR}\cdot\varepsilon\,|C| / h$: the size of the error that rounding alone
    gives a centered difference of a function whose value at the point is ``c``.

    ``dtype``: the precision ``C`` is computed in (its machine epsilon $\varepsilon$).
    """
    return float(NOISE_FACTOR * np.finfo(dtype).eps * abs(float(c)) / h)


@protected
def relative_error(a, b, floor: float = 1e-12) -> float:
    r"""$\max_i |a_i - b_i| / \max(|a_i| + |b_i|, \mathrm{floor})$: 0 when equal, 1 when opposite.

    a, b: arrays (or numbers) of one shape -> a float; 0.0 for empty arrays. An entry smaller
    than ``floor`` is measured against ``floor``: the default only keeps 0/0 away;
    :func:`check_gradient` passes $\eta/\tau$, so that noise below the floor $\eta$ is not an error.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))


@dataclass(frozen=True)
class GradCheck:
    """Result of :func:`check_gradient`: truthy when it passed; ``str()`` is one line.

    ``max_rel_error`` is the worst $r_i$ of the module's rule (at ``worst_index``), so the check
    passed exactly when ``max_rel_error <= tol``; ``noise_floor`` is the $\\eta$ it used.
    """

    ok: bool
    name: str
    max_rel_error: float
    worst_index: tuple[int, ...]
    analytic: np.ndarray
    numeric: np.ndarray
    message: str
    noise_floor: float = 0.0
    tol: float = 1e-6

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.message


@protected
def check_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic,
    name: str = "grad",
    tol: float = 1e-6,
    h: float = 1e-5,
) -> GradCheck:
    r"""Compare an analytic gradient of ``f`` at ``x`` with centered differences, by the module's rule.

    f: x -> C (a number); x: float64 array (perturbed in place, restored); analytic: like x.
    An entry agrees when $|a_i - n_i| \le \max(\tau(|a_i| + |n_i|), \eta)$ with the noise floor
    $\eta$ of :func:`noise_floor` at $C = f(x)$; the check passes when every entry agrees.
    Returns a :class:`GradCheck`; its message names the worst entry, e.g.
    ``dW[2] differs at (1, 0): analytic 0.4131, numeric 0.2066 (ratio 2.00) - off by a factor of 2?``
    """
    if not tol > 0:
        raise ValueError(f"check_gradient: the tolerance must be positive, got {tol!r}")
    numeric = numerical_gradient(f, x, h)
    eta = noise_floor(float(f(x)), h)
    analytic_arr = np.asarray(analytic)
    d = diagnose(analytic, numeric, name, rtol=tol, atol=eta)
    if d.kind in ("type", "shape", "transposed", "nonfinite"):
        return GradCheck(False, name, float("inf"), (), analytic_arr, numeric, d.message, eta, tol)
    analytic_arr = analytic_arr.astype(np.float64)
    err = np.abs(analytic_arr - numeric) / np.maximum(np.abs(analytic_arr) + np.abs(numeric), eta / tol)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape)) if err.size else ()
    rel = float(err[idx]) if err.size else 0.0
    ok = rel <= tol
    if ok:
        msg = f"{name} ok: max relative error {rel:.2e} <= tolerance {tol:.0e} (noise floor {eta:.1e})"
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
            f"(relative error {rel:.2e} > tolerance {tol:.0e})"
        )
    return GradCheck(ok, name, rel, idx, analytic_arr, numeric, msg, eta, tol)
