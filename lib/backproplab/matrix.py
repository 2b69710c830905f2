r"""Backpropagation in matrix form: batched over columns, with a forward cache.

The derivation, layer $l = 1, \dots, L$, a batch of m examples as m columns:

- forward: $Z^l = W^l A^{l-1} + b^l$, $A^l = f^l(Z^l)$, $A^0 = X$;
- output delta: $\delta^L = f'(Z^L) \odot \partial \ell/\partial a^L$, column by column
  (softmax with cross-entropy: $P - Y$);
- hidden deltas: $\delta^l = f'(Z^l) \odot (W^{l+1})^\top \delta^{l+1}$;
- gradients of the batch cost $C = \frac1m \sum_\mu \ell^{(\mu)}$:
  $\partial C/\partial W^l = \frac1m \delta^l (A^{l-1})^\top$,
  $\partial C/\partial b^l = \frac1m \sum_\mu \delta^l_{:,\mu}$.

Deltas are per example (column $\mu$ is $\partial \ell^{(\mu)} / \partial z^{l(\mu)}$ of example $\mu$); the
$1/m$ of the batch mean is applied once, in :func:`linear_backward`.

The contract: ``loss, dW, db = backprop(weights, biases, X, Y, activations, loss)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _checks
from . import activations as _act
from . import losses as _losses
from ._guard import protected

__all__ = [
    "Cache",
    "activation_backward",
    "activation_forward",
    "backprop",
    "backward",
    "forward",
    "hidden_delta",
    "linear_backward",
    "linear_forward",
    "output_delta",
]

Cache = tuple[np.ndarray, np.ndarray]
"""What layer l's backward needs: ``(A_prev, Z)``, shapes (n_{l-1}, m) and (n_l, m)."""


@protected
def linear_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    r"""$Z = W A_{prev} + b$ (b broadcast over the columns).

    A_prev (n_{l-1}, m), W (n_l, n_{l-1}), b (n_l, 1) -> Z (n_l, m) and the cache ``(A_prev, W)``.
    """
    Z = W @ A_prev
    Z += b
    return Z, (A_prev, W)


