r"""Loss functions, their gradients, and the stable from-logits forms.

A batch of m examples is m columns: the output activation ``A`` and the targets
``Y`` are both (n_L, m). The **cost** of a batch is the mean over its columns
(examples $\mu = 1, \dots, m$) of the per-example loss $\ell$,
$C = \frac{1}{m} \sum_\mu \ell(a^{(\mu)}, y^{(\mu)})$.

Each ``*_grad`` returns the gradient of the **per-example** loss with respect to
the output activation, column by column: $\partial \ell(a^{(\mu)}, y^{(\mu)})/\partial a^{(\mu)}$,
shape (n_L, m). The $1/m$ of the batch mean is applied once, where the weight
gradients are formed (``matrix.linear_backward``); the gradient of the cost $C$
itself is ``grad / m``.

From-logits forms take the output layer's net input ``Z`` (the logits) instead of
its activation, never overflow or warn (log-sum-exp, ``logaddexp``), and return
$\partial \ell/\partial z$ directly: $\sigma(z) - y$ and $p - y$.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._guard import protected

__all__ = [
    "NAMES",
    "Loss",
    "binary_cross_entropy",
    "binary_cross_entropy_grad",
    "cross_entropy",
    "cross_entropy_grad",
    "get",
    "log_softmax",
    "logsumexp",
    "sigmoid_binary_cross_entropy",
    "sigmoid_binary_cross_entropy_grad",
    "softmax_cross_entropy",
    "softmax_cross_entropy_grad",
    "squared_error",
    "squared_error_grad",
]

_TINY = np.finfo(np.float64).tiny


def _pair(A, Y, name: str) -> tuple[np.ndarray, np.ndarray]:
    A = np.asarray(A, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if A.shape != Y.shape:
        raise ValueError(
            f"{name}: the output has shape {A.shape} but the targets Y have shape {Y.shape}; "
            "both must be (n_L, m), one column per example"
        )
    return A, Y


def _m(A: np.ndarray) -> int:
    return A.shape[1] if A.ndim == 2 else 1


@protected
def squared_error(A, Y) -> float:
    r"""$C = \frac{1}{m}\sum_\mu \frac12 \sum_k (a_{k\mu} - y_{k\mu})^2$, the mean of $\ell = \frac12 \sum_k (a_k - y_k)^2$.

    A (n_L, m), Y (n_L, m) -> float (the batch mean).
    """
    A, Y = _pair(A, Y, "squared_error")
    D = A - Y
    return float(0.5 * np.sum(D * D) / _m(A))


@protected
def squared_error_grad(A, Y) -> np.ndarray:
    r"""$\partial \ell/\partial a = a - y$ per example.

    A (n_L, m), Y (n_L, m) -> (n_L, m).
    """
    A, Y = _pair(A, Y, "squared_error_grad")
    return A - Y


@protected
def binary_cross_entropy(A, Y) -> float:
    r"""$C = -\frac{1}{m}\sum_\mu \sum_k [y_{k\mu} \log a_{k\mu} + (1 - y_{k\mu})\log(1 - a_{k\mu})]$, outputs $a \in (0, 1)$.

    A (n_L, m), Y (n_L, m) -> float. Logs are clamped at the smallest positive
    float, so an output of exactly 0 or 1 gives a large finite loss, not a warning.
    """
    A, Y = _pair(A, Y, "binary_cross_entropy")
    la = np.log(np.maximum(A, _TINY))
    l1a = np.log(np.maximum(1.0 - A, _TINY))
    return float(-np.sum(Y * la + (1.0 - Y) * l1a) / _m(A))


@protected
def binary_cross_entropy_grad(A, Y) -> np.ndarray:
    r"""$\partial \ell/\partial a = (a - y) / (a (1 - a))$ per example.

    A (n_L, m), Y (n_L, m) -> (n_L, m).
    """
    A, Y = _pair(A, Y, "binary_cross_entropy_grad")
    return (A - Y) / np.maximum(A * (1.0 - A), _TINY)


@protected
def cross_entropy(A, Y) -> float:
    r"""$C = -\frac{1}{m}\sum_\mu \sum_k y_{k\mu} \log a_{k\mu}$, for probability columns ``A``.

    A (n_L, m), Y (n_L, m) (one-hot or probability columns) -> float.
    """
    A, Y = _pair(A, Y, "cross_entropy")
    return float(-np.sum(Y * np.log(np.maximum(A, _TINY))) / _m(A))


@protected
def cross_entropy_grad(A, Y) -> np.ndarray:
    r"""$\partial \ell/\partial a = -y / a$ per example.

    A (n_L, m), Y (n_L, m) -> (n_L, m).
    """
    A, Y = _pair(A, Y, "cross_entropy_grad")
    return -Y / np.maximum(A, _TINY)


@protected
def logsumexp(Z) -> np.ndarray:
    r"""Column-wise $\log \sum_k e^{z_k} = \max z + \log \sum_k e^{z_k - \max z}$.

    Z (n, m) -> (1, m); Z (n,) -> (1,).
    """
    Z = np.asarray(Z, dtype=np.float64)
    zmax = np.max(Z, axis=0, keepdims=True)
    return zmax + np.log(np.sum(np.exp(Z - zmax), axis=0, keepdims=True))


@protected
def log_softmax(Z) -> np.ndarray:
    r"""Column-wise $\log p_k = z_k - \log\sum_j e^{z_j}$. Z (n, m) -> (n, m)."""
    Z = np.asarray(Z, dtype=np.float64)
    return Z - logsumexp(Z)


@protected
def sigmoid_binary_cross_entropy(Z, Y) -> float:
    r"""BCE of $a = \sigma(z)$ from the logits: $\ell = \sum_k [\log(1 + e^{z_k}) - y_k z_k]$ per example, $C$ its batch mean.

    Z (n_L, m), Y (n_L, m) -> float. Exact for any z, no overflow.
    """
    Z, Y = _pair(Z, Y, "sigmoid_binary_cross_entropy")
    return float(np.sum(np.logaddexp(0.0, Z) - Y * Z) / _m(Z))


@protected
def sigmoid_binary_cross_entropy_grad(Z, Y) -> np.ndarray:
    r"""$\partial \ell/\partial z = \sigma(z) - y$ per example. Z (n_L, m), Y (n_L, m) -> (n_L, m)."""
    Z, Y = _pair(Z, Y, "sigmoid_binary_cross_entropy_grad")
    e = np.exp(-np.abs(Z))
    s = np.where(Z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return s - Y


@protected
def softmax_cross_entropy(Z, Y) -> float:
    r"""Cross-entropy of $p = \mathrm{softmax}(z)$ from the logits: $\ell = -\sum_k y_k (z_k - \mathrm{lse}(z))$.

    Z (n_L, m), Y (n_L, m) -> float (the batch mean $C$). Stable by log-sum-exp.
    """
    Z, Y = _pair(Z, Y, "softmax_cross_entropy")
    return float(-np.sum(Y * log_softmax(Z)) / _m(Z))


@protected
def softmax_cross_entropy_grad(Z, Y) -> np.ndarray:
    r"""$\partial \ell/\partial z = p - y$ per example (precisely $p \sum_k y_k - y$, the same for one-hot y).

    Z (n_L, m), Y (n_L, m) -> (n_L, m).
    """
    Z, Y = _pair(Z, Y, "softmax_cross_entropy_grad")
    zmax = np.max(Z, axis=0, keepdims=True)
    e = np.exp(Z - zmax)
    P = e / np.sum(e, axis=0, keepdims=True)
    return P * np.sum(Y, axis=0, keepdims=True) - Y


@dataclass(frozen=True)
class Loss:
    r"""A loss by name: ``value(A, Y) -> float``, the batch cost $C$, and ``grad(A, Y)``, $\partial \ell/\partial a$ per example (n_L, m)."""

    name: str
    value: Callable[..., float]
    grad: Callable[..., np.ndarray]


_TABLE: dict[str, Loss] = {
    "squared_error": Loss("squared_error", squared_error, squared_error_grad),
    "binary_cross_entropy": Loss("binary_cross_entropy", binary_cross_entropy, binary_cross_entropy_grad),
    "cross_entropy": Loss("cross_entropy", cross_entropy, cross_entropy_grad),
}

NAMES: tuple[str, ...] = tuple(_TABLE)


def get(name: str) -> Loss:
    """The :class:`Loss` called ``name``; a clear ``ValueError`` for an unknown name."""
    if not isinstance(name, str) or name not in _TABLE:
        raise ValueError(f"unknown loss {name!r}; choose one of: {', '.join(NAMES)}")
    return _TABLE[name]
