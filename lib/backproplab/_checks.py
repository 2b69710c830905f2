"""Input checks shared by the numeric routes (``layerwise``, ``matrix``, ``train``).

Every check raises a ``ValueError`` or ``TypeError`` whose message names the problem
and, where it can, the fix. Layers are numbered from 1, as in the derivation: in messages,
``W[l]`` and ``b[l]`` mean $W^l$ and $b^l$, the entries ``weights[l-1]`` and ``biases[l-1]``.
(The symbolic route has its own checks: it shares no code with these routes.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import activations as _act
from . import losses as _losses

__all__ = ["as_float_array", "check_finite", "check_loss", "check_network", "check_targets"]

OUTPUT_ONLY = ("softmax",)
PROB_LOSSES = {"binary_cross_entropy": ("sigmoid", "softmax"), "cross_entropy": ("softmax", "sigmoid")}


def as_float_array(x, name: str) -> np.ndarray:
    """``x`` as a float64 ndarray, or a ``TypeError`` naming ``name``."""
    if isinstance(x, np.ndarray) and x.dtype == np.float64:
        return x
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}") from exc
    return arr


def check_finite(x: np.ndarray, name: str) -> None:
    """``ValueError`` if ``x`` holds a NaN or an infinity."""
    with np.errstate(all="ignore"):
        if np.isfinite(np.sum(x)):
            return
    bad = ~np.isfinite(x)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(x[where]) else "an infinite value"
        raise ValueError(f"{name} contains {kind} at index {where}: inputs and parameters must be finite")


def check_network(weights, biases, X, activations) -> tuple[list, list, np.ndarray, list[str]]:
    """Check the shapes of a network and its input batch.

    weights: list, entry l-1 is W^l (n_l, n_{l-1}); biases: entry l-1 is b^l (n_l, 1);
    X (n_0, m); activations: one name per layer. Returns float64 copies-if-needed.
    """
    if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple)):
        raise TypeError("weights and biases must be lists of arrays (entry l-1 holds layer l)")
    if len(weights) == 0:
        raise ValueError("the network has no layers: weights is empty")
    if len(biases) != len(weights):
        raise ValueError(f"{len(weights)} weight matrices but {len(biases)} bias vectors: one of each per layer")
    if isinstance(activations, str) or not isinstance(activations, (list, tuple)):
        raise TypeError(
            f"activations must be a list of names, one per layer (got {type(activations).__name__}); "
            f"e.g. {['relu'] * (len(weights) - 1) + ['softmax']}"
        )
    if len(activations) != len(weights):
        raise ValueError(f"{len(activations)} activation names for {len(weights)} layers: give one per layer")
    Ws = [as_float_array(W, f"W[{i}]") for i, W in enumerate(weights, start=1)]
    bs = [as_float_array(b, f"b[{i}]") for i, b in enumerate(biases, start=1)]
    for i, name in enumerate(activations, start=1):
        _act.get(name)  # unknown name -> ValueError listing the choices
        if name in OUTPUT_ONLY and i != len(weights):
            raise ValueError(f"activation {name!r} is only allowed in the output layer, not in layer {i}")
    for i, (W, b) in enumerate(zip(Ws, bs), start=1):
        if W.ndim != 2:
            raise ValueError(f"W[{i}] must be a 2-D matrix (n_{i}, n_{i - 1}), got shape {W.shape}")
        if i > 1 and W.shape[1] != Ws[i - 2].shape[0]:
            raise ValueError(
                f"shapes do not chain: W[{i}] has shape {W.shape} but layer {i - 1} has "
                f"{Ws[i - 2].shape[0]} units, so W[{i}] should be ({W.shape[0]}, {Ws[i - 2].shape[0]})"
            )
        if b.shape != (W.shape[0], 1):
            raise ValueError(f"b[{i}] has shape {b.shape}, expected ({W.shape[0]}, 1) (a column)")
        check_finite(W, f"W[{i}]")
        check_finite(b, f"b[{i}]")
    X = as_float_array(X, "X")
    n0 = Ws[0].shape[1]
    if X.ndim != 2:
        hint = " (for one example use x.reshape(-1, 1))" if X.ndim == 1 else ""
        raise ValueError(f"X must be 2-D (n_0, m) with one example per column, got shape {X.shape}{hint}")
    if X.shape[0] != n0:
        hint = " - is X transposed? examples are columns" if X.shape[1] == n0 else ""
        raise ValueError(f"X has shape {X.shape} but W[1] has shape {Ws[0].shape}: X needs {n0} rows{hint}")
    check_finite(X, "X")
    return Ws, bs, X, list(activations)


def check_targets(Y, n_out: int, m: int) -> np.ndarray:
    """Check targets ``Y`` are (n_L, m), finite; return them as float64."""
    Y = as_float_array(Y, "Y")
    if Y.shape != (n_out, m):
        if Y.ndim == 1 and Y.shape[0] == m and n_out > 1:
            hint = ": class labels must be one-hot columns (see backproplab.datasets.one_hot)"
        elif Y.ndim == 1:
            hint = ": use Y.reshape(1, -1) for one output per example"
        elif Y.shape == (m, n_out):
            hint = ": it looks transposed (examples are columns)"
        else:
            hint = ""
        raise ValueError(f"labels Y have shape {Y.shape}, expected (n_L, m) = ({n_out}, {m}){hint}")
    check_finite(Y, "Y")
    return Y


def check_loss(loss: str, output_activation: str) -> None:
    """``ValueError`` for an unknown loss or one the output layer cannot feed."""
    _losses.get(loss)
    ok = PROB_LOSSES.get(loss)
    if ok is not None and output_activation not in ok:
        raise ValueError(
            f"loss {loss!r} needs outputs in (0, 1): use a {' or '.join(ok)} output layer, "
            f"not {output_activation!r}"
        )


def sizes_of(weights: Sequence[np.ndarray]) -> list[int]:
    """Layer widths [n_0, n_1, ..., n_L]."""
    return [weights[0].shape[1]] + [W.shape[0] for W in weights]
