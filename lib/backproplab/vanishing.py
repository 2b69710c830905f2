r"""Vanishing and exploding gradients in deep feedforward networks: per-layer gradient norms,
the product of layer Jacobians behind them, the variance of the signal through the layers, and
short training runs that show which configurations learn.

The backward pass multiplies one factor per layer,
$\delta^l = f'(z^l) \odot (W^{l+1})^\top \delta^{l+1}$, so
$\lVert \delta^1 \rVert$ against $\lVert \delta^L \rVert$ grows or shrinks geometrically with the
depth L unless each factor keeps the norm (the variance argument behind Glorot/Xavier and He
initialisation). Everything here uses the matrix route (:mod:`backproplab.matrix`); nothing
touches the global random state (pass an ``np.random.Generator``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from . import activations as _act
from . import init as _init
from . import matrix
from ._guard import protected

__all__ = [
    "CONFIGS",
    "EXPERIMENT",
    "activation_variances",
    "closest_kink",
    "deep_network",
    "descent_losses",
    "gradient_norms",
    "layer_jacobians",
    "regression_task",
    "run_config",
]

# The experiment behind notebook 09's question "which configuration trains?": a network of
# DEPTH layers (DEPTH - 1 hidden layers of WIDTH units, a linear output), full-batch gradient
# descent with learning rate LR for STEPS steps on M examples of :func:`regression_task`.
EXPERIMENT = {"depth": 30, "width": 32, "m": 64, "lr": 0.02, "steps": 300, "seed": 0}

# name -> (hidden activation, initialisation: "xavier", "he" or a scale g for N(0, g^2 / n_in))
CONFIGS: dict[str, tuple[str, str | float]] = {
    "sigmoid-xavier": ("sigmoid", "xavier"),
    "tanh-small": ("tanh", 0.5),
    "tanh-xavier": ("tanh", "xavier"),
    "tanh-large": ("tanh", 3.0),
    "relu-xavier": ("relu", "xavier"),
    "relu-he": ("relu", "he"),
    "relu-large": ("relu", 2.0),
}


def _rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be an np.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def deep_network(depth: int, width: int, n_in: int, n_out: int, activation: str, init: str | float,
                 rng: np.random.Generator, output: str = "identity"
                 ) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    r"""A network of ``depth`` layers: ``depth - 1`` hidden layers of ``width`` units with ``activation``,
    then an ``output`` layer. Weights by ``init``: "xavier" ($\mathrm{Var}(w) = 2/(n_{in} + n_{out})$),
    "he" ($2/n_{in}$), or a number g for $w \sim \mathcal N(0, g^2/n_{in})$; zero biases.

    -> weights: list, entry l-1 (n_l, n_{l-1}); biases: list, entry l-1 zeros (n_l, 1); activations (depth,).
    """
    _rng(rng)
    if depth < 1 or width < 1:
        raise ValueError(f"depth and width must be positive, got depth={depth}, width={width}")
    _act.get(activation)
    sizes = [n_in] + [width] * (depth - 1) + [n_out]
    weights = []
    for n_prev, n in itertools.pairwise(sizes):
        if init in ("xavier", "glorot"):
            weights.append(_init.glorot_normal(n, n_prev, rng))
        elif init == "he":
            weights.append(_init.he_normal(n, n_prev, rng))
        elif isinstance(init, (int, float)) and not isinstance(init, bool) and init >= 0:
            weights.append(rng.normal(0.0, float(init) / np.sqrt(n_prev), size=(n, n_prev)))
        else:
            raise ValueError(f"init must be 'xavier', 'he' or a scale g >= 0, got {init!r}")
    biases = [np.zeros((n, 1)) for n in sizes[1:]]
    return weights, biases, [activation] * (depth - 1) + [output]


def regression_task(m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    r"""A smooth 2-D regression: $x \sim U(-1.7, 1.7)^2$, $y = \sin(1.5 x_1) \cos(x_2)$.

    -> X (2, m), Y (1, m).
    """
    X = _rng(rng).uniform(-1.7, 1.7, size=(2, m))
    return X, np.sin(1.5 * X[0:1]) * np.cos(X[1:2])


def _deltas(weights, biases, X, Y, activations) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-example deltas delta^l (n_l, m) and dW (batch mean), squared error, by the matrix route."""
    A_L, caches = matrix.forward(weights, biases, X, activations)
    delta = matrix.output_delta(A_L, caches[-1][1], np.asarray(Y, dtype=np.float64), activations[-1],
                                "squared_error")
    L = len(weights)
    deltas: list[np.ndarray] = [delta] * L
    for i in range(L - 2, -1, -1):
        deltas[i] = matrix.hidden_delta(weights[i + 1], deltas[i + 1], caches[i][1], activations[i])
    m = X.shape[1]
    dW = [d @ caches[i][0].T / m for i, d in enumerate(deltas)]
    return deltas, dW


