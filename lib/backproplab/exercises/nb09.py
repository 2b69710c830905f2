r"""Checks of notebook 09 (vanishing and exploding gradients).

- ``ex09_grad_norms``: per-layer norms of $\partial C/\partial W^l$ and $\partial C/\partial Z^l$; the
  reference comes from the neuron-by-neuron route (:mod:`backproplab.layerwise`, one example at a
  time), while the student builds on the matrix route.
- ``ex09_init``: Glorot/Xavier and He initialisers, judged by what the variance argument fixes:
  shape, a zero mean and the variance, estimated from thousands of draws (plus: the weights come
  from the generator passed in).
- ``ex09_which_trains``: the question "which configuration trains?", answered as a dict; the
  reference is the outcome of the library's experiment (:func:`backproplab.vanishing.run_config`),
  which a library test re-runs.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .. import layerwise, matrix
from ..grading import check_array, type_name
from ..vanishing import CONFIGS
from ._core import Case, Exercise, call
from ._judging import fail as _fail

__all__ = ["GradNorms", "Init", "WhichTrains"]


# ------------------------------------------------------------------------------------------
# ex09_grad_norms
def _kink_free(weights, biases, X, acts, margin: float = 1e-3) -> bool:
    _, caches = matrix.forward(weights, biases, X, acts)
    return all(a != "relu" or np.min(np.abs(Z)) > margin for (_, Z), a in zip(caches, acts))


def _network(rng, sizes, hidden: str, output: str, m: int, gain: float = 1.2):
    """A random network and batch (ReLU units kept away from their kink)."""
    for _ in range(200):
        weights = [rng.normal(0.0, gain / np.sqrt(sizes[i - 1]), size=(sizes[i], sizes[i - 1]))
                   for i in range(1, len(sizes))]
        biases = [rng.normal(0.0, 0.3, size=(n, 1)) for n in sizes[1:]]
        X = rng.normal(size=(sizes[0], m))
        Y = rng.normal(size=(sizes[-1], m))
        acts = [hidden] * (len(sizes) - 2) + [output]
        if _kink_free(weights, biases, X, acts):
            return weights, biases, X, Y, acts
    raise RuntimeError("could not draw a ReLU network away from its kinks")  # pragma: no cover


def _reference_norms(weights, biases, X, Y, acts):
    """dW norms and dZ norms by the neuron-by-neuron route, example by example."""
    m = X.shape[1]
    L = len(weights)
    dW = [np.zeros_like(W) for W in weights]
    dZ = [np.zeros((W.shape[0], m)) for W in weights]
    for j in range(m):
        nets, outs = layerwise.forward(weights, biases, X[:, j], acts)
        gW, gb = layerwise.backward(weights, nets, outs, Y[:, j], acts, "squared_error")
        for i in range(L):
            dW[i] += gW[i] / m
            dZ[i][:, j] = gb[i][:, 0] / m          # dl/db^l of one example is its delta^l
    return dW, dZ


class GradNorms(Exercise):
    id = "ex09_grad_norms"
    names = ("gradient_norms",)
    parts: ClassVar[dict] = {"dW": 2, "dZ": 2}
    routes = ("backproplab.vanishing.gradient_norms", "backproplab.train.gradient_norms")
    hints: ClassVar[dict] = {
        "weights": "these are the norms of the weights W^l themselves: take the norms of the gradients dC/dW^l",
        "bias": "these are the norms of the bias gradients dC/db^l: take dC/dW^l",
        "squared": "these are squared norms: the Frobenius norm is the square root of the sum of squares",
        "reversed": "the right norms in reverse order: entry l-1 is layer l, so the first entry is the layer "
                    "next to the input",
        "dz_sum": "dC/dZ^l = delta^l / m (C is the mean over the batch): divide the norm of delta^l by m",
        "dz_no_slope": "these are the norms of dC/dA^l: multiply by f'(z^l) to get dC/dZ^l = f'(z^l) * dC/dA^l",
    }

    def cases(self, rng):
        if rng is None:
            W1 = np.array([[0.5, -1.0], [1.0, 0.5], [-0.5, 1.0]])
            W2 = np.array([[1.0, -1.0, 0.5], [0.5, 0.5, -1.0], [1.0, 0.0, 1.0]])
            W3 = np.array([[0.5, -1.0, 1.0]])
            biases = [np.array([[0.1], [0.0], [-0.1]]), np.array([[0.0], [0.1], [0.0]]), np.array([[0.2]])]
            X = np.array([[1.0, -0.5], [0.5, 2.0]])
            Y = np.array([[1.0, 0.0]])
            args = ([W1, W2, W3], biases, X, Y, ["tanh", "tanh", "identity"])
            return [Case(part, args, "a 2-3-3-1 tanh network, m = 2") for part in self.parts]
        out = []
        plans = [([3, 4, 2], "tanh", "identity", 3), ([2, 5, 5, 5, 1], "sigmoid", "identity", 4),
                 ([4, 3, 3, 3, 3, 3, 2], "relu", "identity", 2), ([3, 2], "identity", "sigmoid", 5),
                 ([2, 6, 6, 6, 6, 6, 6, 6, 1], "sigmoid", "sigmoid", 3), ([5, 4, 4, 3], "tanh", "tanh", 1)]
        for sizes, hidden, output, m in plans:
            sizes = [max(1, s + int(rng.integers(-1, 2))) for s in sizes]
            args = _network(rng, sizes, hidden, output, m)
            label = f"a {len(sizes) - 1}-layer {hidden} network {sizes}, m = {m}"
            out += [Case(part, args, label) for part in self.parts]
        return out

    def run(self, args, gradient_norms):
        return call(gradient_norms, *args)

    def judge(self, case, out):
        weights, biases, X, Y, acts = case.args
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            _fail("type", f"gradient_norms should return a tuple (dW_norms, dZ_norms), got {type_name(out)}"
                  + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
        dW, dZ = _reference_norms(weights, biases, X, Y, acts)
        m = X.shape[1]
        dW_norms = np.array([np.linalg.norm(g) for g in dW])
        dZ_norms = np.array([np.linalg.norm(g) for g in dZ])
        kw = {"rtol": 1e-7, "atol": 1e-30}
        if case.part == "dW":
            db_norms = np.array([np.linalg.norm(g.sum(axis=1)) for g in dZ])
            mistakes = [(np.array([np.linalg.norm(W) for W in weights]), self.hint("weights")),
                        (db_norms, self.hint("bias")),
                        (dW_norms**2, self.hint("squared")),
                        (dW_norms[::-1], self.hint("reversed"))]
            check_array(out[0], dW_norms, f"dW_norms for {case.label}", mistakes=mistakes, **kw)
        else:
            A_L, _ = matrix.forward(weights, biases, X, acts)
            dA = [weights[i + 1].T @ g for i, g in enumerate(dZ[1:])] + [(A_L - Y) / m]
            mistakes = [(dZ_norms * m, self.hint("dz_sum")),
                        (np.array([np.linalg.norm(g) for g in dA]), self.hint("dz_no_slope")),
                        (dZ_norms**2, self.hint("squared")),
                        (dZ_norms[::-1], self.hint("reversed"))]
            check_array(out[1], dZ_norms, f"dZ_norms for {case.label}", mistakes=mistakes, batch_size=m, **kw)


# ------------------------------------------------------------------------------------------
# ex09_init
def _head(x):
    """The first 16 entries of an array (what the same-seed and other-seed checks compare)."""
    return np.array(x).ravel()[:16].copy() if isinstance(x, np.ndarray) else x


class Init(Exercise):
    id = "ex09_init"
    names = ("xavier_init", "he_init")
    parts: ClassVar[dict] = {"xavier": 2, "he": 2}
    routes = ("backproplab.init",)
    hints: ClassVar[dict] = {
        "xavier_fan_in": "variance 1/n_in keeps only the forward pass: Glorot's is 2/(n_in + n_out), the "
                         "compromise between fan-in (forward) and fan-out (backward)",
        "xavier_std": "2/(n_in + n_out) is the variance; the standard deviation is its square root",
        "xavier_is_he": "variance 2/n_in is He's (for ReLU); Glorot's is 2/(n_in + n_out)",
        "he_factor": "variance 1/n_in is missing He's factor 2, which makes up for ReLU zeroing half of its inputs",
        "he_fan_out": "He's variance divides by the fan-in n_in (the inputs each unit sums), not by n_out",
        "he_std": "2/n_in is the variance; the standard deviation is its square root",
    }
    TOL = 0.08  # relative, on a variance estimated from >= 8000 draws (5 standard errors)

    def cases(self, rng):
        if rng is None:
            return [Case("xavier", ("xavier", 40, 200, 0), "xavier_init(40, 200, rng)"),
                    Case("he", ("he", 40, 200, 0), "he_init(40, 200, rng)")]
        out = []
        for which in self.parts:
            for n_out, n_in in [(1, 1), (3, 7)]:
                out.append(Case(which, (which, n_out, n_in, int(rng.integers(1 << 30))),
                                f"{which}_init({n_out}, {n_in}, rng)", ref="shape"))
            for wide in (False, True, False):
                if wide:     # n_out / n_in in [3, 4]
                    n_in = int(rng.integers(52, 61))
                    n_out = round(n_in * rng.uniform(3.0, 4.0))
                else:        # n_out / n_in in [0.3, 0.5]
                    n_in = int(rng.integers(170, 200))
                    n_out = round(n_in * rng.uniform(0.3, 0.5))
                out.append(Case(which, (which, n_out, n_in, int(rng.integers(1 << 30))),
                                f"{which}_init({n_out}, {n_in}, rng)"))
        return out

    def run(self, args, xavier_init, he_init):
        which, n_out, n_in, seed = args
        fn = xavier_init if which == "xavier" else he_init
        W = call(fn, n_out, n_in, np.random.default_rng(seed))
        again = call(fn, n_out, n_in, np.random.default_rng(seed))
        other = call(fn, n_out, n_in, np.random.default_rng(seed + 1))
        return W, _head(again), _head(other)

    def _targets(self, which: str, n_out: int, n_in: int) -> tuple[float, list[tuple[float, str]]]:
        if which == "xavier":
            v = 2.0 / (n_in + n_out)
            return v, [(1.0 / n_in, "xavier_fan_in"), (v**2, "xavier_std"), (2.0 / n_in, "xavier_is_he")]
        v = 2.0 / n_in
        return v, [(1.0 / n_in, "he_factor"), (2.0 / n_out, "he_fan_out"), (v**2, "he_std")]

    def judge(self, case, out):
        which, n_out, n_in, _ = case.args
        name = f"{which}_init"
        if not isinstance(out, tuple) or len(out) != 3:
            _fail("type", "the test could not read your initialiser's output")
        W, again, other = out
        if not isinstance(W, np.ndarray):
            _fail("type", f"{name} should return a numpy array of shape ({n_out}, {n_in}), got {type_name(W)}")
        if W.dtype != np.float64:
            _fail("type", f"{name} should return float64 weights, got dtype {W.dtype}")
        if W.shape != (n_out, n_in):
            t = " (transposed? W^l is (n_out, n_in): row j holds the weights into unit j)" \
                if W.shape == (n_in, n_out) else ""
            _fail("shape", f"{case.label} has shape {W.shape}, expected {(n_out, n_in)}{t}")
        if not np.all(np.isfinite(W)):
            _fail("nonfinite", f"{case.label} holds NaN or inf")
        head = W.ravel()[:16]
        if not (isinstance(again, np.ndarray) and again.shape == head.shape and np.array_equal(again, head)):
            _fail("rng", f"{name}: two generators with the same seed gave different weights: draw from the rng "
                         "you are given (rng.normal or rng.uniform), not from np.random")
        if W.size > 1 and isinstance(other, np.ndarray) and other.shape == head.shape \
                and np.array_equal(other, head):
            _fail("rng", f"{name}: generators with different seeds gave the same weights: draw them from rng")
        if case.ref == "shape":
            return
        target, wrong = self._targets(which, n_out, n_in)
        N = W.size
        mean = float(np.mean(W))
        var = float(np.mean(W * W))               # the variance about the required mean 0
        if abs(mean) > 6 * np.sqrt(max(var, target) / N):
            _fail("entries", f"{case.label}: the weights should have mean 0, got mean {mean:.4g}")
        if abs(var / target - 1) <= self.TOL:
            return
        for v, key in wrong:
            if abs(var / v - 1) <= self.TOL:
                _fail("known", f"{case.label}: {self.hint(key)}")
        formula = "2/(n_in + n_out)" if which == "xavier" else "2/n_in"
        _fail("entries", f"{case.label}: the weights' variance is {var:.4g}, expected {formula} = {target:.4g} "
                         f"(ratio {var / target:.3g})")


# ------------------------------------------------------------------------------------------
# ex09_which_trains
ANSWER = {
    "sigmoid-xavier": "vanishing",
    "tanh-small": "vanishing",
    "tanh-xavier": "trains",
    "tanh-large": "exploding",
    "relu-xavier": "vanishing",
    "relu-he": "trains",
    "relu-large": "exploding",
}
LABELS = ("trains", "vanishing", "exploding")


class WhichTrains(Exercise):
    id = "ex09_which_trains"
    names = ("which_trains",)
    parts: ClassVar[dict] = {"trains": 2, "cause": 1}
    hints: ClassVar[dict] = {
        "sigmoid": "sigmoid's slope is at most 1/4, so delta shrinks by 4x or more at each of the 29 hidden "
                   "layers: even with Xavier's weights the 30-layer sigmoid network does not train",
        "relu_xavier": "Xavier's variance suits tanh, not ReLU: ReLU zeroes half of each layer's input, so "
                       "signal and delta shrink at every layer",
        "large": "weights that are too large make delta grow layer after layer on the way down (exploding): "
                 "those runs do not train",
        "missing": "a configuration that keeps the variance of the signal and of delta (tanh with Xavier, "
                   "ReLU with He) trains",
        "swapped": "vanishing and exploding swapped: weights too small make delta shrink towards the input, "
                   "weights too large make it grow",
    }

    def cases(self, rng):
        if rng is None:
            return [Case(part, (), "which_trains()", ref="form") for part in self.parts]
        return [Case(part, (), "which_trains()") for part in self.parts]

    def run(self, args, which_trains):
        return call(which_trains)

    def judge(self, case, out):
        if not isinstance(out, dict):
            _fail("type", f"which_trains() should return a dict {{name: label}}, got {type_name(out)}")
        missing = sorted(set(CONFIGS) - set(out))
        unknown = sorted(map(str, set(out) - set(CONFIGS)))
        if missing or unknown:
            what = (f"missing {', '.join(missing)}" if missing else "") + \
                   ("; " if missing and unknown else "") + (f"unknown {', '.join(unknown)}" if unknown else "")
            _fail("type", f"which_trains() needs one entry per name of CONFIGS: {what}")
        bad = [k for k in CONFIGS if out[k] not in LABELS]
        if bad:
            _fail("type", f"which_trains()[{bad[0]!r}] is {out[bad[0]]!r}: use one of {', '.join(map(repr, LABELS))}")
        if case.ref == "form":
            return
        if case.part == "trains":
            said = {k for k, v in out.items() if v == "trains"}
            right = {k for k, v in ANSWER.items() if v == "trains"}
            if said == right:
                return
            if "sigmoid-xavier" in said:
                _fail("known", self.hint("sigmoid"))
            if "relu-xavier" in said:
                _fail("known", self.hint("relu_xavier"))
            if said & {"tanh-large", "relu-large"}:
                _fail("known", self.hint("large"))
            if right - said:
                _fail("known", self.hint("missing"))
            _fail("entries", "not the configurations that train")
        wrong = [k for k, v in ANSWER.items() if v != "trains" and out[k] != v]
        if not wrong:
            return
        if all(out[k] in ("vanishing", "exploding") for k in wrong):
            _fail("known", self.hint("swapped"))
        _fail("entries", f"the cause for {wrong[0]} is not right: it does not train, because its gradients "
                         "vanish or explode")