@protected
def linear_backward(delta: np.ndarray, A_prev: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of $Z = W A_{prev} + b$ given $\delta = \partial \ell / \partial Z$ (per example, one column each).

    delta (n_l, m), A_prev (n_{l-1}, m), W (n_l, n_{l-1})
    -> dA_prev $= W^\top \delta$ (n_{l-1}, m, per example), dW $= \frac1m \delta A_{prev}^\top$ like W,
    db $= \frac1m \sum_\mu \delta_{:,\mu}$ (n_l, 1); batch mean over the m columns.
    """
    dW, db = _param_grads(delta, A_prev)
    return W.T @ delta, dW, db


def _param_grads(delta: np.ndarray, A_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inv_m = 1.0 / delta.shape[1]
    dW = delta @ A_prev.T
    dW *= inv_m
    db = np.sum(delta, axis=1, keepdims=True)
    db *= inv_m
    return dW, db


@protected
def activation_forward(Z: np.ndarray, activation: str) -> np.ndarray:
    r"""$A = f(Z)$, elementwise (softmax: per column). Z (n_l, m) -> A (n_l, m)."""
    return _act.get(activation).f(Z)


@protected
def activation_backward(grad_A: np.ndarray, Z: np.ndarray, activation: str) -> np.ndarray:
    r"""$\delta = f'(Z) \odot \partial \ell/\partial A$, per example (softmax: its vector-Jacobian product per column).

    grad_A (n_l, m), Z (n_l, m) -> delta (n_l, m).
    """
    return _act.get(activation).vjp(Z, grad_A)


@protected
def forward(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray, activations: Sequence[str]
) -> tuple[np.ndarray, list[Cache]]:
    r"""The forward pass $Z^l = W^l A^{l-1} + b^l$, $A^l = f^l(Z^l)$, keeping what backward needs.

    weights[l-1] (n_l, n_{l-1}), biases[l-1] (n_l, 1), X (n_0, m), activations: one name per layer
    -> A_L (n_L, m) and caches, where caches[l-1] = (A^{l-1}, Z^l).
    """
    Ws, bs, X, acts = _checks.check_network(weights, biases, X, activations)
    return _forward(Ws, bs, X, acts)


def _forward(Ws, bs, X, acts) -> tuple[np.ndarray, list[Cache]]:
    A = X
    caches: list[Cache] = []
    for W, b, name in zip(Ws, bs, acts):
        Z = W @ A
        Z += b
        caches.append((A, Z))
        A = _act.get(name).f(Z)
    return A, caches


def _fused(activation: str, loss: str) -> bool:
    return (activation, loss) in (("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"))


@protected
def output_delta(A_L: np.ndarray, Z_L: np.ndarray, Y: np.ndarray, activation: str, loss: str) -> np.ndarray:
    r"""$\delta^L = f'(Z^L) \odot \partial \ell/\partial a^L$; for softmax + cross-entropy and sigmoid + BCE simply $A - Y$.

    A_L, Z_L, Y: (n_L, m) -> delta_L (n_L, m), per example (not divided by m).
    """
    if activation == "softmax" and loss == "cross_entropy":
        return A_L * np.sum(Y, axis=0, keepdims=True) - Y  # = P - Y for one-hot (or probability) columns
    if activation == "sigmoid" and loss == "binary_cross_entropy":
        return A_L - Y
    return _act.get(activation).vjp(Z_L, _losses.get(loss).grad(A_L, Y))


@protected
def hidden_delta(W_next: np.ndarray, delta_next: np.ndarray, Z: np.ndarray, activation: str) -> np.ndarray:
    r"""$\delta^l = f'(Z^l) \odot (W^{l+1})^\top \delta^{l+1}$.

    W_next (n_{l+1}, n_l), delta_next (n_{l+1}, m), Z (n_l, m) -> delta (n_l, m).
    """
    return _delta_below(W_next, delta_next, Z, activation)


@protected
def backward(
    weights: Sequence[np.ndarray], caches: Sequence[Cache], activations: Sequence[str], delta_L: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""The delta recursion $\delta^l = f'(Z^l) \odot (W^{l+1})^\top \delta^{l+1}$, from the output delta down.

    weights[l-1] (n_l, n_{l-1}); caches from :func:`forward`; delta_L (n_L, m) per example
    -> dW, db: lists like weights and biases, $\frac1m \delta^l (A^{l-1})^\top$ and $\frac1m \sum_\mu \delta^l_{:,\mu}$.
    """
    if len(caches) != len(weights) or len(activations) != len(weights):
        raise ValueError(
            f"backward needs one cache and one activation per layer: {len(weights)} layers, "
            f"{len(caches)} caches, {len(activations)} activations"
        )
    if delta_L.shape != caches[-1][1].shape:
        raise ValueError(f"delta_L has shape {delta_L.shape}, expected {caches[-1][1].shape} (like Z_L)")
    return _backward(weights, caches, activations, delta_L)


def _backward(Ws, caches, acts, delta):
    L = len(Ws)
    dW: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    db: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    for i in range(L - 1, -1, -1):
        A_prev, _ = caches[i]
        dW[i], db[i] = _param_grads(delta, A_prev)
        if i > 0:
            delta = _delta_below(Ws[i], delta, caches[i - 1][1], acts[i - 1])
    return dW, db


def _delta_below(W_next: np.ndarray, delta_next: np.ndarray, Z: np.ndarray, activation: str) -> np.ndarray:
    # f'(Z) * (W_next^T delta_next), multiplied in place into the fresh product (fewer new arrays)
    back = W_next.T @ delta_next
    if activation == "relu":
        np.multiply(back, Z > 0, out=back)
        return back
    act = _act.get(activation)
    if act.df is None:
        return act.vjp(Z, back)
    back *= act.df(Z)
    return back


@protected
def backprop(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    activations: Sequence[str],
    loss: str = "squared_error",
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    r"""The batch cost $C = \frac1m \sum_\mu \ell(a^{L(\mu)}, y^{(\mu)})$ and its gradients $\partial C/\partial W^l$, $\partial C/\partial b^l$.

    weights[l-1] (n_l, n_{l-1}), biases[l-1] (n_l, 1), X (n_0, m), Y (n_L, m),
    activations: one name per layer, loss: "squared_error", "binary_cross_entropy" or
    "cross_entropy" -> (loss: float, dW: list like weights, db: list like biases).
    """
    Ws, bs, X, acts = _checks.check_network(weights, biases, X, activations)
    _checks.check_loss(loss, acts[-1])
    Y = _checks.check_targets(Y, Ws[-1].shape[0], X.shape[1])
    A_L, caches = _forward(Ws, bs, X, acts)
    Z_L = caches[-1][1]
    if acts[-1] == "softmax" and loss == "cross_entropy":
        value = _losses.softmax_cross_entropy(Z_L, Y)
    elif acts[-1] == "sigmoid" and loss == "binary_cross_entropy":
        value = _losses.sigmoid_binary_cross_entropy(Z_L, Y)
    else:
        value = _losses.get(loss).value(A_L, Y)
    delta_L = output_delta(A_L, Z_L, Y, acts[-1], loss)
    dW, db = _backward(Ws, caches, acts, delta_L)
    return value, dW, db
