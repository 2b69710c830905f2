r"""Checks of notebook 07 (losses and output layers).

References are computed from the definitions, in 30-digit arithmetic (mpmath has no overflow):
$p_k = e^{z_k} / \sum_j e^{z_j}$ and $\ell = -\sum_k y_k \log p_k$ exactly as written, and the
output delta as SymPy's derivative of that loss with respect to $z$. None of them goes through
$p - y$, a shift by the maximum or log-sum-exp, the forms the student writes. Common slips are
modelled in float64 with numpy's warnings off, only to name a wrong answer.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import mpmath
import numpy as np
import sympy as sp

from ..grading import check_array
from ._core import Case, Exercise, call
from ._judging import as_layout as _layout
from ._judging import fail as _fail
from ._judging import on as _on
from ._judging import scalar as _scalar

__all__ = ["CrossEntropy", "OutputDelta", "Softmax"]

DPS = 30


# ------------------------------------------------------------------------------------------
# references, from the definitions in high precision
def _columns(Z) -> list[list]:
    return [[mpmath.mpf(float(v)) for v in Z[:, j]] for j in range(Z.shape[1])]


def _softmax_ref(Z: np.ndarray) -> np.ndarray:
    """p_k = e^{z_k} / sum_j e^{z_j}, per column, in 30 digits. Z (n, m) -> (n, m)."""
    out = np.empty(Z.shape)
    with mpmath.workdps(DPS):
        for j, col in enumerate(_columns(Z)):
            e = [mpmath.exp(v) for v in col]
            s = mpmath.fsum(e)
            out[:, j] = [float(v / s) for v in e]
    return out


def _cross_entropy_ref(Z: np.ndarray, Y: np.ndarray) -> float:
    """C = -(1/m) sum_j sum_k y_kj log p_kj with p = softmax(z_j), in 30 digits."""
    total = mpmath.mpf(0)
    with mpmath.workdps(DPS):
        for j, col in enumerate(_columns(Z)):
            e = [mpmath.exp(v) for v in col]
            s = mpmath.fsum(e)
            total -= mpmath.fsum(mpmath.mpf(float(Y[k, j])) * mpmath.log(e[k] / s) for k in range(len(col)) if Y[k, j])
        return float(total / Z.shape[1])


@functools.lru_cache(maxsize=16)
def _delta_expr(K: int):
    """SymPy's derivative of l(z, y) = -sum_k y_k log(e^{z_k} / sum_j e^{z_j}) with respect to
    each z_k, compiled for mpmath (arguments z_1..z_K, y_1..y_K)."""
    z = sp.symbols(f"z1:{K + 1}", real=True)
    y = sp.symbols(f"y1:{K + 1}", real=True)
    total = sp.Add(*[sp.exp(v) for v in z])
    loss = -sp.Add(*[y[k] * sp.log(sp.exp(z[k]) / total) for k in range(K)])
    return sp.lambdify([*z, *y], [sp.diff(loss, v) for v in z], modules="mpmath")


def _delta_ref(Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """delta = dl/dz per column, from SymPy's derivative evaluated in 30 digits."""
    f = _delta_expr(Z.shape[0])
    out = np.empty(Z.shape)
    with mpmath.workdps(DPS):
        for j, col in enumerate(_columns(Z)):
            out[:, j] = [float(v) for v in f(*col, *[mpmath.mpf(float(v)) for v in Y[:, j]])]
    return out


# ------------------------------------------------------------------------------------------
# models of slips (float64, numpy's warnings off)
def _naive_softmax(Z):
    with np.errstate(all="ignore"):
        e = np.exp(Z)
        return e / np.sum(e, axis=0, keepdims=True)


def _softmax64(Z, shift: str = "column", norm: str = "column"):
    """A float64 softmax with the shift by each "column"'s max or by the max of "all" entries, and
    the division by each "column"'s sum, each "row"'s sum, or the sum of "all" entries."""
    with np.errstate(all="ignore"):
        top = {"column": np.max(Z, axis=0, keepdims=True), "row": np.max(Z, axis=1, keepdims=True),
               "all": np.max(Z)}[shift]
        e = np.exp(Z - top)
        return e / {"column": np.sum(e, axis=0, keepdims=True), "row": np.sum(e, axis=1, keepdims=True),
                    "all": np.sum(e)}[norm]


def _same(a, b) -> bool:
    """Equal arrays or numbers, NaN equal to NaN and inf to inf of the same sign."""
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(np.allclose(a, b, rtol=1e-7, atol=1e-10, equal_nan=True))


def _nonfinite(x) -> bool:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.dtype.kind == "f" and not bool(np.all(np.isfinite(a)))


