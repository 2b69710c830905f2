r"""Gauss-Newton with Levenberg-Marquardt damping, for a regression network's squared error.

With the residuals $r = \mathrm{vec}(A^L - Y)$ (m n_L entries: example by example, output by output)
and all parameters in one vector $\theta$ (:func:`flatten_params`), the batch cost is
$C(\theta) = \frac{1}{2m} \lVert r \rVert^2$. Its gradient is $\frac1m J^\top r$ and its Gauss-Newton
curvature $\frac1m J^\top J$, with the residual Jacobian $J_{ik} = \partial r_i / \partial \theta_k$.
One Levenberg-Marquardt step solves

$$(J^\top J + \lambda I)\,\Delta = -J^\top r, \qquad \theta \leftarrow \theta + \Delta .$$

Small $\lambda$: a Gauss-Newton step; large $\lambda$: a short gradient-descent step,
$\Delta \approx -J^\top r / \lambda$. Marquardt's rule adapts $\lambda$: shrink it after a step that
lowers the cost, grow it (and retry) after one that does not (:func:`fit`).

Row i = j n_L + k of $J$ is the gradient of one residual, example j's output k: backprop seeded with
$e_k$ at the output, **per example** (no mean over the batch). Example j's residuals depend only on
column j, so one batched backward pass per output unit gives all m rows at once.

Sources: K. Levenberg (1944), A method for the solution of certain non-linear problems in least
squares, *Quarterly of Applied Mathematics* 2(2), 164-168; D. W. Marquardt (1963), An algorithm
for least-squares estimation of nonlinear parameters, *SIAM J. Appl. Math.* 11(2), 431-441;
M. T. Hagan & M. B. Menhaj (1994), Training feedforward networks with the Marquardt algorithm,
*IEEE Trans. Neural Networks* 5(6), 989-993.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import _checks, matrix
from . import activations as _act
from ._guard import protected

__all__ = [
    "LMHistory",
    "cost",
    "fit",
    "flatten_params",
    "lm_step",
    "residual_jacobian",
    "residuals",
    "unflatten_params",
]


def flatten_params(params: Sequence[np.ndarray]) -> np.ndarray:
    r"""$\theta$: every array of ``params`` (``weights + biases``) flattened row by row, concatenated.

    params: list of arrays (W^1, ..., W^L, b^1, ..., b^L) -> theta (P,), P the total number of entries.
    """
    return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in params])


def unflatten_params(theta: np.ndarray, like: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The inverse of :func:`flatten_params`: theta (P,) -> a list of arrays shaped like ``like``."""
    theta = np.asarray(theta, dtype=np.float64).ravel()
    sizes = [int(np.size(p)) for p in like]
    if theta.size != sum(sizes):
        raise ValueError(f"theta has {theta.size} entries, the parameters {sum(sizes)}")
    out, k = [], 0
    for p, n in zip(like, sizes):
        out.append(theta[k:k + n].reshape(np.shape(p)).copy())
        k += n
    return out


def residuals(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray, Y: np.ndarray,
              activations: Sequence[str]) -> np.ndarray:
    r"""$r = \mathrm{vec}(A^L - Y)$, example by example: r[j n_L + k] = a^L_{kj} - y_{kj}.

    weights, biases as in the contract, X (n_0, m), Y (n_L, m) -> r (m n_L,).
    """
    A_L, _ = matrix.forward(weights, biases, X, activations)
    return (A_L - np.asarray(Y, dtype=np.float64)).ravel(order="F")


def cost(weights, biases, X, Y, activations: Sequence[str]) -> float:
    r"""$C = \frac{1}{2m} \lVert r \rVert^2$, the library's batch squared error. -> float."""
    r = residuals(weights, biases, X, Y, activations)
    return float(r @ r / (2 * np.shape(X)[1]))


