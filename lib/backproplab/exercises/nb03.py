r"""Checks of notebook 03 (gradient checking).

Functions cannot cross into the student's kernel, so every test function travels as a **data**
description (a kind and its arrays) and :meth:`run` builds it there: a scalar function of the
array, or a loss that reads the perturbed array through a closure, as a network's loss reads its
weights. The trusted side rebuilds the same function to name mistakes (a forward difference of
it, say), and takes its references from independent routes: exact derivatives in closed form,
the library's matrix-form backpropagation (:func:`backproplab.matrix.backprop`), and, for
``find_bug``, the library's centered differences judged by the rule of
:mod:`backproplab.gradcheck` (an entry agrees when its error is within the tolerance relative
to its size, or below the noise floor $\eta$).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from .. import gradcheck, matrix
from ..grading import check_array, check_scalar, type_name
from ._core import Case, Exercise, call
from ._judging import fail as _fail

__all__ = ["FindBug", "FixBackward", "NumericalGradient", "RelativeError", "make_function", "net_loss"]

CHECKER = ("backproplab.gradcheck",)
NETWORKS = ("backproplab.matrix", "backproplab.layerwise")
KEYS = ("W1", "b1", "W2", "b2")


# ------------------------------------------------------------------------------------------
# both sides: the test functions, from their data
def net_loss(p: dict, X: np.ndarray, Y: np.ndarray) -> float:
    r"""The notebook's network: $C = \frac1m \sum_{cols} \frac12 \lVert W^2 \tanh(W^1 X + b^1) + b^2 - Y\rVert^2$."""
    A1 = np.tanh(p["W1"] @ X + p["b1"])
    return float(0.5 * np.sum((p["W2"] @ A1 + p["b2"] - Y) ** 2) / X.shape[1])


def make_function(spec: tuple):
    """``(x, f)`` from a description: the array to differentiate with respect to, and the scalar
    function of it. Kinds: ``("cubes", x)``, ``("sin_mix", x, c)``; ``("tanh_W", W, v)`` and
    ``("net", W1, W2, X, Y, which)`` read x through a closure (their argument is ignored).
    ``("...T", ...)`` kinds differentiate with respect to the transpose, a non-contiguous view."""
    kind, *data = spec
    arrays = [np.array(d, dtype=np.float64) for d in data if isinstance(d, np.ndarray)]
    transposed = kind.endswith("_T")
    kind = kind.removesuffix("_T")
    if kind == "cubes":
        x = arrays[0]
        x = x.T if transposed else x
        return x, lambda v: float(np.sum(v**3))
    if kind == "sin_mix":
        x, c = arrays
        if transposed:
            x, c = x.T, c.T
        return x, lambda v: float(np.sum(c * np.sin(v)) + 0.5 * np.sum(v**2) * np.sum(c))
    if kind == "tanh_W":
        W, v = arrays
        return (W.T if transposed else W), lambda _: float(np.tanh(W @ v).sum())
    if kind == "net":
        W1, W2, X, Y = arrays
        p = {"W1": W1, "b1": np.zeros((W1.shape[0], 1)), "W2": W2, "b2": np.zeros((W2.shape[0], 1))}
        x = p[str(data[-1])]
        return (x.T if transposed else x), lambda _: net_loss(p, X, Y)
    raise ValueError(f"unknown function {kind!r}")


def _exact_gradient(spec: tuple, h: float) -> np.ndarray:
    """The exact centered difference (cubes) or the exact derivative (the others), in closed form."""
    kind, *data = spec
    transposed = kind.endswith("_T")
    kind = kind.removesuffix("_T")
    if kind == "cubes":
        g = 3 * data[0] ** 2 + h**2                  # (x+h)^3 - (x-h)^3 = 6x^2 h + 2h^3, exactly
    elif kind == "sin_mix":
        x, c = data
        g = c * np.cos(x) + x * np.sum(c)
    elif kind == "tanh_W":
        W, v = data
        g = np.outer(1 - np.tanh(W @ v) ** 2, v)
    else:
        W1, W2, X, Y, which = data
        _, dW, _ = matrix.backprop([W1, W2], [np.zeros((W1.shape[0], 1)), np.zeros((W2.shape[0], 1))], X, Y,
                                   ["tanh", "identity"])
        g = dW[0] if which == "W1" else dW[1]
    return g.T if transposed else g