def _warning(fn, *args) -> str | None:
    """The first floating-point warning (overflow, 0/0, log 0) that ``fn(*args)`` raises, or None."""
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            fn(*args)
    except FloatingPointError as exc:
        return str(exc)[:120]
    except Exception:  # noqa: BLE001 - any other failure was already reported by the first call
        return None
    return None


def _one_hot(rng: np.random.Generator, K: int, m: int) -> np.ndarray:
    return np.eye(K)[:, rng.integers(0, K, size=m)]


def _soft(rng: np.random.Generator, K: int, m: int) -> np.ndarray:
    Y = rng.uniform(0.05, 1.0, (K, m))
    return Y / Y.sum(axis=0, keepdims=True)


# visible examples
Z_SMALL = np.array([[2.0, 0.5], [1.0, 2.5], [0.1, 0.0]])
Y_SMALL = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
Z_LARGE = np.array([[1000.0, -1000.0], [999.0, -1002.0], [0.0, -1001.0]])
Z_BIG2 = np.array([[1000.0, 0.0], [0.0, -1000.0]])
Y_BIG2 = np.array([[0.0, 1.0], [1.0, 0.0]])


# ------------------------------------------------------------------------------------------
class Softmax(Exercise):
    id = "ex07_softmax"
    names = ("softmax",)
    parts: ClassVar[dict[str, float]] = {"values": 2, "stable": 1}
    routes = ("backproplab.activations.softmax", "backproplab.activations.softmax_vjp",
              "backproplab.losses.logsumexp", "backproplab.losses.log_softmax",
              "backproplab.losses.softmax_cross_entropy_grad", "backproplab.matrix.activation_forward",
              "backproplab.matrix.forward", "backproplab.layerwise.forward")
    hints: ClassVar[dict[str, str]] = {
        "overflow": "exp(z) overflows (inf/inf = nan) for z above about 709: subtract each column's maximum "
                    "before exp; the softmax does not change",
        "global_max": "subtract each column's own maximum (axis=0, keepdims=True), not the largest entry of the "
                      "whole array: a column far below it underflows to 0/0",
        "axis": "normalise each column (axis=0): a column is one example, its entries the classes",
        "sum_all": "divide by each column's own sum (axis=0, keepdims=True), not the sum of the whole array",
        "warns": "numpy warned while computing it (an overflow or 0/0): compute it stably, so that nothing "
                 "overflows, even on the way",
        "in_place": "softmax changed its input Z (for example Z -= Z.max(...)): compute new arrays instead",
    }

    def cases(self, rng):
        if rng is None:
            return [Case("values", (Z_SMALL, "C"), "a 3x2 Z"),
                    Case("stable", (Z_LARGE, "C"), "logits of size 1000")]
        out = []
        for _ in range(3):
            n, m = (int(v) for v in rng.integers(2, 7, size=2))
            out.append(Case("values", (rng.normal(0, 3, (n, m)), "C"), f"a random {n}x{m} Z"))
        n, m = (int(v) for v in rng.integers(2, 6, size=2))
        out.append(Case("values", (rng.normal(0, 2, (n, m)), "F"), f"a {n}x{m} Z, not C-contiguous"))
        out.append(Case("values", (rng.normal(0, 2, (1, 4)), "C"), "one class (n=1)"))
        out.append(Case("values", (np.full((4, 2), float(rng.normal())), "C"), "equal logits"))
        n, m = (int(v) for v in rng.integers(2, 6, size=2))
        out.append(Case("stable", (rng.uniform(-1000, 1000, (n, m)), "C"), f"a {n}x{m} Z with entries up to 1000"))
        big = np.array([[800.0, -900.0], [800.0, -905.0], [799.0, -1000.0]])
        out.append(Case("stable", (big + rng.uniform(-2, 2, big.shape), "C"), "columns of +800 and -900"))
        out.append(Case("stable", (rng.uniform(600, 750, (3, 3)), "F"), "entries of 600 to 750, not C-contiguous"))
        return out

    def run(self, args, softmax):
        Z, layout = args
        Zin = _layout(Z, layout)
        P = call(softmax, Zin)
        return P, Zin, _warning(softmax, _layout(Z.copy(), layout))

    def judge(self, case, out):
        with _on(case.label):
            self._judge(case, out)

    def _judge(self, case, out):
        Z = case.args[0]
        P, Z_after, warned = out
        if isinstance(P, np.ndarray) and P.shape == Z.shape and _nonfinite(P):
            for wrong, key in ((_naive_softmax(Z), "overflow"), (_softmax64(Z, shift="all"), "global_max")):
                if _same(P, wrong):
                    _fail("known", f"softmax(Z): {self.hint(key)}")
        check_array(P, _softmax_ref(Z), "softmax(Z)",
                    mistakes=[(_softmax64(Z, shift="row", norm="row"), self.hint("axis")),
                              (_softmax64(Z, shift="column", norm="row"), self.hint("axis")),
                              (_softmax64(Z, norm="all"), self.hint("sum_all")),
                              (_softmax64(Z, shift="all", norm="all"), self.hint("sum_all"))])
        if warned:
            _fail("warning", f"softmax(Z): {self.hint('warns')} (numpy: {warned})")
        if not _same(Z_after, Z):
            _fail("known", self.hint("in_place"))