@protected
def residual_jacobian(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray,
                      activations: Sequence[str]) -> np.ndarray:
    r"""$J_{ik} = \partial r_i / \partial \theta_k$ by per-example backprop, one batched pass per output unit.

    weights[l-1] (n_l, n_{l-1}), biases[l-1] (n_l, 1), X (n_0, m), elementwise activations
    -> J (m n_L, P), columns in the order of :func:`flatten_params` (weights + biases).
    """
    Ws, bs, X, acts = _checks.check_network(weights, biases, X, activations)
    if "softmax" in acts:
        raise ValueError("residual_jacobian is for regression networks with elementwise activations")
    _, caches = matrix.forward(Ws, bs, X, acts)
    L, m, n_L = len(Ws), X.shape[1], Ws[-1].shape[0]
    J = np.empty((m * n_L, sum(W.size for W in Ws) + sum(b.size for b in bs)))
    for k in range(n_L):
        seed = np.zeros((n_L, m))
        seed[k] = 1.0
        delta = _act.get(acts[-1]).df(caches[-1][1]) * seed        # d a^L_k / d z^L, per example
        blocks_W: list[np.ndarray] = [np.empty(0)] * L
        blocks_b: list[np.ndarray] = [np.empty(0)] * L
        for l in range(L, 0, -1):
            A_prev = caches[l - 1][0]
            # row j: vec(delta_j a_j^T), example j's own outer product (no 1/m: one residual, not a mean)
            blocks_W[l - 1] = np.einsum("ij,kj->jik", delta, A_prev).reshape(m, -1)
            blocks_b[l - 1] = delta.T
            if l > 1:
                delta = _act.get(acts[l - 2]).df(caches[l - 2][1]) * (Ws[l - 1].T @ delta)
        J[k::n_L] = np.hstack(blocks_W + blocks_b)
    return J


@protected
def lm_step(J: np.ndarray, r: np.ndarray, theta: np.ndarray, lam: float) -> np.ndarray:
    r"""One Levenberg-Marquardt step: $\theta - (J^\top J + \lambda I)^{-1} J^\top r$.

    J (N, P), r (N,), theta (P,), lam $\lambda \ge 0$ -> new theta (P,).
    """
    J, r, theta = (np.asarray(a, dtype=np.float64) for a in (J, r, theta))
    P = theta.size
    return theta - np.linalg.solve(J.T @ J + lam * np.eye(P), J.T @ r)


@dataclass
class LMHistory:
    """Per step: the cost before the step, the damping used, the seconds since the start, and
    how many trial steps were rejected (each rejection grows the damping)."""

    loss: list[float] = field(default_factory=list)
    lam: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)


def fit(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray, Y: np.ndarray,
        activations: Sequence[str], steps: int = 50, lam: float = 1e-2, down: float = 3.0, up: float = 2.0,
        lam_max: float = 1e10) -> tuple[list[np.ndarray], list[np.ndarray], LMHistory]:
    r"""Levenberg-Marquardt training with Marquardt's rule: accept a step that lowers $C$ and set
    $\lambda \leftarrow \lambda / \mathrm{down}$; else $\lambda \leftarrow \mathrm{up}\,\lambda$ and retry.

    weights[l-1] (n_l, n_{l-1}), biases[l-1] (n_l, 1), X (n_0, m), Y (n_L, m) -> (weights, biases,
    history); history.loss has steps + 1 entries (the last is the final cost). Inputs are not modified.
    """
    Ws, bs, X, acts = _checks.check_network(weights, biases, X, activations)
    Y = _checks.check_targets(Y, Ws[-1].shape[0], X.shape[1])
    like = list(Ws) + list(bs)
    L = len(Ws)
    theta = flatten_params(like)
    h = LMHistory()
    t0 = time.perf_counter()
    c = cost(Ws, bs, X, Y, acts)
    for _ in range(steps):
        ps = unflatten_params(theta, like)
        J = residual_jacobian(ps[:L], ps[L:], X, acts)
        r = residuals(ps[:L], ps[L:], X, Y, acts)
        h.loss.append(c)
        rejected = 0
        while lam <= lam_max:
            trial = lm_step(J, r, theta, lam)
            new = unflatten_params(trial, like)
            with np.errstate(all="ignore"):
                c_new = cost(new[:L], new[L:], X, Y, acts) if np.all(np.isfinite(trial)) else np.inf
            if c_new < c:
                theta, c, lam = trial, c_new, max(lam / down, 1e-12)
                break
            lam *= up
            rejected += 1
        h.lam.append(lam)
        h.rejected.append(rejected)
        h.seconds.append(time.perf_counter() - t0)
    h.loss.append(c)
    ps = unflatten_params(theta, like)
    return ps[:L], ps[L:], h