def _forward_difference(spec: tuple, h: float) -> np.ndarray:
    x, f = make_function(spec)
    g = np.zeros(x.shape)
    f0 = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        g[i] = (f(x) - f0) / h
        x[i] = old
    return g


# ==========================================================================================
class NumericalGradient(Exercise):
    id = "ex03_numerical_gradient"
    names = ("numerical_gradient",)
    parts: ClassVar[dict[str, float]] = {"values": 2, "in_place": 1}
    routes = CHECKER
    hints: ClassVar[dict[str, str]] = {
        "forward": "this is the forward difference (f(x+h) - f(x))/h: use the centered one, "
                   "(f(x+h) - f(x-h)) / (2h)",
        "twice": "twice the answer: divide f(x+h) - f(x-h) by 2h, not h",
        "copy": "all zeros: f never saw the perturbed entries; change the entries of x itself, in place, not "
                "of a copy (x.reshape(-1) or x.flatten() of a non-contiguous x is a copy; x[i] and x.flat are not)",
        "restore": "put every entry back (save old = x[i], then x[i] = old) after perturbing it",
    }

    def cases(self, rng):
        if rng is None:
            x = np.array([[0.5, -1.0, 2.0], [1.5, -0.25, 0.75]])
            W, v = np.array([[0.3, -0.8], [1.1, 0.4]]), np.array([1.0, -2.0])
            return [Case("values", (("cubes", x), None), "the gradient of sum(x**3)"),
                    Case("values", (("cubes", np.array([2.0])), 0.1),
                         "the centered difference of x**3 at 2 with h = 0.1 (exactly 3 x**2 + h**2)"),
                    Case("in_place", (("tanh_W", W, v), None),
                         "the gradient of sum(tanh(W v)) w.r.t. W, a loss that reads W itself, not its argument")]
        out = []
        for shape in [(1,), (5,), (3, 1), (2, 4), (2, 3, 2), (1, 1, 1, 3)]:
            x, c = rng.normal(0, 1, size=shape), rng.normal(0, 1, size=shape)
            out.append(Case("values", (("sin_mix", x, c), None), f"the gradient for x of shape {shape}"))
        x, c = rng.normal(0, 1, size=(4, 3)), rng.normal(0, 1, size=(4, 3))
        x[1, 2] = 0.0
        out.append(Case("values", (("sin_mix_T", x, c), None), "x a transposed view (x.T, not contiguous), "
                                                                 "one entry exactly 0"))
        h = float(rng.choice([1e-3, 1e-4]))
        x = rng.normal(0, 2, size=(3,))
        out.append(Case("values", (("cubes", x), h), f"sum(x**3) with the step h = {h:g}"))
        W, v = rng.normal(0, 1, size=(3, 4)), rng.normal(0, 1, size=(4,))
        out.append(Case("in_place", (("tanh_W", W, v), None), "sum(tanh(W v)), read through W"))
        out.append(Case("in_place", (("tanh_W_T", W, v), None), "sum(tanh(W v)) w.r.t. W.T, a transposed view of W"))
        W1, W2 = rng.normal(0, 1, size=(4, 3)), rng.normal(0, 1, size=(2, 4))
        X, Y = rng.normal(0, 1, size=(3, 5)), rng.normal(0, 1, size=(2, 5))
        for which in ("W1", "W2"):
            out.append(Case("in_place", (("net", W1, W2, X, Y, which), None),
                            f"dC/d{which} of a small network that reads its weights itself"))
        return out

    def run(self, args, numerical_gradient):
        spec, h = args
        x, f = make_function(spec)
        before = x.copy()
        g = call(numerical_gradient, f, x) if h is None else call(numerical_gradient, f, x, h=h)
        return {"g": g, "x_before": before, "x_after": x.copy()}

    def judge(self, case, out):
        spec, h = case.args
        step = 1e-5 if h is None else h
        if not (isinstance(out, dict) and {"g", "x_before", "x_after"} <= set(out)):
            _fail("type", f"{case.label}: the test could not read the result back")
        expected = _exact_gradient(spec, step)
        x_before, x_after = make_function(spec)[0], out["x_after"]
        if not (isinstance(x_after, np.ndarray) and x_after.shape == x_before.shape
                and np.allclose(x_after, x_before, rtol=1e-12, atol=1e-12)):
            _fail("known", f"{case.label}: x was changed by numerical_gradient: {self.hint('restore')}")
        check_array(out["g"], expected, f"{case.label}", rtol=1e-6 if h is None else 1e-8, atol=1e-8, mistakes=[
            (_forward_difference(spec, step), self.hint("forward")),
            (2 * expected, self.hint("twice")),
            (np.zeros_like(expected), self.hint("copy"))])


