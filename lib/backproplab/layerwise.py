r"""Backpropagation neuron by neuron: the per-weight equations, with explicit loops.

Readable first, fast never: this is the route of notebook 05, and it keeps that notebook's
per-neuron names, which map to the course's notation as $net = z$, $o = a$, $w_{ji} = W[j, i]$,
$E = \ell$: the net input $net^l_j = z^l_j = \sum_i w^l_{ji}\, o^{l-1}_i + b^l_j$ with
$w^l_{ji} = W^l[j, i]$, the output $o^l_j = a^l_j = f^l(net^l_j)$, and the loss $\ell$ of one
example. For one example:

- output neurons: $\delta^L_j = f'(net^L_j)\, \partial \ell/\partial o^L_j$, that is
  $\delta^L = f'(z^L) \odot \partial \ell/\partial a^L$ (softmax with cross-entropy, sigmoid with
  binary cross-entropy: $o_j - y_j$);
- hidden neurons: $\delta^l_j = f'(net^l_j) \sum_k w^{l+1}_{kj}\, \delta^{l+1}_k$;
- every weight: $\partial \ell/\partial w^l_{ji} = \delta^l_j\, o^{l-1}_i$ and $\partial \ell/\partial b^l_j = \delta^l_j$.

:func:`backprop` loops over the m examples of a batch and averages their gradients into those
of the cost $C = \frac1m \sum_\mu \ell^{(\mu)}$, so it follows the course contract
``loss, dW, db = backprop(weights, biases, X, Y, activations, loss)``. Indices:
``nets[l-1][j]`` is neuron j of layer l, ``outs[l][j]`` its output, and ``outs[0]`` is the input x.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import _checks
from . import activations as _act
from ._guard import protected

__all__ = ["backprop", "backward", "example_loss", "forward", "output_error_derivative", "update"]

_TINY = np.finfo(np.float64).tiny


def _f(name: str, net: float) -> float:
    return float(_act.get(name).f(net))


def _df(name: str, net: float) -> float:
    return float(_act.get(name).df(net))


@protected
def forward(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], x: np.ndarray, activations: Sequence[str]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""One example forward, neuron by neuron: $net^l_j = \sum_i w^l_{ji} o^{l-1}_i + b^l_j$, $o^l_j = f(net^l_j)$.

    weights[l-1] (n_l, n_{l-1}), biases[l-1] (n_l, 1), x (n_0,) or (n_0, 1)
    -> nets: list, nets[l-1] (n_l,) the net inputs of layer l; outs: list, outs[0] = x (n_0,),
    outs[l] (n_l,) the outputs of layer l.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    nets: list[np.ndarray] = []
    outs: list[np.ndarray] = [x]
    for W, b, name in zip(weights, biases, activations):
        prev = outs[-1]
        n_out, n_in = W.shape
        net = np.zeros(n_out)
        for j in range(n_out):
            total = float(b[j, 0])
            for i in range(n_in):
                total += float(W[j, i]) * float(prev[i])
            net[j] = total
        out = np.zeros(n_out)
        if name == "softmax":
            top = max(net)
            exps = [math.exp(net[j] - top) for j in range(n_out)]
            s = sum(exps)
            for j in range(n_out):
                out[j] = exps[j] / s
        else:
            for j in range(n_out):
                out[j] = _f(name, net[j])
        nets.append(net)
        outs.append(out)
    return nets, outs


@protected
def example_loss(nets: Sequence[np.ndarray], outs: Sequence[np.ndarray], y, activations: Sequence[str],
                 loss: str) -> float:
    r"""The loss $\ell$ of one example ($E$ in notebook 05), summed over the output neurons k.

    squared error $\sum_k \frac12 (o_k - y_k)^2$; binary cross-entropy
    $-\sum_k [y_k \log o_k + (1 - y_k) \log(1 - o_k)]$; cross-entropy $-\sum_k y_k \log o_k$
    (from the net inputs, stably, after a softmax or sigmoid). nets, outs from :func:`forward`,
    y (n_L,) -> float.
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    o, net, name = outs[-1], nets[-1], activations[-1]
    n = len(o)
    total = 0.0
    if name == "softmax" and loss == "cross_entropy":
        top = max(net)
        lse = top + math.log(sum(math.exp(net[k] - top) for k in range(n)))
        for k in range(n):
            total -= y[k] * (net[k] - lse)
    elif name == "sigmoid" and loss == "binary_cross_entropy":
        for k in range(n):
            z = net[k]
            softplus = max(z, 0.0) + math.log1p(math.exp(-abs(z)))  # log(1 + e^z)
            total += softplus - y[k] * z
    else:
        for k in range(n):
            if loss == "squared_error":
                total += 0.5 * (o[k] - y[k]) ** 2
            elif loss == "binary_cross_entropy":
                total -= y[k] * math.log(max(o[k], _TINY)) + (1 - y[k]) * math.log(max(1 - o[k], _TINY))
            elif loss == "cross_entropy":
                total -= y[k] * math.log(max(o[k], _TINY))
            else:
                raise ValueError(f"unknown loss {loss!r}")
    return total


@protected
def output_error_derivative(o: float, y: float, loss: str) -> float:
    r"""$\partial \ell/\partial o_k$ for one output neuron: $o - y$, $(o - y)/(o(1 - o))$ or $-y/o$."""
    if loss == "squared_error":
        return o - y
    if loss == "binary_cross_entropy":
        return (o - y) / max(o * (1.0 - o), _TINY)
    if loss == "cross_entropy":
        return -y / max(o, _TINY)
    raise ValueError(f"unknown loss {loss!r}")


