r"""Choosing the number of hidden units by a validation sweep.

For each candidate size $n$ and each of several seeds $k$, train on the training split and measure
the cost on a held-out validation split: $V_{nk}$. Pick the size with the lowest **mean** validation
cost over seeds,

$$n^* = \arg\min_n \tfrac1K \textstyle\sum_k V_{nk}$$

(ties go to the smaller network). The seeds average out the luck of the initialisation: a network
of one size ends in different local minima from different starts. The test split plays no part.

Source: K. G. Sheela and S. N. Deepa (2013). Review on Methods to Fix Number of Hidden Neurons in
Neural Networks. *Mathematical Problems in Engineering* 2013, 425740. doi:10.1155/2013/425740.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._guard import protected

__all__ = ["choose", "sweep"]


@protected
def sweep(sizes: Sequence[int], seeds: Sequence[int], fit: Callable[[int, int], tuple[float, float]]
          ) -> tuple[np.ndarray, np.ndarray]:
    r"""$T_{nk}, V_{nk}$ = ``fit(sizes[n], seeds[k])``: each (size, seed) trained once.

    sizes (S,), seeds (K,), fit(n_hidden, seed) -> (training cost, validation cost)
    -> train (S, K), val (S, K) float arrays.
    """
    train = np.empty((len(sizes), len(seeds)))
    val = np.empty((len(sizes), len(seeds)))
    for i, n in enumerate(sizes):
        for k, seed in enumerate(seeds):
            train[i, k], val[i, k] = fit(n, seed)
    return train, val


@protected
def choose(sizes: Sequence[int], train: np.ndarray, val: np.ndarray) -> int:
    r"""$n^* = \arg\min_n \frac1K \sum_k V_{nk}$, ties to the smaller size.

    sizes (S,), train (S, K) (not used: shown for contrast), val (S, K) -> the chosen size (int).
    """
    mean = np.mean(np.asarray(val, dtype=np.float64), axis=1)
    best = np.flatnonzero(mean == mean.min())
    return int(min(sizes[i] for i in best))
