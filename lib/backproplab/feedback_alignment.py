r"""Feedback alignment (Lillicrap, Cownden, Tweed & Akerman 2016): backprop's delta recursion with a
fixed random matrix $B^l$ in place of the transposed forward weights $(W^{l+1})^\top$.

- true backprop: $\delta^l = f'(Z^l) \odot (W^{l+1})^\top \delta^{l+1}$;
- feedback alignment: $\delta^l = f'(Z^l) \odot B^l \delta^{l+1}$, with $B^l$ of the shape of
  $(W^{l+1})^\top$, i.e. (n_l, n_{l+1}), drawn once and never trained.

The output delta and the gradient formulas are backprop's: $\partial C/\partial W^l \approx
\frac1m \delta^l (A^{l-1})^\top$ and $\frac1m \sum_j \delta^l_{:,j}$, so the last layer's update is
exact and only the hidden layers' updates change. ``feedback[l-1]`` belongs to hidden layer l
(l = 1, ..., L-1): it carries $\delta^{l+1}$ back to layer l.

Source: T. P. Lillicrap, D. Cownden, D. B. Tweed, C. J. Akerman (2016). Random synaptic feedback
weights support error backpropagation for deep learning. *Nature Communications* 7, 13276.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import _checks, matrix
from . import activations as _act
from . import losses as _losses
from ._guard import protected

__all__ = ["fa_backprop", "fa_backward", "fa_grad_fn", "random_feedback", "update_angle"]


def random_feedback(weights: Sequence[np.ndarray], rng: np.random.Generator, scale: float = 1.0) -> list[np.ndarray]:
    r"""Fixed random feedback matrices $B^l_{ij} \sim \mathcal{N}(0, \mathrm{scale}^2 / n_{l+1})$.

    weights[l-1] (n_l, n_{l-1}) -> feedback: list of L-1 arrays, entry l-1 (n_l, n_{l+1}) (the shape of
    $(W^{l+1})^\top$).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be an np.random.Generator, got {type(rng).__name__}")
    return [rng.normal(0.0, scale / np.sqrt(W.shape[0]), size=W.T.shape) for W in weights[1:]]


def _check_feedback(weights: Sequence[np.ndarray], feedback: Sequence[np.ndarray]) -> None:
    if len(feedback) != len(weights) - 1:
        raise ValueError(f"{len(weights)} layers need {len(weights) - 1} feedback matrices, got {len(feedback)}")
    for l, (W_next, B) in enumerate(zip(weights[1:], feedback), start=1):
        if np.shape(B) != W_next.T.shape:
            raise ValueError(f"feedback[{l - 1}] has shape {np.shape(B)}, expected {W_next.T.shape} "
                             f"(the shape of W[{l + 1}].T)")


@protected
def fa_backward(weights: Sequence[np.ndarray], feedback: Sequence[np.ndarray], caches: Sequence[matrix.Cache],
                activations: Sequence[str], delta_L: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""The feedback-alignment recursion $\delta^l = f'(Z^l) \odot B^l \delta^{l+1}$, from the output delta down.

    weights[l-1] (n_l, n_{l-1}) (only their count and shapes are used); feedback[l-1] (n_l, n_{l+1});
    caches[l-1] = (A^{l-1} (n_{l-1}, m), Z^l (n_l, m)) from :func:`backproplab.matrix.forward`;
    delta_L (n_L, m) per example -> dW, db: lists like weights and biases,
    $\frac1m \delta^l (A^{l-1})^\top$ and $\frac1m \sum_j \delta^l_{:,j}$.
    """
    _check_feedback(weights, feedback)
    if len(caches) != len(weights) or len(activations) != len(weights):
        raise ValueError("fa_backward needs one cache and one activation per layer")
    L = len(weights)
    dW: list[np.ndarray] = [np.empty(0)] * L
    db: list[np.ndarray] = [np.empty(0)] * L
    delta = np.asarray(delta_L, dtype=np.float64)
    for l in range(L, 0, -1):
        A_prev, _ = caches[l - 1]
        m = delta.shape[1]
        dW[l - 1] = delta @ A_prev.T / m
        db[l - 1] = np.sum(delta, axis=1, keepdims=True) / m
        if l > 1:
            Z = caches[l - 2][1]
            act = _act.get(activations[l - 2])
            back = feedback[l - 2] @ delta                       # B^{l-1} delta^l, where backprop has W^T
            delta = act.df(Z) * back if act.df is not None else act.vjp(Z, back)
    return dW, db


@protected
def fa_backprop(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], feedback: Sequence[np.ndarray],
                X: np.ndarray, Y: np.ndarray, activations: Sequence[str], loss: str = "squared_error",
                ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    r"""The batch cost $C$ and feedback alignment's updates, in the ``backprop(...)`` contract plus ``feedback``.

    weights[l-1] (n_l, n_{l-1}), biases[l-1] (n_l, 1), feedback[l-1] (n_l, n_{l+1}), X (n_0, m),
    Y (n_L, m) -> (loss: float, dW: list like weights, dW[L-1] exact, db: list like biases).
    """
    Ws, bs, X, acts = _checks.check_network(weights, biases, X, activations)
    _checks.check_loss(loss, acts[-1])
    Y = _checks.check_targets(Y, Ws[-1].shape[0], X.shape[1])
    A_L, caches = matrix.forward(Ws, bs, X, acts)
    Z_L = caches[-1][1]
    if acts[-1] == "softmax" and loss == "cross_entropy":
        value = _losses.softmax_cross_entropy(Z_L, Y)
    elif acts[-1] == "sigmoid" and loss == "binary_cross_entropy":
        value = _losses.sigmoid_binary_cross_entropy(Z_L, Y)
    else:
        value = _losses.get(loss).value(A_L, Y)
    delta_L = matrix.output_delta(A_L, Z_L, Y, acts[-1], loss)
    dW, db = fa_backward(Ws, feedback, caches, acts, delta_L)
    return value, dW, db


def fa_grad_fn(feedback: Sequence[np.ndarray]) -> Callable:
    """A ``grad_fn`` for :func:`backproplab.train.train` that trains by feedback alignment with ``feedback``.

    -> a function (weights, biases, X, Y, activations, loss) -> (loss, dW, db).
    """
    fixed = [np.array(B, dtype=np.float64) for B in feedback]

    def grad_fn(weights, biases, X, Y, activations, loss):
        return fa_backprop(weights, biases, fixed, X, Y, activations, loss)

    return grad_fn


def update_angle(u: Sequence[np.ndarray] | np.ndarray, v: Sequence[np.ndarray] | np.ndarray) -> float:
    r"""The angle between two updates, in degrees: $\arccos \frac{u \cdot v}{\lVert u \rVert \lVert v \rVert}$.

    u, v: arrays or lists of arrays of matching shapes (flattened and concatenated) -> degrees in [0, 180]
    (90 when either is zero).
    """
    a = np.concatenate([np.ravel(x) for x in (u if isinstance(u, (list, tuple)) else [u])]).astype(np.float64)
    b = np.concatenate([np.ravel(x) for x in (v if isinstance(v, (list, tuple)) else [v])]).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"the two updates have {a.size} and {b.size} entries")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 90.0
    return float(np.degrees(np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0))))