# ==========================================================================================
def _rel(a, b, floor: float) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))


class RelativeError(Exercise):
    id = "ex03_relative_error"
    names = ("relative_error",)
    parts: ClassVar[dict[str, float]] = {"relative": 1, "floor": 1}
    routes = CHECKER
    hints: ClassVar[dict[str, str]] = {
        "no_abs": "take the absolute value |a - b| before the maximum: a - b may be negative",
        "divide_b": "divide by |a| + |b|, not by |b| alone",
        "divide_a": "divide by |a| + |b|, not by |a| alone",
        "absolute": "that is the absolute error |a - b|: divide it by max(|a| + |b|, floor)",
        "norms": "compare entry by entry and report the worst entry, not norms of the whole arrays",
        "floor": "use the floor argument: divide by max(|a| + |b|, floor)",
    }

    def cases(self, rng):
        if rng is None:
            return [Case("relative", (1.0, 1.0, None), "relative_error(1, 1)"),
                    Case("relative", (1.0, -1.0, None), "relative_error(1, -1) (opposite signs)"),
                    Case("relative", (np.array([1.0, 2.0]), np.array([1.1, 2.0]), None),
                         "relative_error([1, 2], [1.1, 2])"),
                    Case("relative", (np.array([3.0, 1e-9]), np.array([2.0, 1e-9]), None),
                         "relative_error([3, 1e-9], [2, 1e-9])"),
                    Case("floor", (np.zeros(3), np.zeros(3), None), "relative_error of two zero arrays (0/0 is kept away)"),
                    Case("floor", (np.array([1e-7, 2.0]), np.array([1.2e-7, 2.0]), 1e-3),
                         "relative_error([1e-7, 2], [1.2e-7, 2], floor=1e-3)")]
        out = []
        for shape in [(4,), (3, 2), (2, 2, 3), (1, 1)]:
            for scale in [1e-8, 1.0, 1e4]:
                a = rng.normal(0, scale, size=shape)
                b = a * (1 + rng.normal(0, 1e-3, size=shape)) * np.where(rng.random(shape) < 0.2, -1, 1)
                out.append(Case("relative", (a, b, None), f"relative_error for arrays of shape {shape}, size ~{scale:g}"))
                out.append(Case("relative", (b, a, None), f"relative_error(b, a) for shape {shape}: it is symmetric"))
        a = rng.normal(0, 1, size=(3, 4))
        b = a + rng.normal(0, 1e-2, size=(3, 4))
        out.append(Case("relative", (a.T, b.T, None), "two transposed (non-contiguous) arrays"))
        out.append(Case("relative", (np.array([1.0, 2.0]), np.array([1.5, 2.0]), None), "relative_error([1, 2], [1.5, 2])"))
        out.append(Case("relative", (2.0, 2.5, None), "relative_error of two numbers"))
        out.append(Case("floor", (np.array([1e-20, 0.0]), np.zeros(2), None), "relative_error([1e-20, 0], [0, 0])"))
        out.append(Case("floor", (np.array([]), np.array([]), None), "relative_error of two empty arrays"))
        floor = float(10.0 ** rng.integers(-5, -2))
        a = np.concatenate([rng.normal(0, 1e-7, size=4), rng.normal(0, 1, size=3)])
        b = a + rng.normal(0, 1e-9, size=7)
        out.append(Case("floor", (a, b, floor), f"entries below floor={floor:g} are measured against it"))
        out.append(Case("floor", (np.zeros((2, 2)), np.zeros((2, 2)), floor), f"two zero arrays with floor={floor:g}"))
        return out

    def run(self, args, relative_error):
        a, b, floor = args
        return call(relative_error, a, b) if floor is None else call(relative_error, a, b, floor=floor)

    def judge(self, case, out):
        a, b, floor = case.args
        fl = 1e-12 if floor is None else floor
        if isinstance(out, np.ndarray) and out.ndim == 0:
            out = out[()]
        if not isinstance(out, (float, np.floating)):
            _fail("type", f"{case.label}: return a float, got {type_name(out)}")
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        expected = _rel(a, b, fl)
        wrong = []
        if a.size:
            if not math.isfinite(float(out)):
                _fail("known", f"{case.label} = {float(out)}: {self.hint('floor')}")
            d, s = np.abs(a - b), np.abs(a) + np.abs(b)
            no_floor = d / np.where(s > 0, s, 1.0)           # 0/0 dropped, nothing else floored
            wrong = [(float(np.max((a - b) / np.maximum(s, fl))), self.hint("no_abs")),
                     (float(np.max(d / np.maximum(np.abs(b), fl))), self.hint("divide_b")),
                     (float(np.max(d / np.maximum(np.abs(a), fl))), self.hint("divide_a")),
                     (float(np.max(d)), self.hint("absolute")),
                     (float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), fl)), self.hint("norms")),
                     (_rel(a, b, 1e-12), self.hint("floor")), (float(np.max(no_floor)), self.hint("floor"))]
        # a wrong value that two mistakes share names neither: a later case tells them apart
        wrong = [(w, h) for w, h in wrong
                 if not any(h2 != h and math.isclose(w, w2, rel_tol=1e-9, abs_tol=1e-15) for w2, h2 in wrong)]
        check_scalar(out, expected, case.label, rtol=1e-9, atol=1e-15, mistakes=wrong)


