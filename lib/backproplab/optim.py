r"""Optimisers: gradient descent, momentum and Adam, as update rules with explicit state.

Parameters and gradients are lists of arrays (e.g. ``weights + biases`` and
``dW + db``). Every rule is a pure function: it returns new arrays and new state and
modifies nothing, so a trajectory can be replayed and compared step by step. The
small classes :class:`SGD`, :class:`Momentum` and :class:`Adam` hold that state for a
training loop; their ``step(params, grads)`` calls the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._guard import protected

__all__ = ["SGD", "Adam", "Momentum", "Optimizer", "adam_step", "get", "momentum_step", "sgd_step"]

Arrays = list[np.ndarray]


def _check(params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
    if len(params) != len(grads):
        raise ValueError(f"{len(params)} parameter arrays but {len(grads)} gradients")
    for i, (p, g) in enumerate(zip(params, grads)):
        if np.shape(p) != np.shape(g):
            raise ValueError(f"parameter {i} has shape {np.shape(p)} but its gradient has shape {np.shape(g)}")


@protected
def sgd_step(params: Sequence[np.ndarray], grads: Sequence[np.ndarray], lr: float) -> Arrays:
    r"""$\theta \leftarrow \theta - \eta\, g$.

    params, grads: lists of arrays of matching shapes; lr: $\eta$ -> new params (list).
    """
    _check(params, grads)
    return [p - lr * g for p, g in zip(params, grads)]


@protected
def momentum_step(
    params: Sequence[np.ndarray], grads: Sequence[np.ndarray], velocity: Sequence[np.ndarray] | None,
    lr: float, beta: float = 0.9,
) -> tuple[Arrays, Arrays]:
    r"""$v \leftarrow \beta v - \eta g$, $\theta \leftarrow \theta + v$ (classical momentum).

    params, grads, velocity: lists of arrays of matching shapes (velocity None = zeros)
    -> (new params, new velocity).
    """
    _check(params, grads)
    if velocity is None:
        velocity = [np.zeros_like(p, dtype=np.float64) for p in params]
    new_v = [beta * v - lr * g for v, g in zip(velocity, grads)]
    return [p + v for p, v in zip(params, new_v)], new_v


@protected
def adam_step(
    params: Sequence[np.ndarray], grads: Sequence[np.ndarray], m: Sequence[np.ndarray] | None,
    v: Sequence[np.ndarray] | None, t: int, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[Arrays, Arrays, Arrays]:
    r"""Adam: $s \leftarrow \beta_1 s + (1-\beta_1) g$, $r \leftarrow \beta_2 r + (1-\beta_2) g^2$, $\theta \leftarrow \theta - \eta \frac{\hat s}{\sqrt{\hat r} + \mathrm{eps}}$, $\hat s = \frac{s}{1-\beta_1^t}$, $\hat r = \frac{r}{1-\beta_2^t}$.

    The moment estimates $s$, $r$ are the arguments ``m``, ``v`` (Adam's own names; the ``m``
    here is not the batch size m), and ``eps`` is a small constant, not machine epsilon.
    params, grads, m, v: lists of arrays of matching shapes (m, v None = zeros);
    t: this step's number, starting at 1 -> (new params, new m, new v).
    """
    _check(params, grads)
    if t < 1:
        raise ValueError(f"Adam's step number t starts at 1, got {t}")
    if m is None:
        m = [np.zeros_like(p, dtype=np.float64) for p in params]
    if v is None:
        v = [np.zeros_like(p, dtype=np.float64) for p in params]
    new_m = [beta1 * mi + (1 - beta1) * g for mi, g in zip(m, grads)]
    new_v = [beta2 * vi + (1 - beta2) * g * g for vi, g in zip(v, grads)]
    c1, c2 = 1 - beta1**t, 1 - beta2**t
    new_p = [p - lr * (mi / c1) / (np.sqrt(vi / c2) + eps) for p, mi, vi in zip(params, new_m, new_v)]
    return new_p, new_m, new_v


class Optimizer:
    """Base class: ``step(params, grads) -> new params``; the state is in plain attributes."""

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> Arrays:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        keys = ", ".join(f"{k}={v}" for k, v in vars(self).items() if isinstance(v, (int, float)))
        return f"{type(self).__name__}({keys})"


class SGD(Optimizer):
    r"""Plain gradient descent, $\theta \leftarrow \theta - \eta g$."""

    def __init__(self, lr: float = 0.1) -> None:
        self.lr = lr

    def step(self, params, grads) -> Arrays:
        """One update; returns the new parameters."""
        return sgd_step(params, grads, self.lr)


class Momentum(Optimizer):
    r"""Classical momentum; state ``velocity`` (None until the first step)."""

    def __init__(self, lr: float = 0.1, beta: float = 0.9) -> None:
        self.lr, self.beta = lr, beta
        self.velocity: Arrays | None = None

    def step(self, params, grads) -> Arrays:
        """One update; returns the new parameters and keeps the new velocity."""
        new_p, self.velocity = momentum_step(params, grads, self.velocity, self.lr, self.beta)
        return new_p


class Adam(Optimizer):
    r"""Adam; state ``m``, ``v`` (the moment estimates $s$, $r$ of :func:`adam_step`; None until the first step) and the step count ``t``."""

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m: Arrays | None = None
        self.v: Arrays | None = None
        self.t = 0

    def step(self, params, grads) -> Arrays:
        """One update; returns the new parameters and keeps m, v, t."""
        self.t += 1
        new_p, self.m, self.v = adam_step(params, grads, self.m, self.v, self.t, self.lr, self.beta1,
                                          self.beta2, self.eps)
        return new_p


def get(name: str, **kwargs) -> Optimizer:
    """A fresh optimiser by name: ``"sgd"``, ``"momentum"`` or ``"adam"`` (keyword arguments passed on)."""
    table = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
    if name not in table:
        raise ValueError(f"unknown optimiser {name!r}; choose one of: {', '.join(table)}")
    return table[name](**kwargs)
