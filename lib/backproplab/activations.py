r"""Activation functions and their derivatives, numerically stable.

Every activation is applied elementwise to an array ``z`` of any shape, except
``softmax``, which normalises each **column** (the course's convention: a batch is
a set of columns). No function here overflows or warns, even at $|z| = 1000$.

Each activation is available three ways:

- as plain functions, e.g. :func:`sigmoid` and :func:`sigmoid_prime`;
- as an :class:`Activation` record from :func:`get` (``f``, ``df``, ``vjp``);
- by name in the ``backprop(...)`` contract: ``"identity"``, ``"sigmoid"``,
  ``"tanh"``, ``"relu"``, ``"softplus"``, ``"swish"``, ``"mish"``, ``"softmax"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._guard import protected

__all__ = [
    "NAMES",
    "Activation",
    "get",
    "identity",
    "identity_prime",
    "mish",
    "mish_prime",
    "relu",
    "relu_prime",
    "sigmoid",
    "sigmoid_prime",
    "softmax",
    "softmax_jacobian",
    "softmax_vjp",
    "softplus",
    "softplus_prime",
    "swish",
    "swish_prime",
    "tanh",
    "tanh_prime",
]


def _arr(z) -> np.ndarray:
    return np.asarray(z, dtype=np.float64)


def identity(z):
    r"""$f(z) = z$."""
    return _arr(z).copy()


def identity_prime(z):
    r"""$f'(z) = 1$."""
    return np.ones_like(_arr(z))


@protected
def sigmoid(z):
    r"""$\sigma(z) = 1 / (1 + e^{-z})$, computed from $e^{-|z|}$ so it never overflows."""
    z = _arr(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@protected
def sigmoid_prime(z):
    r"""$\sigma'(z) = \sigma(z)\,(1 - \sigma(z))$."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    r"""$\tanh z$."""
    return np.tanh(_arr(z))


@protected
def tanh_prime(z):
    r"""$\tanh'(z) = 1 - \tanh^2 z$."""
    t = np.tanh(_arr(z))
    return 1.0 - t * t


def relu(z):
    r"""$\max(0, z)$."""
    return np.maximum(_arr(z), 0.0)


@protected
def relu_prime(z):
    r"""The subgradient $\mathbb{1}[z > 0]$ (0 at $z = 0$, the usual choice)."""
    return (_arr(z) > 0).astype(np.float64)


def softplus(z):
    r"""$\log(1 + e^z)$, as ``logaddexp(0, z)``."""
    return np.logaddexp(0.0, _arr(z))


@protected
def softplus_prime(z):
    r"""$\mathrm{softplus}'(z) = \sigma(z)$."""
    return sigmoid(z)


def swish(z):
    r"""$z\,\sigma(z)$ (also called SiLU)."""
    z = _arr(z)
    return z * sigmoid(z)


@protected
def swish_prime(z):
    r"""$\sigma(z) + z\,\sigma(z)(1 - \sigma(z))$."""
    z = _arr(z)
    s = sigmoid(z)
    return s + z * s * (1.0 - s)


def mish(z):
    r"""$z \tanh(\mathrm{softplus}(z))$."""
    z = _arr(z)
    return z * np.tanh(softplus(z))


@protected
def mish_prime(z):
    r"""$\tanh(\mathrm{sp}(z)) + z\,(1 - \tanh^2(\mathrm{sp}(z)))\,\sigma(z)$."""
    z = _arr(z)
    t = np.tanh(softplus(z))
    return t + z * (1.0 - t * t) * sigmoid(z)


@protected
def softmax(z):
    r"""Column-wise $p_k = e^{z_k - \max z} / \sum_j e^{z_j - \max z}$.

    z (n,) or (n, m) -> same shape; each column sums to 1.
    """
    z = _arr(z)
    shifted = z - np.max(z, axis=0, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=0, keepdims=True)


def softmax_jacobian(z):
    r"""$\partial p_i / \partial z_j = p_i(\mathbb{1}[i = j] - p_j)$ for one column.

    z (n,) -> (n, n).
    """
    p = softmax(_arr(z).reshape(-1))
    return np.diag(p) - np.outer(p, p)


@protected
def softmax_vjp(z, grad_a):
    r"""$\partial \ell/\partial z = p \odot (g - \sum_k p_k g_k)$ per column (example), with $g = \partial \ell/\partial p$.

    z (n, m), grad_a (n, m) -> (n, m).
    """
    p = softmax(z)
    g = _arr(grad_a)
    return p * (g - np.sum(p * g, axis=0, keepdims=True))


@dataclass(frozen=True)
class Activation:
    """An activation by name: ``f(z)``, its elementwise derivative ``df(z)``
    (``None`` for softmax), and ``vjp(z, grad_a)`` = $\\partial \\ell/\\partial z$ given
    ``grad_a`` = $\\partial \\ell/\\partial a$, per example (column)."""

    name: str
    f: Callable
    df: Callable | None
    vjp: Callable


def _elementwise(name: str, f: Callable, df: Callable) -> Activation:
    return Activation(name, f, df, lambda z, g: df(z) * _arr(g))


_TABLE: dict[str, Activation] = {
    "identity": _elementwise("identity", identity, identity_prime),
    "sigmoid": _elementwise("sigmoid", sigmoid, sigmoid_prime),
    "tanh": _elementwise("tanh", tanh, tanh_prime),
    "relu": _elementwise("relu", relu, relu_prime),
    "softplus": _elementwise("softplus", softplus, softplus_prime),
    "swish": _elementwise("swish", swish, swish_prime),
    "mish": _elementwise("mish", mish, mish_prime),
    "softmax": Activation("softmax", softmax, None, softmax_vjp),
}

NAMES: tuple[str, ...] = tuple(_TABLE)


def get(name: str) -> Activation:
    """The :class:`Activation` called ``name``; a clear ``ValueError`` for an unknown name."""
    if not isinstance(name, str) or name not in _TABLE:
        raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(NAMES)}")
    return _TABLE[name]