# ==========================================================================================
def _init(rng: np.random.Generator, n_in: int, n_h: int, n_out: int) -> dict:
    """The notebook's init_params."""
    return {"W1": rng.normal(0, 0.8, size=(n_h, n_in)), "b1": rng.normal(0, 0.5, size=(n_h, 1)),
            "W2": rng.normal(0, 0.8, size=(n_out, n_h)), "b2": rng.normal(0, 0.5, size=(n_out, 1))}


def _grads(p: dict, X: np.ndarray, Y: np.ndarray, scale: float = 1.0) -> dict:
    _, dW, db = matrix.backprop([p["W1"], p["W2"]], [p["b1"], p["b2"]], X, Y, ["tanh", "identity"])
    return {"W1": scale * dW[0], "b1": scale * db[0], "W2": scale * dW[1], "b2": scale * db[1]}


def _errors(p: dict, X, Y, grads: dict, scale: float, tol: float) -> dict:
    """The rule's r_i for every entry of every parameter (trusted side: the library's checker)."""
    c = scale * net_loss(p, X, Y)
    floor = gradcheck.noise_floor(c) / tol
    out = {}
    for k in KEYS:
        q = {j: v.copy() for j, v in p.items()}
        n = gradcheck.numerical_gradient(lambda _, q=q: scale * net_loss(q, X, Y), q[k])
        a = grads[k]
        out[k] = np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)
    return out


