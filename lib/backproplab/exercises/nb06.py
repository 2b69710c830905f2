r"""Checks of notebook 06 (backprop in matrix form).

References come from routes that share no code with the matrix products the student writes:
the library's per-neuron loops, :mod:`backproplab.layerwise` (one example at a time, every sum
written out), for the forward pass, the gradients and the cost; SymPy's derivative of
$\frac12 (f(z) - y)^2$, with the symbolic route's own formula of $f$, for the output deltas.
Common slips are modelled by :func:`_forward_model` and :func:`_recursion`, a small trusted
forward pass and delta recursion with a switch for each slip; they only name a wrong answer,
they never decide that an answer is right.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np
import sympy as sp

from .. import activations as _act
from .. import layerwise, symbolic
from ..grading import check_array, check_arrays, type_name
from ._core import Case, Exercise, call
from ._judging import as_layout as _layout
from ._judging import fail as _fail
from ._judging import on as _on
from ._judging import scalar as _scalar

__all__ = ["Backward", "CostDelta", "Forward"]

HIDDEN = ("sigmoid", "tanh", "relu", "softplus", "swish", "identity", "mish")
OUTPUT = ("identity", "sigmoid", "tanh", "softplus")
RELU_MARGIN = 0.05          # hidden tests keep every ReLU's |z| above this (no kink)


# ------------------------------------------------------------------------------------------
# trusted models (case construction and names of slips)
def _forward_model(Ws, bs, X, acts, bias: str = "column", last_activation: bool = True):
    """A^0..A^L and Z^1..Z^L with numpy. ``bias``: "column" (right), "none", or "row" (b as a
    1-D vector, broadcast along the rows; None when numpy cannot broadcast it)."""
    As, Zs = [np.asarray(X, dtype=np.float64)], []
    for l, (W, b, name) in enumerate(zip(Ws, bs, acts), start=1):
        Z = W @ As[-1]
        if bias == "column":
            Z = Z + b
        elif bias == "row":
            try:
                Z = Z + b.ravel()
            except ValueError:
                return None, None
        Zs.append(Z)
        As.append(Z.copy() if (l == len(Ws) and not last_activation) else _act.get(name).f(Z))
    return As, Zs


def _recursion(Ws, caches, acts, delta_L, transpose: bool = True, slope: str = "Z"):
    """Per-example deltas delta^1..delta^L from delta^L down. ``slope``: "Z" (right), "A"
    (f' evaluated at the activation), "none" (slope left out). None if the shapes do not fit."""
    L = len(Ws)
    deltas = [None] * L
    deltas[-1] = np.asarray(delta_L, dtype=np.float64)
    try:
        for i in range(L - 2, -1, -1):
            W_next = Ws[i + 1]
            back = (W_next.T if transpose else W_next) @ deltas[i + 1]
            Z, A = caches[i][1], caches[i + 1][0]
            if slope == "Z":
                back = _act.get(acts[i]).df(Z) * back
            elif slope == "A":
                back = _act.get(acts[i]).df(A) * back
            deltas[i] = back
    except ValueError:
        return None
    return deltas


def _grads(deltas, caches, mean: bool = True):
    """dW, db of per-example deltas: (1/m) delta A^T and (1/m) delta 1 (``mean=False``: sums)."""
    if deltas is None:
        return None, None
    m = deltas[-1].shape[1]
    k = 1.0 / m if mean else 1.0
    dW = [k * (d @ c[0].T) for d, c in zip(deltas, caches)]
    db = [k * np.sum(d, axis=1, keepdims=True) for d in deltas]
    return dW, db


def _network(rng: np.random.Generator, sizes, acts, m: int, scale: float = 1.0):
    """Random weights, biases and a batch X (n_0, m); every ReLU unit's |z| > RELU_MARGIN."""
    for _ in range(200):
        Ws = [rng.normal(0, scale / np.sqrt(sizes[l - 1]), (sizes[l], sizes[l - 1])) for l in range(1, len(sizes))]
        bs = [rng.normal(0, 0.5, (sizes[l], 1)) for l in range(1, len(sizes))]
        X = rng.normal(0, 1, (sizes[0], m))
        _, Zs = _forward_model(Ws, bs, X, acts)
        if all(np.min(np.abs(Z)) > RELU_MARGIN for Z, a in zip(Zs, acts) if a == "relu"):
            return Ws, bs, X
    raise RuntimeError("could not draw a ReLU network away from its kinks")


def _targets(rng: np.random.Generator, acts, n_L: int, m: int) -> np.ndarray:
    if acts[-1] in ("sigmoid",):
        return rng.uniform(0, 1, (n_L, m))
    if acts[-1] == "tanh":
        return rng.uniform(-1, 1, (n_L, m))
    return rng.normal(0, 1, (n_L, m))


def _random_arch(rng: np.random.Generator, depth: int, output=OUTPUT):
    sizes = [int(v) for v in rng.integers(1, 6, size=depth + 1)]
    acts = [str(rng.choice(HIDDEN)) for _ in range(depth - 1)] + [str(rng.choice(output))]
    return sizes, acts


def _loops(Ws, bs, X, Y, acts, loss="squared_error"):
    """The reference: (C, dW, db) from the per-neuron loops of :mod:`backproplab.layerwise`."""
    return layerwise.backprop(Ws, bs, X, Y, acts, loss)


def _loops_forward(Ws, bs, X, acts):
    """The reference forward pass, column by column with loops: A^0..A^L and Z^1..Z^L."""
    cols = [layerwise.forward(Ws, bs, X[:, j], acts) for j in range(X.shape[1])]
    Zs = [np.stack([nets[l] for nets, _ in cols], axis=1) for l in range(len(Ws))]
    As = [np.stack([outs[l] for _, outs in cols], axis=1) for l in range(len(Ws) + 1)]
    return As, Zs


def _pair(out, what: str, names: str) -> tuple:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        _fail("type", f"{what} should return the pair ({names}), got {type_name(out)}"
                      + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    return out[0], out[1]


# 05's worked 2-2-2 example (its first column), with two more examples as columns
EX_W = [np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([[0.40, 0.45], [0.50, 0.55]])]
EX_B = [np.array([[0.35], [0.35]]), np.array([[0.60], [0.60]])]
EX_X = np.array([[0.05, 1.0, -0.3], [0.10, -0.5, 0.8]])
EX_Y = np.array([[0.01, 0.5, 0.9], [0.99, 0.2, 0.1]])
EX_LABEL = "the 2-2-2 network of notebook 05, m=3"
EX2_SIZES, EX2_ACTS, EX2_M = [2, 3, 3], ["tanh", "identity"], 3
EX2_LABEL = "a 2-3-3 tanh/identity network, m=3"


def _example2():
    """A second visible example: n_l = m in every layer, so a 1-D bias would broadcast silently."""
    rng = np.random.default_rng(6)
    Ws = [np.round(rng.normal(0, 0.6, (EX2_SIZES[l], EX2_SIZES[l - 1])), 1) for l in (1, 2)]
    bs = [np.round(rng.normal(0, 0.5, (EX2_SIZES[l], 1)), 1) for l in (1, 2)]
    X = np.round(rng.normal(0, 1, (EX2_SIZES[0], EX2_M)), 1)
    Y = np.round(rng.normal(0, 1, (EX2_SIZES[-1], EX2_M)), 1)
    return Ws, bs, X, Y


# ------------------------------------------------------------------------------------------
class Forward(Exercise):
    id = "ex06_forward"
    names = ("forward",)
    parts: ClassVar[dict[str, float]] = {"output": 2, "caches": 1}
    routes = ("backproplab.matrix.forward", "backproplab.matrix.linear_forward",
              "backproplab.matrix.activation_forward", "backproplab.layerwise.forward")
    hints: ClassVar[dict[str, str]] = {
        "bias_missing": "the bias is missing: Z^l = W^l A^(l-1) + b^l",
        "bias_rows": "b^l was added along the rows: keep it a column (n_l, 1) so that it broadcasts over the "
                     "m columns (the examples); a 1-D b (n_l,) lines up with the columns instead",
        "last_activation": "the output layer needs its activation too: A^L = f^L(Z^L)",
        "cache_offset": "caches[l-1] holds the input of layer l, A^(l-1), not its output A^l",
        "cache_z": "the cache holds A^l where Z^l belongs: keep the pre-activation Z^l, before f",
    }

    def cases(self, rng):
        if rng is None:
            Ws, bs, X, _ = _example2()
            return [Case(p, (EX_W, EX_B, EX_X, ["sigmoid", "sigmoid"], "C"), EX_LABEL)
                    for p in self.parts] + \
                   [Case(p, (Ws, bs, X, EX2_ACTS, "C"), EX2_LABEL) for p in self.parts]
        out = []
        specs = [([4, 3, 3], ["relu", "tanh"], 3, 1.0, "b as a column"),
                 ([3, 4, 2], ["tanh", "identity"], 5, 1.0, "X not C-contiguous, an example of zeros"),
                 ([2, 5, 1], ["tanh", "sigmoid"], 1, 1.0, "one example (m=1)"),
                 ([3, 4, 4, 3], ["sigmoid", "swish", "softmax"], 6, 1.0, "a softmax output"),
                 ([2, 3, 2], ["tanh", "sigmoid"], 4, 12.0, "large |z| (saturated units)")]
        for depth in (1, 2, 3):
            sizes, acts = _random_arch(rng, depth)
            specs.append((sizes, acts, int(rng.integers(1, 7)), 1.0, "a random network"))
        for sizes, acts, m, scale, what in specs:
            Ws, bs, X = _network(rng, sizes, acts, m, scale)
            layout = "F" if "contiguous" in what else "C"
            if "zeros" in what:
                X[:, 1] = 0.0
            label = f"{'-'.join(map(str, sizes))} {'/'.join(acts)}, m={m}: {what}"
            out += [Case(p, (Ws, bs, X, acts, layout), label) for p in self.parts]
        return out

    def run(self, args, forward):
        Ws, bs, X, acts, layout = args
        return call(forward, Ws, bs, _layout(X, layout), acts)

    def judge(self, case, out):
        with _on(case.label):
            self._judge(case, out)

    def _judge(self, case, out):
        Ws, bs, X, acts, _ = case.args
        A_L, caches = _pair(out, "forward", "A_L, caches")
        As, Zs = _loops_forward(Ws, bs, X, acts)
        if case.part == "output":
            mistakes = []
            for kw, key in (({"bias": "none"}, "bias_missing"), ({"bias": "row"}, "bias_rows"),
                            ({"last_activation": False}, "last_activation")):
                wrong, _ = _forward_model(Ws, bs, X, acts, **kw)
                if wrong is not None:
                    mistakes.append((wrong[-1], self.hint(key)))
            check_array(A_L, As[-1], "A_L, the output A^L", mistakes=mistakes)
            return
        L = len(Ws)
        if not isinstance(caches, (list, tuple)):
            _fail("type", f"caches should be a list of L = {L} pairs (A^(l-1), Z^l), got {type_name(caches)}")
        if len(caches) != L:
            _fail("shape", f"caches should hold L = {L} pairs (A^(l-1), Z^l), one per layer, got {len(caches)}")
        for l, c in enumerate(caches, start=1):
            if not isinstance(c, (list, tuple)) or len(c) != 2:
                _fail("type", f"caches[{l - 1}] should be the pair (A^{l - 1}, Z^{l}), got {type_name(c)}")
            check_array(c[0], As[l - 1], f"caches[{l - 1}][0], A^{l - 1}",
                        mistakes=[(As[l], self.hint("cache_offset"))])
            check_array(c[1], Zs[l - 1], f"caches[{l - 1}][1], Z^{l}",
                        mistakes=[(As[l], self.hint("cache_z"))])


class Backward(Exercise):
    id = "ex06_backward"
    names = ("backward",)
    parts: ClassVar[dict[str, float]] = {"dW": 3, "db": 2}
    routes = ("backproplab.matrix.backward", "backproplab.matrix.backprop", "backproplab.matrix.hidden_delta",
              "backproplab.matrix.linear_backward", "backproplab.matrix.activation_backward",
              "backproplab.layerwise.backward", "backproplab.layerwise.backprop",
              "backproplab.gradcheck.numerical_gradient")
    hints: ClassVar[dict[str, str]] = {
        "transpose": "the deltas flow back through the transpose: (W^(l+1))^T delta^(l+1), not W^(l+1) delta^(l+1)",
        "slope_at_A": "f' is evaluated at Z^l (the cache's second entry), not at the activation A^l",
        "slope_missing": "a hidden delta needs its layer's slope: delta^l = f'(Z^l) * (W^(l+1))^T delta^(l+1)",
        "sum_not_mean": "the cost C is a mean over the batch: multiply the sums over the m examples by 1/m",
        "db_axis": "db sums delta over the examples, the columns: np.sum(delta, axis=1, keepdims=True)",
        "db_flat": "db[l-1] must be a column (n_l, 1) like b^l: sum with keepdims=True",
        "in_place": "backward changed an array passed to it (delta_L or a cache) in place (/=, *=, -=): "
                    "compute new arrays instead",
    }

    @staticmethod
    def _case(rng, sizes, acts, m, scale=1.0, loss="squared_error", data=None):
        if data is None:
            Ws, bs, X = _network(rng, sizes, acts, m, scale)
            Y = _targets(rng, acts, sizes[-1], m)
        else:
            Ws, bs, X, Y = data
        if acts[-1] == "softmax":
            Y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], size=m)]
            loss = "cross_entropy"
        As, Zs = _forward_model(Ws, bs, X, acts)
        caches = [(As[l], Zs[l]) for l in range(len(Ws))]
        if loss == "cross_entropy":
            delta_L = As[-1] - Y
        else:
            delta_L = _act.get(acts[-1]).df(Zs[-1]) * (As[-1] - Y)
        return (Ws, caches, acts, delta_L, "C"), {"biases": bs, "X": X, "Y": Y, "loss": loss}

    def cases(self, rng):
        if rng is None:
            ex1 = self._case(None, [2, 2, 2], ["sigmoid", "sigmoid"], 3, data=(EX_W, EX_B, EX_X, EX_Y))
            ex2 = self._case(None, EX2_SIZES, EX2_ACTS, EX2_M, data=_example2())
            return [Case(p, args, label, ref=ref) for args, ref, label in
                    ((*ex1, EX_LABEL), (*ex2, EX2_LABEL))
                    for p in self.parts]
        specs = [([3, 4, 4, 2], ["tanh", "sigmoid", "identity"], 5, 1.0, "square hidden weights"),
                 ([2, 3, 1], ["relu", "identity"], 4, 1.0, "ReLU"),
                 ([3, 2], ["sigmoid"], 3, 1.0, "one layer (L=1)"),
                 ([2, 4, 3], ["softplus", "sigmoid"], 1, 1.0, "one example (m=1)"),
                 ([4, 5, 3], ["swish", "softmax"], 6, 1.0, "a softmax output with cross-entropy"),
                 ([2, 3, 3, 1], ["tanh", "tanh", "sigmoid"], 4, 10.0, "large |z| (saturated units)"),
                 ([3, 3, 2], ["sigmoid", "identity"], 4, 1.0, "delta_L not C-contiguous, a perfect example")]
        for depth in (2, 3, 4):
            sizes, acts = _random_arch(rng, depth)
            specs.append((sizes, acts, int(rng.integers(2, 7)), 1.0, "a random network"))
        out = []
        for sizes, acts, m, scale, what in specs:
            data = None
            if "perfect" in what:                 # Y equals the output for one example: its delta is 0
                Ws, bs, X = _network(rng, sizes, acts, m, scale)
                Y = _targets(rng, acts, sizes[-1], m)
                Y[:, 0] = _forward_model(Ws, bs, X, acts)[0][-1][:, 0]
                data = (Ws, bs, X, Y)
            args, ref = self._case(rng, sizes, acts, m, scale, data=data)
            if "contiguous" in what:
                args = (*args[:4], "F")
            label = f"{'-'.join(map(str, sizes))} {'/'.join(acts)}, m={m}: {what}"
            out += [Case(p, args, label, ref=ref) for p in self.parts]
        return out

    def run(self, args, backward):
        weights, caches, acts, delta_L, layout = args
        delta_L = _layout(delta_L, layout)
        got = call(backward, weights, caches, acts, delta_L)
        return got, [weights, caches, delta_L]

    def judge(self, case, out):
        with _on(case.label):
            self._judge(case, out)

    def _judge(self, case, out):
        Ws, caches, acts, delta_L, _ = case.args
        got, after = out
        dW, db = _pair(got, "backward", "dW, db")
        r = case.ref
        m = delta_L.shape[1]
        _, ref_dW, ref_db = _loops(Ws, r["biases"], r["X"], r["Y"], acts, r["loss"])
        slips = {
            "transpose": _grads(_recursion(Ws, caches, acts, delta_L, transpose=False), caches),
            "slope_at_A": _grads(_recursion(Ws, caches, acts, delta_L, slope="A"), caches),
            "slope_missing": _grads(_recursion(Ws, caches, acts, delta_L, slope="none"), caches),
            "sum_not_mean": _grads(_recursion(Ws, caches, acts, delta_L), caches, mean=False),
        }
        if case.part == "dW":
            check_arrays(dW, ref_dW, "dW", batch_size=m,
                         mistakes=[(g[0], self.hint(k)) for k, g in slips.items() if g[0] is not None])
        else:
            deltas = _recursion(Ws, caches, acts, delta_L)
            mistakes = [(g[1], self.hint(k)) for k, g in slips.items() if g[1] is not None]
            mistakes += [([np.sum(d, axis=0, keepdims=True) / m for d in deltas], self.hint("db_axis")),
                         ([np.sum(d, axis=0, keepdims=True) for d in deltas], self.hint("db_axis")),
                         ([np.sum(d, axis=1) / m for d in deltas], self.hint("db_flat")),
                         ([np.sum(d, axis=1) for d in deltas], self.hint("db_flat"))]
            check_arrays(db, ref_db, "db", batch_size=m, mistakes=mistakes)
        W_after, caches_after, delta_after = after
        same = np.array_equal(delta_after, delta_L) and len(caches_after) == len(caches) and all(
            np.array_equal(a, c[0]) and np.array_equal(z, c[1]) for (a, z), c in zip(caches_after, caches)) \
            and all(np.array_equal(w, v) for w, v in zip(W_after, Ws))
        if not same:
            _fail("known", self.hint("in_place"))