class CrossEntropy(Exercise):
    id = "ex07_cross_entropy"
    names = ("cross_entropy",)
    parts: ClassVar[dict[str, float]] = {"values": 2, "stable": 1}
    routes = ("backproplab.losses.softmax_cross_entropy", "backproplab.losses.cross_entropy",
              "backproplab.losses.log_softmax", "backproplab.losses.logsumexp", "backproplab.activations.softmax",
              "backproplab.matrix.backprop", "backproplab.matrix.forward", "backproplab.matrix.activation_forward",
              "backproplab.layerwise.backprop", "backproplab.layerwise.example_loss", "backproplab.layerwise.forward")
    hints: ClassVar[dict[str, str]] = {
        "sum_not_mean": "C is the mean over the m examples (columns): divide the sum by m",
        "mean_all": "divide by the number of examples m, not by the number of entries n_L * m (np.mean over "
                    "the whole array does that)",
        "sign": "the loss is minus the log-probability of the target: -sum_k y_k log p_k",
        "overflow": "exp(z) overflows (inf/inf = nan) for z above about 709: work with log p = z - logsumexp(z), "
                    "with logsumexp computed stably",
        "log_zero": "log(softmax(z)) gives log(0) = -inf when a probability underflows to 0: use "
                    "log p = z - logsumexp(z) directly",
    }

    def cases(self, rng):
        if rng is None:
            return [Case("values", (Z_SMALL, Y_SMALL, "C"), "a 3x2 Z with one-hot Y"),
                    Case("stable", (Z_BIG2, Y_BIG2, "C"), "logits of size 1000")]
        out = []
        for _ in range(3):
            K, m = (int(v) for v in rng.integers(2, 7, size=2))
            out.append(Case("values", (rng.normal(0, 3, (K, m)), _one_hot(rng, K, m), "C"),
                            f"a random {K}x{m} Z, one-hot Y"))
        K, m = (int(v) for v in rng.integers(2, 6, size=2))
        out.append(Case("values", (rng.normal(0, 2, (K, m)), _soft(rng, K, m), "F"),
                        f"a {K}x{m} Z (not C-contiguous), Y columns of probabilities"))
        out.append(Case("values", (rng.normal(0, 2, (3, 1)), _one_hot(rng, 3, 1), "C"), "one example (m=1)"))
        K, m = (int(v) for v in rng.integers(2, 6, size=2))
        Z = rng.uniform(-1000, 1000, (K, m))
        Y = np.zeros((K, m))
        Y[np.argmin(Z, axis=0), np.arange(m)] = 1.0          # every target on the least likely class
        out.append(Case("stable", (Z, Y, "C"), f"a {K}x{m} Z with entries up to 1000, unlikely targets"))
        Z = rng.uniform(700, 760, (3, 4))
        out.append(Case("stable", (Z, _one_hot(rng, 3, 4), "C"), "logits of 700 to 760"))
        return out

    def run(self, args, cross_entropy):
        Z, Y, layout = args
        return call(cross_entropy, _layout(Z, layout), Y), _warning(cross_entropy, _layout(Z.copy(), layout), Y.copy())

    def judge(self, case, out):
        with _on(case.label):
            self._judge(case, out)

    def _judge(self, case, out):
        Z, Y, _ = case.args
        C, warned = out
        m = Z.shape[1]
        ref = _cross_entropy_ref(Z, Y)
        if isinstance(C, (float, np.floating, np.ndarray)) and _nonfinite(C):
            # log(p) of any softmax fails where p underflows (then the fix for both is log-sum-exp);
            # otherwise a non-finite loss where only exp(z) overflows is the naive softmax
            with np.errstate(all="ignore"):
                log_of_p = -np.sum(Y * np.log(_softmax64(Z))) / m
                naive = -np.sum(Y * np.log(_naive_softmax(Z))) / m
            if not np.isfinite(log_of_p):
                _fail("known", f"C: {self.hint('log_zero')}")
            if not np.isfinite(naive):
                _fail("known", f"C: {self.hint('overflow')}")
        _scalar(C, ref, "C, the cross-entropy", batch_size=m,
                mistakes=[(m * ref, self.hint("sum_not_mean")), (ref / Z.shape[0], self.hint("mean_all")),
                          (-ref, self.hint("sign"))])
        if warned:
            _fail("warning", f"cross_entropy: numpy warned while computing it ({warned}): compute it "
                             "stably, so that nothing overflows and no log(0) is taken, even on the way")


