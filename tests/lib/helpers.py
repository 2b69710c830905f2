"""Shared strategies and comparisons for the library tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

HIDDEN = ("identity", "sigmoid", "tanh", "relu", "softplus", "swish", "mish")
LOSSES = ("squared_error", "binary_cross_entropy", "cross_entropy")


def rel_diff(a, b) -> float:
    """Normwise relative difference max|a - b| / max(max|a|, max|b|); 0 when both are zero."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    diff = float(np.max(np.abs(a - b), initial=0.0))
    return 0.0 if diff == 0.0 else diff / scale


def assert_routes_agree(r1, r2, rtol: float, names=("route 1", "route 2")) -> None:
    """Two (loss, dW, db) results agree: loss, every dW[l] and db[l] to rtol (normwise)."""
    (l1, dW1, db1), (l2, dW2, db2) = r1, r2
    assert len(dW1) == len(dW2) and len(db1) == len(db2)
    assert rel_diff(l1, l2) <= rtol, f"loss: {names[0]} {l1!r} vs {names[1]} {l2!r}"
    for i, (a, b) in enumerate(zip(dW1, dW2), start=1):
        assert rel_diff(a, b) <= rtol, f"dW[{i}] {names}: rel diff {rel_diff(a, b):.2e}\n{a}\n{b}"
    for i, (a, b) in enumerate(zip(db1, db2), start=1):
        assert rel_diff(a, b) <= rtol, f"db[{i}] {names}: rel diff {rel_diff(a, b):.2e}\n{a}\n{b}"


@st.composite
def problems(draw, max_layers: int = 4, max_width: int = 6, max_batch: int = 5):
    """A random valid (weights, biases, X, Y, activations, loss) problem.

    Softmax only in the output layer with cross-entropy; binary cross-entropy after a
    sigmoid; squared error after any elementwise activation.
    """
    L = draw(st.integers(1, max_layers))
    sizes = [draw(st.integers(1, max_width)) for _ in range(L + 1)]
    loss = draw(st.sampled_from(LOSSES))
    acts = [draw(st.sampled_from(HIDDEN)) for _ in range(L - 1)]
    if loss == "squared_error":
        acts.append(draw(st.sampled_from(HIDDEN)))
    elif loss == "binary_cross_entropy":
        acts.append("sigmoid")
    else:
        acts.append("softmax")
        sizes[-1] = max(sizes[-1], 2)
    m = draw(st.integers(1, max_batch))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.0, 1.2 / np.sqrt(sizes[i - 1]), size=(sizes[i], sizes[i - 1])) for i in range(1, L + 1)]
    biases = [rng.normal(0.0, 0.5, size=(sizes[i], 1)) for i in range(1, L + 1)]
    X = rng.normal(size=(sizes[0], m))
    if loss == "squared_error":
        Y = rng.normal(size=(sizes[-1], m))
    elif loss == "binary_cross_entropy":
        Y = rng.uniform(size=(sizes[-1], m)) if draw(st.booleans()) else rng.integers(0, 2, (sizes[-1], m)) * 1.0
    else:
        Y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], m)] if draw(st.booleans()) else \
            rng.dirichlet(np.ones(sizes[-1]), size=m).T
    return weights, biases, X, Y, acts, loss
