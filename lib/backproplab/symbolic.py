r"""The exact route: a network's loss as a SymPy expression, differentiated by SymPy.

This is the course's grading oracle for small networks. It shares **no code** with
the numeric routes (``layerwise``, ``matrix``) nor with ``backproplab.activations``
and ``backproplab.losses``: every activation and loss is written here with SymPy's
own ``exp``, ``tanh``, ``log`` and ``Piecewise``, and every derivative is taken by
``sympy.diff``. The gradients are exact expressions; they are compiled to numpy
once per architecture (``cse`` + ``lambdify``) and cached.

Two ways to differentiate, both exact:

- ``method="full"``: substitute every layer into the next, so the per-example loss $\ell$ is
  one closed-form expression in the weights, biases, inputs and targets, and apply
  ``sympy.diff`` to it once per parameter. Written out like this, the expression swells
  with the depth L (notebook 01 measures it): for layers of $n \ge 2$ units, each unit's
  formula contains all n units of the layer below, so the size grows like $n^L$,
  exponentially in the depth; only a chain of single units grows polynomially (its whole
  gradient roughly with $L^3$). So this is for small networks.
- ``method="chain"``: keep each net input $z^l_j$ and output $a^l_j$ as a named
  sub-expression, let ``sympy.diff`` differentiate each definition locally, and sum
  the products along every path of the definition graph (the multivariate chain rule,
  $\frac{d\ell}{dv} = \sum_{u \ni v} \frac{d\ell}{du} \frac{\partial u}{\partial v}$). Sub-expressions
  are shared instead of copied, so it stays fast for deeper nets.
- ``method="auto"`` (the default) takes "full" for networks with at most
  ``FULL_LIMIT`` parameters and at most two layers, "chain" otherwise.

The contract: ``loss, dW, db = backprop(weights, biases, X, Y, activations, loss)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp

from ._guard import protected

__all__ = [
    "ACTIVATIONS",
    "FULL_LIMIT",
    "LOSSES",
    "activation_expr",
    "backprop",
    "compiled_gradient",
    "gradient_expressions",
    "loss_expression",
    "network_symbols",
]

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softplus", "swish", "mish", "softmax")
LOSSES = ("squared_error", "binary_cross_entropy", "cross_entropy")
FULL_LIMIT = 20


def activation_expr(name: str, z: sp.Expr) -> sp.Expr:
    r"""The SymPy expression of an elementwise activation at ``z`` (softmax: see :func:`loss_expression`).

    sigmoid $1/(1+e^{-z})$, relu $\mathrm{Piecewise}(z \text{ if } z>0, 0)$, softplus $\log(1+e^z)$,
    swish $z/(1+e^{-z})$, mish $z\tanh(\log(1+e^z))$.
    """
    if name == "identity":
        return z
    if name == "sigmoid":
        return 1 / (1 + sp.exp(-z))
    if name == "tanh":
        return sp.tanh(z)
    if name == "relu":
        return sp.Piecewise((z, z > 0), (0, True))
    if name == "softplus":
        return sp.log(1 + sp.exp(z))
    if name == "swish":
        return z / (1 + sp.exp(-z))
    if name == "mish":
        return z * sp.tanh(sp.log(1 + sp.exp(z)))
    raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}")


def _layer_outputs(name: str, zs: list[sp.Expr]) -> list[sp.Expr]:
    if name == "softmax":
        exps = [sp.exp(z) for z in zs]
        total = sp.Add(*exps)
        return [e / total for e in exps]
    return [activation_expr(name, z) for z in zs]


def _loss_expr(loss: str, a: list[sp.Expr], y: list[sp.Symbol]) -> sp.Expr:
    if loss == "squared_error":
        return sp.Add(*[(ak - yk) ** 2 for ak, yk in zip(a, y)]) / 2
    if loss == "binary_cross_entropy":
        return -sp.Add(*[yk * sp.log(ak) + (1 - yk) * sp.log(1 - ak) for ak, yk in zip(a, y)])
    if loss == "cross_entropy":
        return -sp.Add(*[yk * sp.log(ak) for ak, yk in zip(a, y)])
    raise ValueError(f"unknown loss {loss!r}; choose one of: {', '.join(LOSSES)}")


def network_symbols(sizes: Sequence[int]) -> tuple[list[sp.Matrix], list[sp.Matrix], list[sp.Symbol], list[sp.Symbol]]:
    r"""Symbols of a network with widths ``sizes`` $= [n_0, \dots, n_L]$.

    -> W: list of Matrix (n_l, n_{l-1}) of symbols ``W{l}_{j}_{i}``; b: list of Matrix (n_l, 1)
    ``b{l}_{j}``; x: n_0 symbols ``x{i}``; y: n_L symbols ``y{k}`` (layers from 1, units from 0).
    """
    sizes = list(sizes)
    Ws = [
        sp.Matrix(sizes[l], sizes[l - 1], lambda j, i, l=l: sp.Symbol(f"W{l}_{j}_{i}"))
        for l in range(1, len(sizes))
    ]
    bs = [sp.Matrix(sizes[l], 1, lambda j, _, l=l: sp.Symbol(f"b{l}_{j}")) for l in range(1, len(sizes))]
    x = [sp.Symbol(f"x{i}") for i in range(sizes[0])]
    y = [sp.Symbol(f"y{k}") for k in range(sizes[-1])]
    return Ws, bs, x, y


def _params(Ws, bs) -> list[sp.Symbol]:
    return [s for W in Ws for s in W] + [s for b in bs for s in b]


def _check_names(sizes: Sequence[int], activations: Sequence[str], loss: str) -> None:
    if len(activations) != len(sizes) - 1:
        raise ValueError(f"{len(activations)} activation names for {len(sizes) - 1} layers: give one per layer")
    for l, name in enumerate(activations, start=1):
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}")
        if name == "softmax" and l != len(activations):
            raise ValueError(f"activation 'softmax' is only allowed in the output layer, not in layer {l}")
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of: {', '.join(LOSSES)}")


def loss_expression(sizes: Sequence[int], activations: Sequence[str], loss: str = "squared_error"):
    r"""The per-example loss $\ell(W, b, x, y)$ as one closed-form SymPy expression.

    sizes $[n_0, \dots, n_L]$, one activation name per layer -> ($\ell$, params, x, y), where
    params lists the symbols of W[1], ..., W[L] (row by row) then b[1], ..., b[L].
    """
    _check_names(sizes, activations, loss)
    Ws, bs, x, y = network_symbols(sizes)
    a: list[sp.Expr] = list(x)
    for W, b, name in zip(Ws, bs, activations):
        z = [sp.Add(*[W[j, i] * a[i] for i in range(W.shape[1])]) + b[j] for j in range(W.shape[0])]
        a = _layer_outputs(name, z)
    return _loss_expr(loss, a, y), _params(Ws, bs), x, y


def _chain(sizes, activations, loss):
    """Definitions (symbol, expression) in forward order, the loss symbol, params, x, y, and
    the gradient of the loss w.r.t. every parameter by reverse accumulation of sp.diff terms."""
    Ws, bs, x, y = network_symbols(sizes)
    defs: list[tuple[sp.Symbol, sp.Expr]] = []
    a: list[sp.Expr] = list(x)
    for l, (W, b, name) in enumerate(zip(Ws, bs, activations), start=1):
        zsyms = []
        for j in range(W.shape[0]):
            zj = sp.Symbol(f"z{l}_{j}")
            defs.append((zj, sp.Add(*[W[j, i] * a[i] for i in range(W.shape[1])]) + b[j]))
            zsyms.append(zj)
        outs = _layer_outputs(name, zsyms)
        asyms = []
        for j, e in enumerate(outs):
            aj = sp.Symbol(f"a{l}_{j}")
            defs.append((aj, e))
            asyms.append(aj)
        a = asyms
    Lsym = sp.Symbol("Loss")
    defs.append((Lsym, _loss_expr(loss, a, y)))
    params = _params(Ws, bs)
    wrt = set(params) | {s for s, _ in defs}
    terms: dict[sp.Symbol, list[sp.Expr]] = {Lsym: [sp.Integer(1)]}
    adjoint_defs: list[tuple[sp.Symbol, sp.Expr]] = []
    for u, e in reversed(defs):
        gu_expr = sp.Add(*terms.get(u, []))
        gu = sp.Symbol(f"g_{u.name}")
        adjoint_defs.append((gu, gu_expr))
        for v in e.free_symbols & wrt:
            terms.setdefault(v, []).append(gu * sp.diff(e, v))
    grads = [sp.Add(*terms.get(p, [])) for p in params]
    return defs + adjoint_defs, Lsym, grads, params, x, y


@protected
def gradient_expressions(sizes: Sequence[int], activations: Sequence[str], loss: str = "squared_error",
                         method: str = "full"):
    r"""$\ell$ and $\partial \ell/\partial \theta$ for every parameter $\theta$, for one example, exactly.

    -> (definitions, $\ell$, grads, params, x, y): ``definitions`` is a list of
    ``(symbol, expression)`` in evaluation order (empty for ``method="full"``, where $\ell$ and
    grads are closed-form in params, x, y); grads[i] is $\partial \ell/\partial$ params[i].
    """
    _check_names(sizes, activations, loss)
    if method == "full":
        L, params, x, y = loss_expression(sizes, activations, loss)
        return [], L, [sp.diff(L, p) for p in params], params, x, y
    if method == "chain":
        defs, L, grads, params, x, y = _chain(sizes, activations, loss)
        return defs, L, grads, params, x, y
    raise ValueError(f"unknown method {method!r}; choose 'full', 'chain' or 'auto'")


def _resolve(method: str, sizes: Sequence[int]) -> str:
    if method != "auto":
        return method
    n_params = sum(sizes[l] * (sizes[l - 1] + 1) for l in range(1, len(sizes)))
    return "full" if n_params <= FULL_LIMIT and len(sizes) <= 3 else "chain"


@functools.lru_cache(maxsize=256)
def _compiled(sizes: tuple[int, ...], activations: tuple[str, ...], loss: str, method: str) -> Callable:
    defs, L, grads, params, x, y = gradient_expressions(sizes, activations, loss, method)
    if method == "full":
        return sp.lambdify(params + x + y, [L, *grads], modules="numpy", cse=True, docstring_limit=0)
    return sp.lambdify(params + x + y, [L, *grads], modules="numpy", cse=lambda exprs: (defs, exprs),
                       docstring_limit=0)


@protected
def compiled_gradient(sizes: Sequence[int], activations: Sequence[str], loss: str = "squared_error",
                      method: str = "auto") -> Callable:
    r"""The numpy function ``f(*params, *x, *y) -> [loss, *grads]``: $\ell$ and its gradient (cached per architecture).

    Arguments in the order of :func:`loss_expression`; x and y entries may be arrays of
    shape (m,) (one entry per example), and every output then has shape (m,) or is a scalar.
    """
    sizes = tuple(int(s) for s in sizes)
    _check_names(sizes, activations, loss)
    return _compiled(sizes, tuple(activations), loss, _resolve(method, sizes))


def _as_matrix(a, name: str) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__}") from exc
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or an infinite value")
    return arr


@protected
def backprop(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    activations: Sequence[str],
    loss: str = "squared_error",
    method: str = "auto",
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    r"""The batch cost $C = \frac1m\sum_\mu \ell(x^{(\mu)}, y^{(\mu)})$ and its exact gradients, from SymPy's derivatives.

    weights[l-1] (n_l, n_{l-1}), biases[l-1] (n_l, 1), X (n_0, m), Y (n_L, m), activations:
    one name per layer -> (loss: float, dW: list like weights, db: list like biases).
    """
    if len(weights) != len(biases) or len(weights) == 0:
        raise ValueError("weights and biases must be non-empty lists of equal length (one entry per layer)")
    Ws = [_as_matrix(W, f"W[{l}]") for l, W in enumerate(weights, start=1)]
    bs = [_as_matrix(b, f"b[{l}]") for l, b in enumerate(biases, start=1)]
    X = _as_matrix(X, "X")
    Y = _as_matrix(Y, "Y")
    sizes = [Ws[0].shape[1]] + [W.shape[0] for W in Ws]
    for l, (W, b) in enumerate(zip(Ws, bs), start=1):
        if W.shape[1] != sizes[l - 1] or b.shape != (W.shape[0], 1):
            raise ValueError(f"layer {l}: W {W.shape} and b {b.shape} do not fit a layer of {sizes[l - 1]} inputs")
    m = X.shape[1]
    if X.shape[0] != sizes[0] or Y.shape != (sizes[-1], m):
        raise ValueError(f"X {X.shape} and Y {Y.shape} do not fit a network with widths {sizes}")
    f = compiled_gradient(sizes, activations, loss, method)
    values = f(*[float(v) for W in Ws for v in W.ravel()], *[float(v) for b in bs for v in b.ravel()], *X, *Y)
    means = [float(np.mean(np.broadcast_to(np.asarray(v, dtype=np.float64), (m,)))) for v in values]
    value, flat = means[0], means[1:]
    dW, db, k = [], [], 0
    for W in Ws:
        dW.append(np.array(flat[k:k + W.size]).reshape(W.shape))
        k += W.size
    for b in bs:
        db.append(np.array(flat[k:k + b.size]).reshape(b.shape))
        k += b.size
    return value, dW, db