class OutputDelta(Exercise):
    id = "ex07_output_delta"
    names = ("output_delta",)
    parts: ClassVar[dict[str, float]] = {"values": 2, "stable": 1}
    routes = ("backproplab.losses.softmax_cross_entropy_grad", "backproplab.losses.cross_entropy_grad",
              "backproplab.losses.log_softmax", "backproplab.losses.logsumexp",
              "backproplab.activations.softmax", "backproplab.activations.softmax_vjp",
              "backproplab.matrix.output_delta", "backproplab.matrix.activation_backward",
              "backproplab.matrix.activation_forward", "backproplab.matrix.forward", "backproplab.matrix.backprop",
              "backproplab.layerwise.forward", "backproplab.layerwise.backward", "backproplab.layerwise.backprop",
              "backproplab.gradcheck.numerical_gradient")
    hints: ClassVar[dict[str, str]] = {
        "per_example": "delta^L is per example: do not divide by m here (the 1/m goes into dW and db, once)",
        "sign": "delta^L = p - y, the prediction minus the target",
        "dl_dp": "that is dl/dp = -y/p; delta^L = dl/dz, which after the softmax's Jacobian is p - y",
        "extra_slope": "p - y already includes the softmax's slope: do not multiply by p(1 - p) again",
        "overflow": "exp(z) overflows (inf/inf = nan) for z above about 709: compute p with a stable softmax",
    }

    def cases(self, rng):
        if rng is None:
            return [Case("values", (Z_SMALL, Y_SMALL, "C"), "a 3x2 Z with one-hot Y"),
                    Case("stable", (Z_BIG2, Y_BIG2, "C"), "logits of size 1000")]
        out = []
        for _ in range(3):
            K, m = (int(v) for v in rng.integers(2, 7, size=2))
            out.append(Case("values", (rng.normal(0, 3, (K, m)), _one_hot(rng, K, m), "C"),
                            f"a random {K}x{m} Z, one-hot Y"))
        K, m = (int(v) for v in rng.integers(2, 6, size=2))
        out.append(Case("values", (rng.normal(0, 2, (K, m)), _soft(rng, K, m), "F"),
                        f"a {K}x{m} Z (not C-contiguous), Y columns of probabilities"))
        out.append(Case("values", (rng.normal(0, 2, (4, 1)), _one_hot(rng, 4, 1), "C"), "one example (m=1)"))
        K, m = (int(v) for v in rng.integers(2, 6, size=2))
        out.append(Case("stable", (rng.uniform(-1000, 1000, (K, m)), _one_hot(rng, K, m), "C"),
                        f"a {K}x{m} Z with entries up to 1000"))
        out.append(Case("stable", (rng.uniform(700, 760, (3, 4)), _one_hot(rng, 3, 4), "F"),
                        "logits of 700 to 760, not C-contiguous"))
        return out

    def run(self, args, output_delta):
        Z, Y, layout = args
        Zin = _layout(Z, layout)
        got = call(output_delta, Zin, Y)
        return got, _warning(output_delta, _layout(Z.copy(), layout), Y.copy()), [Zin, Y]

    def judge(self, case, out):
        with _on(case.label):
            self._judge(case, out)

    def _judge(self, case, out):
        Z, Y, _ = case.args
        got, warned, (Z_after, Y_after) = out
        m = Z.shape[1]
        P = _softmax64(Z)
        naive = _naive_softmax(Z) - Y
        if isinstance(got, np.ndarray) and got.shape == Z.shape and _nonfinite(got) and _same(got, naive):
            _fail("known", f"delta: {self.hint('overflow')}")
        with np.errstate(all="ignore"):
            dl_dp = -Y / P
        check_array(got, _delta_ref(Z, Y), "delta", batch_size=m,
                    mistakes=[((P - Y) / m, self.hint("per_example")), (Y - P, self.hint("sign")),
                              (dl_dp, self.hint("dl_dp")), (P * (1 - P) * (P - Y), self.hint("extra_slope"))])
        if warned:
            _fail("warning", f"output_delta: numpy warned while computing it ({warned}): compute p "
                             "stably, so that nothing overflows, even on the way")
        if not (_same(Z_after, Z) and _same(Y_after, Y)):
            _fail("in_place", "output_delta: it changed its input Z or Y in place: compute new arrays instead")