class FindBug(Exercise):
    id = "ex03_find_bug"
    names = ("find_bug",)
    uses = ("ex03_numerical_gradient",)
    parts: ClassVar[dict[str, float]] = {"locate": 2, "no_false_alarm": 1}
    routes = CHECKER
    TOL = 1e-6
    hints: ClassVar[dict[str, str]] = {
        "missed": "an entry disagrees by more than tol here: compare every entry of every parameter",
        "worst": "report the entry with the largest relative error, not the first one above tol",
        "flat": "return the index as a tuple of the array's indices, like (2, 1) (np.unravel_index), "
                "not a flat position",
        "never_none": "nothing is wrong here: return None when every entry agrees within tol",
        "floor": "these tiny entries are below the noise floor: measure each against max(|a| + |n|, eta/tol), "
                 "eta = noise_floor(loss_fn(params))",
        "relative": "the loss is tiny, and so are its gradients: compare relative errors, not absolute ones",
        "params": "the parameters were changed: your numerical_gradient must restore every entry",
    }

    def _case(self, part, p, X, Y, label, plant=(), scale=1.0, tag=""):
        grads = _grads(p, X, Y, scale)
        for name, index, how in plant:
            grads[name] = grads[name].copy()
            v = grads[name][index]
            grads[name][index] = {"neg": -v, "1.5": 1.5 * v, "2": 2 * v, "1.01": 1.01 * v,
                                  "shift": v + 0.05 * math.copysign(1.0, v)}[how]
        return Case(part, (p, X, Y, grads, scale), label, ref=tag)

    def _clear(self, case: Case) -> bool:
        """Is the verdict clear-cut, whatever rounding a student's checker adds? A correct gradient's
        worst entry far below tol, a planted bug's far above it and every other entry far below."""
        p, X, Y, grads, scale = case.args
        r = np.sort(np.concatenate([e.ravel() for e in _errors(p, X, Y, grads, scale, self.TOL).values()]))[::-1]
        if case.part == "no_false_alarm":
            return r[0] < self.TOL / 10
        return r[0] > 100 * self.TOL and (case.ref == "two" or r[1] < self.TOL / 10)

    def cases(self, rng):
        r = np.random.default_rng(7)
        p = _init(r, 3, 4, 2)
        X, Y = r.normal(size=(3, 6)), r.normal(size=(2, 6))
        sat = {k: v.copy() for k, v in p.items()}
        sat["b1"][1, 0] = 9.0                          # hidden unit 1 saturated: its gradients are ~1e-7
        if rng is None:
            return [self._case("no_false_alarm", p, X, Y, "a correct gradient"),
                    self._case("no_false_alarm", sat, X, Y, "a correct gradient with a saturated unit (b1[1] = 9)",
                               tag="tiny"),
                    self._case("locate", p, X, Y, "W1[2, 1] with its sign flipped", [("W1", (2, 1), "neg")]),
                    self._case("locate", p, X, Y, "db2 doubled", [("b2", (0, 0), "2"), ("b2", (1, 0), "2")])]
        out = []
        for trial in range(5):
            n_in, n_h, n_out, m = (int(v) for v in rng.integers([1, 2, 1, 1], [5, 6, 4, 9]))
            p = _init(rng, n_in, n_h, n_out)
            X, Y = rng.normal(size=(n_in, m)), rng.normal(size=(n_out, m))
            g = _grads(p, X, Y)
            name = KEYS[trial % 4]
            big = np.argwhere(np.abs(g[name]) > 1e-3)          # a planted bug must be visible above the floor
            if not len(big):
                continue
            index = tuple(int(i) for i in big[int(rng.integers(len(big)))])
            how = ["neg", "1.5", "shift"][trial % 3]
            sat = {k: v.copy() for k, v in p.items()}
            sat["b1"][0, 0] = float(rng.choice([9.0, -9.0, 12.0]))
            out += [c for c in (
                self._case("locate", p, X, Y, f"random network {trial}: d{name}{list(index)} planted",
                           [(name, index, how)]),
                self._case("no_false_alarm", p, X, Y, f"random network {trial}, correct gradient"),
                self._case("no_false_alarm", sat, X, Y, f"random network {trial} with a saturated unit, "
                                                        "correct gradient", tag="tiny")) if self._clear(c)]
        p = _init(np.random.default_rng(21), 3, 4, 2)
        X, Y = np.random.default_rng(22).normal(size=(3, 7)), np.random.default_rng(23).normal(size=(2, 7))
        out.append(self._case("locate", p, X, Y, "two wrong entries (report the worse one)",
                              [("W1", (0, 1), "1.01"), ("W2", (1, 2), "neg")], tag="two"))
        p = _init(np.random.default_rng(11), 3, 5, 2)
        X, Y = np.random.default_rng(12).normal(size=(3, 5)), np.random.default_rng(13).normal(size=(2, 5))
        out.append(self._case("locate", p, X, Y, "a loss of size 1e-6 with a planted bug",
                              [("W2", (1, 3), "1.5")], scale=1e-6, tag="small"))
        out.append(self._case("no_false_alarm", p, X, Y, "a loss of size 1e-6, correct gradient", scale=1e-6))
        return out

    def run(self, args, find_bug):
        p, X, Y, grads, scale = args
        params = {k: np.array(v) for k, v in p.items()}
        found = call(find_bug, lambda q: scale * net_loss(q, X, Y), lambda q: {k: v.copy() for k, v in grads.items()},
                     params, self.TOL)
        if isinstance(found, tuple) and len(found) == 2 and isinstance(found[1], np.ndarray):
            found = (found[0], tuple(found[1].tolist()))
        return {"found": found, "params": params}

    def judge(self, case, out):
        p, X, Y, grads, scale = case.args
        if not (isinstance(out, dict) and set(out) == {"found", "params"} and isinstance(out["params"], dict)):
            _fail("type", f"{case.label}: the test could not read the result back")
        after = out["params"]
        if set(after) != set(p) or not all(isinstance(after[k], np.ndarray) and after[k].shape == p[k].shape
                                           and np.allclose(after[k], p[k], rtol=0, atol=1e-12) for k in p):
            _fail("known", f"{case.label}: {self.hint('params')}")
        errs = _errors(p, X, Y, grads, scale, self.TOL)
        worst = max(float(e.max()) for e in errs.values())
        found = out["found"]
        if worst <= self.TOL:
            if found is None:
                return
            hint = self.hint("floor") if case.ref == "tiny" else self.hint("never_none")
            _fail("known", f"{case.label}: find_bug returned {_show(found)}: {hint}")
        # the entries that count as the worst (ties allowed)
        best = {(k, tuple(int(i) for i in idx)) for k, e in errs.items()
                for idx in np.argwhere(e >= (1 - 1e-3) * worst)}
        names = {k for k, _ in best}
        if found is None:
            hint = self.hint("relative") if case.ref == "small" else self.hint("missed")
            _fail("known", f"{case.label}: returned None, but d{min(names)} is wrong: {hint}")
        if not (isinstance(found, tuple) and len(found) == 2 and isinstance(found[0], str)):
            _fail("type", f"{case.label}: return a pair (name, index) or None, got {_show(found)}")
        name, index = found
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            _fail("known", f"{case.label}: index {index} is a flat position: {self.hint('flat')}")
        if not (isinstance(index, (tuple, list)) and all(isinstance(i, (int, np.integer)) for i in index)):
            _fail("type", f"{case.label}: the index should be a tuple of integers, got {_show(index)}")
        index = tuple(int(i) for i in index)
        if name not in names:
            hint = f": {self.hint('worst')}" if case.ref == "two" and name in errs else ""
            _fail("entries", f"{case.label}: the wrong gradient is d{min(names)}, find_bug says {name!r}{hint}")
        if (name, index) not in best:
            _fail("entries", f"{case.label}: the worst entry of d{name} is "
                             f"{min(i for k, i in best if k == name)}, find_bug says {index}")