@functools.lru_cache(maxsize=16)
def _delta_expr(name: str):
    """SymPy's derivative of one output's loss 1/2 (f(z) - y)^2 with respect to z, for the
    activation ``name`` (the symbolic route's own formula of f), compiled for numpy: f(z, y)."""
    z, y = sp.symbols("z y", real=True)
    loss = (symbolic.activation_expr(name, z) - y) ** 2 / 2
    return sp.lambdify([z, y], sp.diff(loss, z), modules="numpy")


class CostDelta(Exercise):
    id = "ex06_cost_delta"
    names = ("cost_and_delta",)
    parts: ClassVar[dict[str, float]] = {"cost": 1, "delta": 2}
    routes = ("backproplab.losses.squared_error", "backproplab.losses.squared_error_grad",
              "backproplab.matrix.output_delta", "backproplab.matrix.activation_backward",
              "backproplab.matrix.backprop", "backproplab.layerwise.example_loss",
              "backproplab.layerwise.output_error_derivative", "backproplab.layerwise.backward",
              "backproplab.layerwise.backprop", "backproplab.gradcheck.numerical_gradient")
    hints: ClassVar[dict[str, str]] = {
        "cost_sum": "the cost C is the mean of the m examples' losses: divide the sum by m",
        "cost_half": "one example's loss is 1/2 sum_k (a_k - y_k)^2: the factor 1/2 is missing",
        "slope_missing": "the output delta needs the output layer's slope: delta^L = f'(Z^L) * (A^L - Y)",
        "sign": "delta^L = f'(Z^L) * (A^L - Y): the output minus the target, not Y - A^L",
        "slope_at_A": "f' is evaluated at Z^L, not at the output A^L",
        "per_example": "the deltas are per example: do not divide them by m (the 1/m goes into dW and db, once)",
    }

    @staticmethod
    def _case(Ws, bs, X, Y, acts, layout="C"):
        As, Zs = _forward_model(Ws, bs, X, acts)
        return As[-1], Zs[-1], Y, acts[-1], layout

    def cases(self, rng):
        if rng is None:
            ex1 = self._case(EX_W, EX_B, EX_X, EX_Y, ["sigmoid", "sigmoid"])
            ex2 = self._case(*_example2(), EX2_ACTS)
            return [Case(p, args, label) for args, label in ((ex1, EX_LABEL), (ex2, EX2_LABEL)) for p in self.parts]
        specs = [([3, 4, 2], ["relu", "sigmoid"], 5, 1.0, "a sigmoid output"),
                 ([2, 1], ["identity"], 3, 1.0, "a linear neuron"),
                 ([2, 3, 3, 2], ["tanh", "swish", "tanh"], 1, 1.0, "one example (m=1)"),
                 ([2, 3, 2], ["tanh", "sigmoid"], 4, 8.0, "large |z| (saturated units)"),
                 ([3, 2, 2], ["softplus", "identity"], 4, 1.0, "not C-contiguous, a perfect example"),
                 ([2, 3, 3], ["tanh", "softplus"], 2, 1.0, "a softplus output, m=2")]
        for depth in (1, 2):
            sizes, acts = _random_arch(rng, depth)
            specs.append((sizes, acts, int(rng.integers(2, 7)), 1.0, "a random network"))
        out = []
        for sizes, acts, m, scale, what in specs:
            Ws, bs, X = _network(rng, sizes, acts, m, scale)
            Y = _targets(rng, acts, sizes[-1], m)
            if "perfect" in what:                 # the output equals the target for one example
                Y[:, 0] = _forward_model(Ws, bs, X, acts)[0][-1][:, 0]
            args = self._case(Ws, bs, X, Y, acts, "F" if "contiguous" in what else "C")
            label = f"{'-'.join(map(str, sizes))} {'/'.join(acts)}, m={m}: {what}"
            out += [Case(p, args, label) for p in self.parts]
        return out

    def run(self, args, cost_and_delta):
        A_L, Z_L, Y, name, layout = args
        return call(cost_and_delta, _layout(A_L, layout), _layout(Z_L, layout), Y, name)

    def judge(self, case, out):
        with _on(case.label):
            self._judge(case, out)

    def _judge(self, case, out):
        A_L, Z_L, Y, name, _ = case.args
        C, delta = _pair(out, "cost_and_delta", "C, delta_L")
        m = A_L.shape[1]
        if case.part == "cost":
            # the loops' own per-example loss, column by column
            ref = float(np.mean([layerwise.example_loss([Z_L[:, j]], [None, A_L[:, j]], Y[:, j], [name],
                                                        "squared_error") for j in range(m)]))
            mistakes = [(m * ref, self.hint("cost_sum")), (2 * ref, self.hint("cost_half")),
                        (2 * m * ref, self.hint("cost_sum"))]
            if m == 2:          # a factor of 2 is both slips: name both
                mistakes = [(2 * ref, f"{self.hint('cost_sum')}; or {self.hint('cost_half')}"),
                            (4 * ref, self.hint("cost_sum"))]
            _scalar(C, ref, "C, the batch cost", batch_size=m, mistakes=mistakes)
            return
        ref = np.asarray(np.broadcast_to(_delta_expr(name)(Z_L, Y), Z_L.shape), dtype=np.float64)
        df = _act.get(name).df
        check_array(delta, ref, "delta_L", batch_size=m,
                    mistakes=[(A_L - Y, self.hint("slope_missing")), (df(Z_L) * (Y - A_L), self.hint("sign")),
                              (df(A_L) * (A_L - Y), self.hint("slope_at_A")),
                              (df(Z_L) * (A_L - Y) / m, self.hint("per_example"))])