@protected
def backward(
    weights: Sequence[np.ndarray],
    nets: Sequence[np.ndarray],
    outs: Sequence[np.ndarray],
    y,
    activations: Sequence[str],
    loss: str = "squared_error",
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""One example backward with loops: $\delta^l_j = f'(net^l_j)\sum_k w^{l+1}_{kj}\delta^{l+1}_k$, $\partial \ell/\partial w^l_{ji} = \delta^l_j o^{l-1}_i$.

    weights[l-1] (n_l, n_{l-1}); nets, outs from :func:`forward`; y (n_L,) or (n_L, 1)
    -> dW: list, dW[l-1] (n_l, n_{l-1}) $= \partial \ell/\partial W^l$; db: list, db[l-1] (n_l, 1)
    $= \delta^l$; for this one example.
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    L = len(weights)
    deltas: list[np.ndarray] = [np.zeros(0)] * L

    # output layer
    o, net, name = outs[L], nets[L - 1], activations[L - 1]
    n = len(o)
    delta = np.zeros(n)
    if name == "softmax" and loss == "cross_entropy":
        y_sum = sum(y[k] for k in range(n))
        for j in range(n):
            delta[j] = o[j] * y_sum - y[j]  # p_j - y_j for a one-hot y
    elif name == "sigmoid" and loss == "binary_cross_entropy":
        for j in range(n):
            delta[j] = o[j] - y[j]
    elif name == "softmax":
        # dE/dnet_j = sum_k dE/do_k * do_k/dnet_j, with do_k/dnet_j = o_k (1[k = j] - o_j)
        for j in range(n):
            for k in range(n):
                delta[j] += output_error_derivative(o[k], y[k], loss) * o[k] * ((1.0 if k == j else 0.0) - o[j])
    else:
        for j in range(n):
            delta[j] = _df(name, net[j]) * output_error_derivative(o[j], y[j], loss)
    deltas[L - 1] = delta

    # hidden layers, from the top down
    for l in range(L - 1, 0, -1):
        W_next, delta_next = weights[l], deltas[l]
        net, name = nets[l - 1], activations[l - 1]
        delta = np.zeros(len(net))
        for j in range(len(net)):
            back = 0.0
            for k in range(len(delta_next)):
                back += float(W_next[k, j]) * delta_next[k]
            delta[j] = _df(name, net[j]) * back
        deltas[l - 1] = delta

    # every weight and bias
    dW: list[np.ndarray] = []
    db: list[np.ndarray] = []
    for l in range(L):
        n_out, n_in = weights[l].shape
        g = np.zeros((n_out, n_in))
        gb = np.zeros((n_out, 1))
        for j in range(n_out):
            for i in range(n_in):
                g[j, i] = deltas[l][j] * outs[l][i]
            gb[j, 0] = deltas[l][j]
        dW.append(g)
        db.append(gb)
    return dW, db


@protected
def update(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    dW: Sequence[np.ndarray],
    db: Sequence[np.ndarray],
    lr: float,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""One gradient-descent step, weight by weight: $w_{ji} \leftarrow w_{ji} - \eta\, g_{ji}$, $b_j \leftarrow b_j - \eta\, g_j$.

    weights, dW: lists of (n_l, n_{l-1}); biases, db: lists of (n_l, 1); dW, db: the gradients
    $g$ ($\partial \ell/\partial W^l$ of one example, or $\partial C/\partial W^l$ of a batch); lr: $\eta$
    -> new (weights, biases); the inputs are not modified.
    """
    new_W: list[np.ndarray] = []
    new_b: list[np.ndarray] = []
    for W, b, gW, gb in zip(weights, biases, dW, db):
        W2 = np.array(W, dtype=np.float64)
        b2 = np.array(b, dtype=np.float64)
        for j in range(W2.shape[0]):
            for i in range(W2.shape[1]):
                W2[j, i] = W2[j, i] - lr * gW[j, i]
            b2[j, 0] = b2[j, 0] - lr * gb[j, 0]
        new_W.append(W2)
        new_b.append(b2)
    return new_W, new_b


@protected
def backprop(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    activations: Sequence[str],
    loss: str = "squared_error",
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    r"""The batch cost $C = \frac1m \sum_\mu \ell^{(\mu)}$ and its gradients, one example and one weight at a time.

    weights[l-1] (n_l, n_{l-1}), biases[l-1] (n_l, 1), X (n_0, m), Y (n_L, m), activations:
    one name per layer -> (loss: float, dW: list like weights, db: list like biases), batch means.
    """
    Ws, bs, X, acts = _checks.check_network(weights, biases, X, activations)
    _checks.check_loss(loss, acts[-1])
    Y = _checks.check_targets(Y, Ws[-1].shape[0], X.shape[1])
    m = X.shape[1]
    total = 0.0
    dW = [np.zeros_like(W) for W in Ws]
    db = [np.zeros_like(b) for b in bs]
    for c in range(m):
        nets, outs = forward(Ws, bs, X[:, c], acts)
        total += example_loss(nets, outs, Y[:, c], acts, loss)
        gW, gb = backward(Ws, nets, outs, Y[:, c], acts, loss)
        for l in range(len(Ws)):
            dW[l] += gW[l]
            db[l] += gb[l]
    for l in range(len(Ws)):
        dW[l] /= m
        db[l] /= m
    return total / m, dW, db
