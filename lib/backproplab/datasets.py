r"""Offline datasets, in the course's layout: X is (n_features, m), one example per column;
targets are (n_outputs, m): a row of 0/1 labels for two classes, one-hot columns otherwise.

- :func:`xor`, :func:`spirals`, :func:`moons`: generated, from a seed or an ``np.random.Generator``;
- :func:`load_digits`: the 8x8 handwritten digits (1,797 images, UCI "Optical Recognition of
  Handwritten Digits", Alpaydin & Kaynak 1998, CC BY 4.0), shipped in the package as
  ``data/digits.npz`` (attribution in ``data/DIGITS.md``), with a fixed train/test split.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = ["DIGITS_CITATION", "Digits", "load_digits", "load_digits_raw", "moons", "one_hot", "spirals", "xor"]

DIGITS_CITATION = (
    "E. Alpaydin and C. Kaynak (1998). Optical Recognition of Handwritten Digits. "
    "UCI Machine Learning Repository, https://doi.org/10.24432/C50P49. CC BY 4.0."
)
_DIGITS_TEST = 450  # a quarter of the 1,797 images
_DIGITS_SPLIT_SEED = 1998


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be an np.random.Generator or an integer seed, got {type(rng).__name__}")


def one_hot(labels, n_classes: int | None = None) -> np.ndarray:
    r"""$Y_{k\mu} = \mathbb{1}[\text{label}_\mu = k]$ for example $\mu$. labels (m,) integers in [0, n_classes) -> Y (n_classes, m)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D array of integers, got dtype {labels.dtype} shape {labels.shape}")
    k = int(labels.max()) + 1 if n_classes is None else int(n_classes)
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must lie in [0, {k}), got values from {labels.min()} to {labels.max()}")
    Y = np.zeros((k, labels.size))
    Y[labels, np.arange(labels.size)] = 1.0
    return Y


def xor(n_per_corner: int = 1, noise: float = 0.0, rng: np.random.Generator | int | None = 0
        ) -> tuple[np.ndarray, np.ndarray]:
    r"""The XOR problem: corners of the unit square, label $x_1 \oplus x_2$.

    n_per_corner copies of each corner, plus Gaussian noise of std ``noise``
    -> X (2, 4 n), Y (1, 4 n) with 0/1 entries. With the defaults: the four points.
    """
    corners = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])
    X = np.tile(corners, (1, n_per_corner))
    Y = (X[0] != X[1]).astype(np.float64).reshape(1, -1)
    if noise:
        X = X + _rng(rng).normal(0.0, noise, size=X.shape)
    return X, Y


def spirals(n_per_class: int = 100, noise: float = 0.2, turns: float = 1.5,
            rng: np.random.Generator | int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaved spirals, radius proportional to the angle $\varphi$, the second rotated by $\pi$, in about $[-1, 1]^2$.

    -> X (2, 2 n), Y (1, 2 n): 0 for the first spiral, 1 for the second.
    """
    g = _rng(rng)
    theta = np.sqrt(g.uniform(0.0, 1.0, n_per_class)) * turns * 2 * np.pi
    r = theta / (turns * 2 * np.pi)
    pts = []
    for k in (0, 1):
        ang = theta + k * np.pi
        xy = np.stack([r * np.cos(ang), r * np.sin(ang)])
        pts.append(xy + g.normal(0.0, noise / (turns * 2 * np.pi), size=xy.shape))
    X = np.concatenate(pts, axis=1)
    Y = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)]).reshape(1, -1)
    return X, Y


def moons(n_per_class: int = 100, noise: float = 0.1, rng: np.random.Generator | int | None = 0
          ) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaving half circles: $(\cos \varphi, \sin \varphi)$ and $(1 - \cos \varphi, \tfrac12 - \sin \varphi)$, $\varphi \in [0, \pi]$.

    -> X (2, 2 n), Y (1, 2 n): 0 for the upper moon, 1 for the lower.
    """
    g = _rng(rng)
    t = g.uniform(0.0, np.pi, size=(2, n_per_class))
    upper = np.stack([np.cos(t[0]), np.sin(t[0])])
    lower = np.stack([1.0 - np.cos(t[1]), 0.5 - np.sin(t[1])])
    X = np.concatenate([upper, lower], axis=1) + g.normal(0.0, noise, size=(2, 2 * n_per_class))
    Y = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)]).reshape(1, -1)
    return X, Y


def load_digits_raw() -> tuple[np.ndarray, np.ndarray]:
    """The shipped digits as stored: images uint8 (1797, 8, 8), values 0..16; labels uint8 (1797,)."""
    with resources.files("backproplab").joinpath("data/digits.npz").open("rb") as fh, np.load(fh) as data:
        return data["images"].copy(), data["labels"].copy()


@dataclass(frozen=True)
class Digits:
    """The digits, split. X_* (64, m) floats in [0, 1] (pixel / 16), Y_* one-hot (10, m),
    y_* integer labels (m,), images_* uint8 (m, 8, 8)."""

    X_train: np.ndarray
    Y_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    y_test: np.ndarray
    images_train: np.ndarray
    images_test: np.ndarray
    citation: str = DIGITS_CITATION


def load_digits() -> Digits:
    """The 8x8 digits with a fixed split: 1,347 training and 450 test images (the same every time)."""
    images, labels = load_digits_raw()
    order = np.random.default_rng(_DIGITS_SPLIT_SEED).permutation(len(labels))  # a private, fixed generator
    test, train = np.sort(order[:_DIGITS_TEST]), np.sort(order[_DIGITS_TEST:])

    def part(idx):
        X = images[idx].reshape(len(idx), 64).T.astype(np.float64) / 16.0
        y = labels[idx].astype(np.int64)
        return X, one_hot(y, 10), y, images[idx]

    Xtr, Ytr, ytr, itr = part(train)
    Xte, Yte, yte, ite = part(test)
    return Digits(Xtr, Ytr, ytr, Xte, Yte, yte, itr, ite)
