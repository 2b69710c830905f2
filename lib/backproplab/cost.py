r"""What a gradient costs: the chain of layer Jacobians, multiplied backwards or forwards, with
the work counted as it is done.

For one example, layer $l$ maps $a^{l-1}$ to $a^l = f(W^l a^{l-1} + b^l)$ and has the Jacobian
$J^l = \partial a^l / \partial a^{l-1} = \mathrm{diag}(f'(z^l))\, W^l$, shape (n_l, n_{l-1}). The
gradient of the loss with respect to the input is one product,
$(\nabla_x \ell)^\top = (\nabla_{a^L} \ell)^\top J^L J^{L-1} \cdots J^1$, which can be evaluated
in two orders:

- **reverse accumulation** (backpropagation): start from the row $g^\top = (\nabla_{a^L}\ell)^\top$
  and multiply $g \leftarrow (J^l)^\top g$ for $l = L, \dots, 1$: vector-Jacobian products,
  $\sum_l n_l n_{l-1}$ multiply-adds;
- **forward accumulation**: start from the identity and multiply $M \leftarrow J^l M$ for
  $l = 1, \dots, L$ ($M = \partial a^l / \partial x$, shape (n_l, n_0)), then $g^\top M$:
  Jacobian-Jacobian products, $\sum_l n_l n_{l-1} n_0 + n_L n_0$ multiply-adds.

:class:`OpCounter` counts the multiply-adds of every product it performs, so a notebook can show
the work as counted, next to the formulas (:func:`madds_reverse`, :func:`madds_forward`) and the
clock (:func:`best_time`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import activations as _act

__all__ = [
    "OpCounter",
    "best_time",
    "forward_accumulate",
    "layer_jacobians",
    "madds_forward",
    "madds_reverse",
    "reverse_accumulate",
]


@dataclass
class OpCounter:
    """Counts the scalar multiply-adds of the matrix products it performs.

    ``madds``: the running total; ``products``: how many products were performed.
    """

    madds: int = 0
    products: int = 0

    def matmul(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        r"""$A B$, counting $p\,q\,r$ multiply-adds. A (p, q), B (q, r) or (q,) -> (p, r) or (p,)."""
        A = np.asarray(A, dtype=np.float64)
        B = np.asarray(B, dtype=np.float64)
        if A.ndim != 2 or B.ndim not in (1, 2) or A.shape[1] != B.shape[0]:
            raise ValueError(f"cannot multiply shapes {A.shape} and {B.shape}")
        r = B.shape[1] if B.ndim == 2 else 1
        self.madds += A.shape[0] * A.shape[1] * r
        self.products += 1
        return A @ B

    def reset(self) -> None:
        """Start counting from zero."""
        self.madds = 0
        self.products = 0


def layer_jacobians(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], x: np.ndarray,
                    activations: Sequence[str]) -> list[np.ndarray]:
    r"""$J^l = \mathrm{diag}(f'(z^l))\, W^l = \partial a^l / \partial a^{l-1}$ for one example.

    weights[l-1] (n_l, n_{l-1}), biases[l-1] (n_l, 1), x (n_0,) or (n_0, 1), activations: one
    elementwise name per layer -> list, entry l-1 is J^l (n_l, n_{l-1}).
    """
    a = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    out = []
    for W, b, name in zip(weights, biases, activations):
        act = _act.get(name)
        if act.df is None:
            raise ValueError(f"layer_jacobians needs elementwise activations, got {name!r}")
        z = W @ a + b
        out.append(act.df(z) * W)          # row j scaled by f'(z_j): diag(f'(z)) W
        a = act.f(z)
    return out


def reverse_accumulate(jacobians: Sequence[np.ndarray], g: np.ndarray, counter: OpCounter | None = None) -> np.ndarray:
    r"""$g^\top J^L \cdots J^1$ from the left: $g \leftarrow (J^l)^\top g$ for $l = L, \dots, 1$.

    jacobians[l-1] (n_l, n_{l-1}), g (n_L,) -> (n_0,). Vector-Jacobian products only.
    """
    counter = counter if counter is not None else OpCounter()
    v = np.asarray(g, dtype=np.float64).reshape(-1)
    for J in reversed(jacobians):
        v = counter.matmul(J.T, v)
    return v


def forward_accumulate(jacobians: Sequence[np.ndarray], g: np.ndarray, counter: OpCounter | None = None) -> np.ndarray:
    r"""$g^\top (J^L (\cdots (J^2 J^1)))$ from the right: $M \leftarrow J^l M$ for $l = 2, \dots, L$, then $g^\top M$.

    jacobians[l-1] (n_l, n_{l-1}), g (n_L,) -> (n_0,). Jacobian-Jacobian products, then one
    vector product.
    """
    counter = counter if counter is not None else OpCounter()
    M = np.asarray(jacobians[0], dtype=np.float64)
    for J in jacobians[1:]:
        M = counter.matmul(J, M)
    return counter.matmul(M.T, np.asarray(g, dtype=np.float64).reshape(-1))


def madds_reverse(sizes: Sequence[int]) -> int:
    r"""$\sum_{l=1}^{L} n_l n_{l-1}$: the multiply-adds of :func:`reverse_accumulate`. sizes $[n_0, \dots, n_L]$."""
    return int(sum(sizes[l] * sizes[l - 1] for l in range(1, len(sizes))))


def madds_forward(sizes: Sequence[int]) -> int:
    r"""$\sum_{l=2}^{L} n_l n_{l-1} n_0 + n_L n_0$: the multiply-adds of :func:`forward_accumulate`."""
    n0 = sizes[0]
    return int(sum(sizes[l] * sizes[l - 1] * n0 for l in range(2, len(sizes))) + sizes[-1] * n0)


def best_time(fn: Callable, *args, repeat: int = 3, number: int = 1) -> float:
    """The fastest of ``repeat`` timings of ``number`` calls ``fn(*args)``, in seconds per call."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        for _ in range(max(1, number)):
            fn(*args)
        best = min(best, (time.perf_counter() - start) / max(1, number))
    return best
