r"""Weight initialisers. Each returns W of shape (n_out, n_in) = (n_l, n_{l-1}): $n_{in} = n_{l-1}$, $n_{out} = n_l$.

Variance-preserving choices keep $\mathrm{Var}(z^l) \approx \mathrm{Var}(z^{l-1})$ through
the layers: Glorot/Xavier $\mathrm{Var}(w) = 2/(n_{in} + n_{out})$ (for tanh, sigmoid),
He $\mathrm{Var}(w) = 2/n_{in}$ (for ReLU). All take an ``np.random.Generator``; nothing
here touches the global random state.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._guard import protected

__all__ = [
    "METHODS",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "init_network",
    "naive_normal",
    "xavier_normal",
    "xavier_uniform",
]


def _check(n_out: int, n_in: int, rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be an np.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    if int(n_out) < 1 or int(n_in) < 1:
        raise ValueError(f"layer sizes must be positive, got n_out={n_out}, n_in={n_in}")


@protected
def naive_normal(n_out: int, n_in: int, rng: np.random.Generator, std: float = 0.01) -> np.ndarray:
    r"""$w \sim \mathcal{N}(0, \mathrm{std}^2)$, the same scale whatever the width. -> (n_out, n_in)."""
    _check(n_out, n_in, rng)
    return rng.normal(0.0, std, size=(n_out, n_in))


@protected
def glorot_normal(n_out: int, n_in: int, rng: np.random.Generator) -> np.ndarray:
    r"""$w \sim \mathcal{N}(0, 2/(n_{in} + n_{out}))$ (Glorot & Bengio 2010). -> (n_out, n_in)."""
    _check(n_out, n_in, rng)
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_out, n_in))


@protected
def glorot_uniform(n_out: int, n_in: int, rng: np.random.Generator) -> np.ndarray:
    r"""$w \sim U(-r, r)$, $r = \sqrt{6/(n_{in} + n_{out})}$ (variance $2/(n_{in}+n_{out})$). -> (n_out, n_in)."""
    _check(n_out, n_in, rng)
    r = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-r, r, size=(n_out, n_in))


@protected
def he_normal(n_out: int, n_in: int, rng: np.random.Generator) -> np.ndarray:
    r"""$w \sim \mathcal{N}(0, 2/n_{in})$ (He et al. 2015). -> (n_out, n_in)."""
    _check(n_out, n_in, rng)
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))


@protected
def he_uniform(n_out: int, n_in: int, rng: np.random.Generator) -> np.ndarray:
    r"""$w \sim U(-r, r)$, $r = \sqrt{6/n_{in}}$ (variance $2/n_{in}$). -> (n_out, n_in)."""
    _check(n_out, n_in, rng)
    r = np.sqrt(6.0 / n_in)
    return rng.uniform(-r, r, size=(n_out, n_in))


xavier_normal = glorot_normal
xavier_uniform = glorot_uniform

METHODS = {
    "naive": naive_normal,
    "glorot": glorot_normal,
    "xavier": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "he": he_normal,
    "he_uniform": he_uniform,
}


def init_network(sizes: Sequence[int], rng: np.random.Generator, method: str = "he",
                 **kwargs) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""Weights for widths ``sizes`` $= [n_0, \dots, n_L]$ by ``method`` (a key of ``METHODS``), zero biases.

    -> weights: list, entry l-1 (n_l, n_{l-1}); biases: list, entry l-1 zeros (n_l, 1).
    """
    if method not in METHODS:
        raise ValueError(f"unknown initialisation {method!r}; choose one of: {', '.join(METHODS)}")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {list(sizes)}")
    fn = METHODS[method]
    weights = [fn(sizes[i], sizes[i - 1], rng, **kwargs) for i in range(1, len(sizes))]
    biases = [np.zeros((sizes[i], 1)) for i in range(1, len(sizes))]
    return weights, biases