@protected
def gradient_norms(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray, Y: np.ndarray,
                   activations: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-layer gradient norms of the squared-error cost C, for $l = 1, \dots, L$:
    $\lVert \partial C/\partial W^l \rVert_F$ and $\lVert \partial C/\partial Z^l \rVert_F = \lVert \delta^l \rVert_F / m$.

    weights[l-1] (n_l, n_{l-1}), biases[l-1] (n_l, 1), X (n_0, m), Y (n_L, m), activations (L,)
    -> (dW_norms (L,), dZ_norms (L,)); entry l-1 is layer l.
    """
    with np.errstate(all="ignore"):
        deltas, dW = _deltas(weights, biases, X, Y, activations)
        m = X.shape[1]
        return (np.array([np.linalg.norm(g) for g in dW]),
                np.array([np.linalg.norm(d) / m for d in deltas]))


def layer_jacobians(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], x: np.ndarray,
                    activations: Sequence[str]) -> list[np.ndarray]:
    r"""The Jacobian of each layer for one example, $J^l = \partial a^l / \partial a^{l-1} = \mathrm{diag}(f'(z^l))\, W^l$.

    weights[l-1] (n_l, n_{l-1}), biases[l-1] (n_l, 1), x (n_0, 1), activations (L,), elementwise only
    -> list, entry l-1 is J^l (n_l, n_{l-1}). Their product $J^L \cdots J^1$ is $\partial a^L / \partial x$.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    _, caches = matrix.forward(weights, biases, x, activations)
    out = []
    for W, (_, Z), name in zip(weights, caches, activations):
        df = _act.get(name).df
        if df is None:
            raise ValueError(f"layer_jacobians needs elementwise activations, got {name!r}")
        out.append(df(Z) * W)            # diag(f'(z)) W: row j scaled by unit j's slope
    return out


def activation_variances(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray,
                         activations: Sequence[str]) -> np.ndarray:
    r"""$\mathrm{Var}(z^l)$ over the units and examples of each layer, $l = 1, \dots, L$ (the forward signal).

    weights, biases, X (n_0, m), activations (L,) -> (L,).
    """
    with np.errstate(all="ignore"):
        _, caches = matrix.forward(weights, biases, X, activations)
        return np.array([float(np.var(Z)) for _, Z in caches])


def descent_losses(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray, Y: np.ndarray,
                   activations: Sequence[str], lr: float, steps: int) -> np.ndarray:
    r"""The cost C along full-batch gradient descent $\theta \leftarrow \theta - \eta\, \nabla C$ (squared error).

    -> (steps + 1,): C before each step and after the last; once the parameters stop being
    finite the rest is inf. The inputs are not modified.
    """
    Ws = [np.array(W, dtype=np.float64) for W in weights]
    bs = [np.array(b, dtype=np.float64) for b in biases]
    out = np.full(steps + 1, np.inf)
    with np.errstate(all="ignore"):
        for i in range(steps + 1):
            if not all(np.all(np.isfinite(W)) for W in Ws):
                break
            c, dW, db = matrix.backprop(Ws, bs, X, Y, activations)
            if not np.isfinite(c):
                break
            out[i] = c
            if i == steps:
                break
            Ws = [W - lr * g for W, g in zip(Ws, dW)]
            bs = [b - lr * g for b, g in zip(bs, db)]
    return out


def run_config(activation: str, init: str | float, depth: int | None = None, seed: int | None = None,
               steps: int | None = None) -> dict:
    r"""One configuration of :data:`EXPERIMENT`: its network at initialisation, per-layer gradient
    norms and a short training run. ``depth``, ``seed``, ``steps`` override the experiment's.

    -> dict with "dW_norms" (L,), "dZ_norms" (L,), "losses" (steps+1,), "baseline" (the cost of
    predicting the mean of Y, $\frac12 \mathrm{Var}(y)$), and "trains" (bool: the final cost is
    finite and below a quarter of the baseline).
    """
    e = dict(EXPERIMENT)
    e.update({k: v for k, v in {"depth": depth, "seed": seed, "steps": steps}.items() if v is not None})
    rng = np.random.default_rng(e["seed"])
    X, Y = regression_task(e["m"], rng)
    weights, biases, acts = deep_network(e["depth"], e["width"], 2, 1, activation, init, rng)
    dW_norms, dZ_norms = gradient_norms(weights, biases, X, Y, acts)
    losses = descent_losses(weights, biases, X, Y, acts, e["lr"], e["steps"])
    baseline = 0.5 * float(np.var(Y))
    return {"dW_norms": dW_norms, "dZ_norms": dZ_norms, "losses": losses, "baseline": baseline,
            "trains": bool(np.isfinite(losses[-1]) and losses[-1] < 0.25 * baseline)}


def closest_kink(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray,
                 activations: Sequence[str]) -> float:
    r"""$\min |z^l_{j}|$ over every ReLU unit and example: how close the batch is to ReLU's kink at 0.

    A centred difference with step h is only trustworthy when no perturbation of size h moves a
    ReLU input across 0; inf when the network has no ReLU layer.
    """
    _, caches = matrix.forward(weights, biases, X, activations)
    mins = [float(np.min(np.abs(Z))) for (_, Z), name in zip(caches, activations) if name == "relu"]
    return min(mins) if mins else float("inf")
