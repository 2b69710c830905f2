r"""Training helpers: predictions, accuracy, a minibatch training loop with a history.

The loop uses the matrix route (:func:`backproplab.matrix.backprop`) unless given another
function with the same contract (``grad_fn``), and any optimiser from
:mod:`backproplab.optim`. Nothing is printed unless ``progress=True`` (a plain-text bar).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import _checks, matrix, optim
from . import losses as _losses
from ._guard import protected

__all__ = ["History", "accuracy", "confusion_matrix", "evaluate", "gradient_norms", "predict", "train"]


def predict(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray,
            activations: Sequence[str]) -> np.ndarray:
    r"""The network's output $A^L$ for a batch. X (n_0, m) -> A_L (n_L, m)."""
    A_L, _ = matrix.forward(weights, biases, X, activations)
    return A_L


def accuracy(A: np.ndarray, Y: np.ndarray) -> float:
    r"""Fraction of columns classified right: $\arg\max_k a_k = \arg\max_k y_k$ (one row: $[a > \tfrac12] = y$).

    A (n_L, m), Y (n_L, m) -> float in [0, 1].
    """
    A, Y = np.asarray(A), np.asarray(Y)
    if A.shape != Y.shape:
        raise ValueError(f"outputs {A.shape} and targets {Y.shape} differ in shape")
    if A.shape[0] == 1:
        return float(np.mean((A > 0.5) == (Y > 0.5)))
    return float(np.mean(np.argmax(A, axis=0) == np.argmax(Y, axis=0)))


def evaluate(weights, biases, X, Y, activations: Sequence[str], loss: str) -> tuple[float, float]:
    r"""(the batch cost $C$, accuracy) of the network on X (n_0, m), Y (n_L, m)."""
    A_L, caches = matrix.forward(weights, biases, X, activations)
    if activations[-1] == "softmax" and loss == "cross_entropy":
        value = _losses.softmax_cross_entropy(caches[-1][1], Y)
    elif activations[-1] == "sigmoid" and loss == "binary_cross_entropy":
        value = _losses.sigmoid_binary_cross_entropy(caches[-1][1], Y)
    else:
        value = _losses.get(loss).value(A_L, Y)
    return value, accuracy(A_L, Y)


def confusion_matrix(true_labels, predicted_labels, n_classes: int | None = None) -> np.ndarray:
    r"""$N_{ij}$ = number of examples of class i predicted as j. labels (m,) ints -> N (K, K) ints."""
    t = np.asarray(true_labels, dtype=np.int64).ravel()
    p = np.asarray(predicted_labels, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"{t.size} true labels but {p.size} predictions")
    k = int(max(t.max(initial=0), p.max(initial=0)) + 1) if n_classes is None else int(n_classes)
    C = np.zeros((k, k), dtype=np.int64)
    np.add.at(C, (t, p), 1)
    return C


@protected
def gradient_norms(dW: Sequence[np.ndarray]) -> np.ndarray:
    r"""$\lVert \partial C/\partial W^l \rVert_F$ for each layer. dW: list -> (L,)."""
    return np.array([float(np.linalg.norm(g)) for g in dW])


@dataclass
class History:
    r"""Per-epoch record: the cost $C$ on the training set (``loss``) and the accuracy, and on the
    test set if one was given."""

    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def _bar(epoch: int, epochs: int, h: History, width: int = 24) -> str:
    done = int(width * epoch / epochs)
    s = f"\repoch {epoch:>{len(str(epochs))}}/{epochs} [{'#' * done}{'.' * (width - done)}] loss {h.loss[-1]:.4f}"
    s += f" acc {100 * h.accuracy[-1]:.1f}%"
    if h.test_accuracy:
        s += f" test {100 * h.test_accuracy[-1]:.1f}%"
    return s


@protected
def train(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    activations: Sequence[str],
    loss: str = "squared_error",
    optimizer: optim.Optimizer | str = "adam",
    epochs: int = 10,
    batch_size: int = 32,
    rng: np.random.Generator | None = None,
    X_test: np.ndarray | None = None,
    Y_test: np.ndarray | None = None,
    stop_at: float | None = None,
    progress: bool = False,
    grad_fn: Callable | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], History]:
    r"""Minibatch training: each epoch shuffles the columns, and per batch $\theta \leftarrow \mathrm{step}(\theta, \nabla C_{batch})$.

    weights[l-1] (n_l, n_{l-1}), biases[l-1] (n_l, 1), X (n_0, m), Y (n_L, m); optimizer: an
    :class:`~backproplab.optim.Optimizer` or "sgd"/"momentum"/"adam" (default settings);
    rng shuffles (required when batch_size < m); stop_at: stop once the test accuracy (the
    training accuracy without a test set) reaches it -> (weights, biases, history).
    The inputs are not modified.
    """
    Ws, bs, X, acts = _checks.check_network(weights, biases, X, activations)
    _checks.check_loss(loss, acts[-1])
    Y = _checks.check_targets(Y, Ws[-1].shape[0], X.shape[1])
    if (X_test is None) != (Y_test is None):
        raise ValueError("give both X_test and Y_test, or neither")
    m = X.shape[1]
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if batch_size < m and not isinstance(rng, np.random.Generator):
        raise TypeError("minibatches are shuffled: pass rng=np.random.default_rng(seed)")
    opt = optim.get(optimizer) if isinstance(optimizer, str) else optimizer
    grad = grad_fn if grad_fn is not None else matrix.backprop
    L = len(Ws)
    params = [w.copy() for w in Ws] + [b.copy() for b in bs]
    h = History()
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(m) if batch_size < m else np.arange(m)
        for start in range(0, m, batch_size):
            idx = order[start:start + batch_size]
            _, dW, db = grad(params[:L], params[L:], X[:, idx], Y[:, idx], acts, loss)
            params = opt.step(params, list(dW) + list(db))
        h.epoch.append(epoch)
        value, acc = evaluate(params[:L], params[L:], X, Y, acts, loss)
        h.loss.append(value)
        h.accuracy.append(acc)
        if X_test is not None:
            tv, ta = evaluate(params[:L], params[L:], X_test, Y_test, acts, loss)
            h.test_loss.append(tv)
            h.test_accuracy.append(ta)
        h.seconds.append(time.perf_counter() - t0)
        if progress:
            print(_bar(epoch, epochs, h), end="", flush=True, file=sys.stdout)
        watched = h.test_accuracy if X_test is not None else h.accuracy
        if stop_at is not None and watched[-1] >= stop_at:
            break
    if progress:
        print(file=sys.stdout)
    return params[:L], params[L:], h