def _show(x) -> str:
    text = repr(x) if isinstance(x, (str, int, float, tuple, list, type(None))) else f"a {type_name(x)}"
    return text if len(text) < 60 else text[:57] + "..."


# ==========================================================================================
class FixBackward(Exercise):
    id = "ex03_fix_backward"
    names = ("backward",)
    parts: ClassVar[dict[str, float]] = {"output_layer": 1, "hidden_layer": 1}
    routes = (*CHECKER, *NETWORKS)
    hints: ClassVar[dict[str, str]] = {
        "still_buggy": "this is still backward_buggy's line: dC/dW2 uses A1 = tanh(Z1), not Z1",
        "tanh_of_z": "tanh'(Z1) = 1 - A1**2 (the output squared), not 1 - Z1**2",
        "column": "keep a bias gradient a column (n, 1): sum with axis=1, keepdims=True",
    }
    LAYER: ClassVar[dict[str, tuple[str, str]]] = {"output_layer": ("W2", "b2"), "hidden_layer": ("W1", "b1")}

    def cases(self, rng):
        if rng is None:
            r = np.random.default_rng(7)
            p = _init(r, 3, 4, 2)
            X, Y = r.normal(size=(3, 6)), r.normal(size=(2, 6))
            return [Case(part, (p, X, Y, False), f"the 3-4-2 network, {part.replace('_', ' ')}") for part in self.LAYER]
        out = []
        for trial in range(4):
            n_in, n_h, n_out, m = (int(v) for v in rng.integers([1, 1, 1, 1], [5, 7, 4, 10]))
            p = _init(rng, n_in, n_h, n_out)
            X, Y = rng.normal(size=(n_in, m)), rng.normal(size=(n_out, m))
            if trial == 3:
                p["b1"][0, 0] = 8.0                        # a saturated unit: large |z|
            for part in self.LAYER:
                out.append(Case(part, (p, X, Y, trial == 2),
                                f"a random {n_in}-{n_h}-{n_out} network, batch of {m}"
                                + (", X a transposed view" if trial == 2 else "")
                                + (", one unit saturated" if trial == 3 else "")
                                + f": {part.replace('_', ' ')}"))
        return out

    def run(self, args, backward):
        p, X, Y, transposed = args
        params = {k: np.array(v) for k, v in p.items()}
        X = np.ascontiguousarray(X.T).T if transposed else np.array(X)      # a transposed view: not contiguous
        return {"grads": call(backward, params, X, Y)}

    def judge(self, case, out):
        p, X, Y, _ = case.args
        if not (isinstance(out, dict) and set(out) == {"grads"}):
            _fail("type", f"{case.label}: the test could not read the result back")
        got = out["grads"]
        if not isinstance(got, dict):
            _fail("type", f"{case.label}: return a dict of gradients, got {type_name(got)}")
        if set(got) != set(KEYS):
            _fail("type", f"{case.label}: the dict should have the keys {list(KEYS)}, got {sorted(map(str, got))}")
        expected = _grads(p, X, Y)
        m = X.shape[1]
        Z1 = p["W1"] @ X + p["b1"]
        d2 = p["W2"] @ np.tanh(Z1) + p["b2"] - Y
        mistakes = {"W2": [(d2 @ Z1.T / m, self.hint("still_buggy"))],
                    "W1": [(((p["W2"].T @ d2) * (1 - Z1**2)) @ X.T / m, self.hint("tanh_of_z"))]}
        for k in self.LAYER[case.part]:
            g = got[k]
            if k.startswith("b") and isinstance(g, np.ndarray) and g.shape == (expected[k].shape[0],):
                _fail("known", f"{case.label}: d{k} has shape {g.shape}, expected {expected[k].shape}: "
                               f"{self.hint('column')}")
            check_array(g, expected[k], f"{case.label}: d{k}", rtol=1e-7, atol=1e-10, batch_size=m,
                        mistakes=mistakes.get(k, []))
