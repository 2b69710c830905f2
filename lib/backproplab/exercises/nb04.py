r"""Checks of notebook 04 (one neuron and gradient descent).

References come from SymPy's exact derivatives of the batch cost
$C = \frac1m \sum_\mu \tfrac12 (a^{(\mu)} - y^{(\mu)})^2$ (:mod:`backproplab.symbolic`, evaluated in
float64, or with 40 digits where float64 would overflow), never from the matrix formula the
notebook teaches. Descent paths are replayed on the trusted side with those exact gradients.

Edge inputs in the hidden cases: an input, weight or bias of exactly 0, a zero error, arrays
passed as non-contiguous views (the transpose of a C array, as ``x.T`` gives), and net inputs
of several hundred for the logistic neuron.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .. import symbolic
from ..grading import GradingError, check_array, type_name
from ._core import Case, Exercise, call
from ._judging import fail as _fail
from ._judging import field as _field
from ._judging import stable_sigmoid as _sigmoid

__all__ = ["DescentStep", "LinearGrad", "LogisticGrad"]

GRAD_ROUTES = (
    "backproplab.gradcheck.numerical_gradient",
    "backproplab.losses.squared_error_grad",
    "backproplab.matrix.backprop",
    "backproplab.matrix.backward",
    "backproplab.matrix.linear_backward",
    "backproplab.matrix.output_delta",
    "backproplab.matrix.activation_backward",
    "backproplab.layerwise.backprop",
    "backproplab.layerwise.backward",
)
NAMES = ("W", "b", "X", "Y")


def _view(a: np.ndarray) -> np.ndarray:
    """The same numbers as a non-contiguous view (what ``M.T`` of a C-ordered array is)."""
    return np.ascontiguousarray(np.asarray(a).T).T


def _as_views(arrays: dict, views) -> dict:
    return {k: (_view(v) if k in views else v) for k, v in arrays.items()}


def _exact_high_precision(W, b, X, Y, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """dC/dW, dC/db from SymPy's derivative of one example's loss, evaluated with 40 digits."""
    n, m = X.shape
    _, _, grads, params, xs, ys = symbolic.gradient_expressions([n, 1], [activation])
    values = {p: sp.Float(float(v), 40) for p, v in zip(params, [*W.ravel(), *b.ravel()])}
    total = np.zeros(len(params))
    for mu in range(m):
        sub = dict(values)
        sub.update({xi: sp.Float(float(X[i, mu]), 40) for i, xi in enumerate(xs)})
        sub[ys[0]] = sp.Float(float(Y[0, mu]), 40)
        total += [float(g.evalf(40, subs=sub)) for g in grads]
    total /= m
    return total[:n].reshape(1, n), total[n:].reshape(1, 1)


def exact_neuron_grad(W, b, X, Y, activation: str) -> tuple[np.ndarray, np.ndarray]:
    r"""$\partial C/\partial W$ (1, n) and $\partial C/\partial b$ (1, 1) of one neuron with the
    squared error, from SymPy's exact derivatives. W (1, n), b (1, 1), X (n, m), Y (1, m)."""
    with np.errstate(all="ignore"):
        _, dW, db = symbolic.backprop([W], [b], X, Y, [activation])
    if np.all(np.isfinite(dW[0])) and np.all(np.isfinite(db[0])):
        return dW[0], db[0]
    return _exact_high_precision(W, b, X, Y, activation)


def _unchanged(fn_name: str, names, before, after) -> None:
    """The inputs after the call must equal those sent in (values, shapes)."""
    if not isinstance(after, (list, tuple)) or len(after) != len(before):
        _fail("type", "the test's record of your function's inputs could not be read: run the cell again")
    for name, b, a in zip(names, before, after):
        if not (isinstance(a, np.ndarray) and a.shape == np.shape(b) and np.array_equal(a, b)):
            raise GradingError(f"{fn_name} changed the argument {name} passed to it: compute new arrays "
                               "and leave the inputs as they were", "in_place")


class _NeuronGrad(Exercise):
    """Shared case layout of the two neuron-gradient exercises (each has its own hints)."""

    activation = "identity"
    fn_name = ""

    def _example(self) -> tuple:
        raise NotImplementedError

    def _hidden(self, rng) -> list[tuple]:
        raise NotImplementedError

    def _cases(self, problems) -> list[Case]:
        out = []
        for W, b, X, Y, views, label in problems:
            ref = exact_neuron_grad(W, b, X, Y, self.activation)
            for part in self.parts:
                out.append(Case(part, (W, b, X, Y, views), label, ref=ref))
        return out

    def cases(self, rng):
        if rng is None:
            return self._cases([self._example()])
        return self._cases(self._hidden(rng))

    def run(self, args, fn):
        W, b, X, Y, views = args
        ins = _as_views(dict(zip(NAMES, (W, b, X, Y))), views)
        got = call(fn, *(ins[k] for k in NAMES))
        return {"got": got, "after": [ins[k] for k in NAMES]}

    def _mistakes(self, part: str, W, b, X, Y) -> list[tuple[np.ndarray, str]]:
        return []

    def judge(self, case, out):
        W, b, X, Y, _ = case.args
        got = _field(out, "got")
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            _fail("type", f"{self.fn_name} should return the pair (dW, db), got {type_name(got)}"
                          + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""))
        _unchanged(self.fn_name, NAMES, (W, b, X, Y), _field(out, "after"))
        m = X.shape[1]
        dW_ref, db_ref = case.ref
        where = f" ({case.label})" if case.label else ""
        value, ref = (got[0], dW_ref) if case.part == "dW" else (got[1], db_ref)
        self._shape_hints(case.part, value, ref, W, b, X, Y, where)
        check_array(value, ref, f"{case.part}{where}", rtol=1e-7, atol=1e-12, batch_size=m,
                    mistakes=self._mistakes(case.part, W, b, X, Y))

    def _shape_hints(self, part, value, ref, W, b, X, Y, where) -> None:
        if part == "db" and isinstance(value, np.ndarray) and value.shape == (1, X.shape[1]) != ref.shape:
            _fail("shape", f"db{where} has shape {value.shape}, expected (1, 1): {self.hint('db_per_example')}")


def _size_label(n: int, m: int) -> str:
    return f"{n} input{'s' if n > 1 else ''}, {m} example{'s' if m > 1 else ''}"


def _neuron_problems(rng, n_m, y_fn, scale: float = 1.0) -> list[tuple]:
    """Random neurons: a plain one per (n, m), then the edge inputs."""
    out = []
    for k, (n, m) in enumerate(n_m):
        W = rng.normal(0, scale, (1, n))
        b = rng.normal(0, 1, (1, 1))
        X = rng.normal(0, 1.5, (n, m))
        views = ("X",) if k % 2 else ("W",)
        out.append((W, b, X, y_fn(rng, m), views, _size_label(n, m)))
    # exact zeros: an input row, a weight and the bias
    n, m = 3, 5
    X = rng.normal(0, 1.5, (n, m))
    X[1] = 0.0
    X[0, 2] = 0.0
    W = rng.normal(0, scale, (1, n))
    W[0, 2] = 0.0
    out.append((W, np.zeros((1, 1)), X, y_fn(rng, m), ("X", "Y"), "inputs, a weight and the bias of exactly 0"))
    return out


class LinearGrad(_NeuronGrad):
    id = "ex04_linear_grad"
    names = ("linear_neuron_grad",)
    parts = {"dW": 2, "db": 1}
    routes = GRAD_ROUTES
    fn_name = "linear_neuron_grad"
    activation = "identity"
    hints = {
        "bias_missing": "the output a = W x + b includes the bias: the error is W @ X + b - Y",
        "db_per_example": "db is the mean of a - y over the batch, one number, not one per example",
    }

    def _example(self):
        return (np.array([[0.5, -1.0]]), np.array([[0.1]]), np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 2.0]]),
                np.array([[1.0, 0.0, -1.0]]), (), "")

    def _hidden(self, rng):
        def targets(r, m):
            return r.normal(0, 1, (1, m))

        out = _neuron_problems(rng, [(2, 1), (1, 4), (3, 5), (5, 8), (2, 16)], targets)
        # a batch the neuron fits exactly: the error, and so the gradient, is exactly zero
        W, b = np.array([[1.0, -2.0]]), np.array([[0.5]])
        X = rng.normal(0, 1, (2, 4))
        out.append((W, b, X, W @ X + b, (), "a batch fitted exactly (zero error)"))
        return out

    def _mistakes(self, part, W, b, X, Y):
        m = X.shape[1]
        e = W @ X - Y                                  # the bias left out of the output
        wrong = e @ X.T / m if part == "dW" else e.sum(axis=1, keepdims=True) / m
        return [(wrong, self.hint("bias_missing"))]


class LogisticGrad(_NeuronGrad):
    id = "ex04_logistic_grad"
    names = ("logistic_neuron_grad",)
    parts = {"dW": 2, "db": 1}
    routes = GRAD_ROUTES
    fn_name = "logistic_neuron_grad"
    activation = "sigmoid"
    hints = {
        "slope_missing": "the sigmoid's slope a(1 - a) is missing from delta (that is the linear neuron's rule)",
        "slope_of_z": "the slope is a(1 - a) of the output a = sigmoid(z), not z(1 - z)",
        "sigmoid_prime_of_a": "the slope is sigmoid'(z) = a(1 - a); sigmoid'(a) applies the sigmoid twice",
        "slope_plus": "the slope is a(1 - a), not a(1 + a)",
        "db_per_example": "db is the mean of delta over the batch, one number, not one per example",
    }

    def _example(self):
        return (np.array([[0.5, -1.0]]), np.array([[0.1]]), np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 2.0]]),
                np.array([[1.0, 0.0, 0.0]]), (), "")

    def _hidden(self, rng):
        def labels(r, m):
            return (r.random((1, m)) < 0.5).astype(np.float64)

        out = _neuron_problems(rng, [(2, 1), (1, 5), (3, 7), (5, 10), (2, 20)], labels)
        # large |z|: saturated outputs, some confidently wrong; the answer must stay finite
        W = np.array([[300.0, -250.0]])
        X = np.array([[2.5, -3.0, 0.01, 1.0], [0.0, 1.4, 0.0, 1.2]])
        out.append((W, np.array([[0.0]]), X, np.array([[0.0, 1.0, 1.0, 1.0]]), ("X",),
                    "net inputs from -1250 to 750, saturated"))
        return out

    def _mistakes(self, part, W, b, X, Y):
        m = X.shape[1]
        with np.errstate(all="ignore"):
            Z = W @ X + b
            A = _sigmoid(Z)
            sA = _sigmoid(A)
            deltas = [((A - Y), "slope_missing"), ((A - Y) * Z * (1 - Z), "slope_of_z"),
                      ((A - Y) * sA * (1 - sA), "sigmoid_prime_of_a"), ((A - Y) * A * (1 + A), "slope_plus")]
            return [((d @ X.T / m) if part == "dW" else d.sum(axis=1, keepdims=True) / m, self.hint(key))
                    for d, key in deltas]


# ------------------------------------------------------------------------------------------
def _linear_grad_fn(X: np.ndarray, Y: np.ndarray):
    """The kernel-side gradient a descent path is given: [dC/dW, dC/db] of a linear neuron."""
    m = X.shape[1]

    def grad_fn(params):
        e = params[0] @ X + params[1] - Y
        return [e @ X.T / m, e.sum(axis=1, keepdims=True) / m]

    return grad_fn


def _bowl_grad_fn(params):
    """The gradient [2 p] of the one-parameter bowl C = p**2."""
    return [2 * params[0]]


class DescentStep(Exercise):
    id = "ex04_descent_step"
    names = ("descent_step", "descent_path")
    parts = {"step": 1, "path": 2}
    routes = ("backproplab.optim.sgd_step", "backproplab.optim.momentum_step", "backproplab.layerwise.update")
    hints = {
        "step_in_place": "descent_step changed the arrays passed to it (p -= ... works in place): "
                         "return new arrays p - lr * g",
        "ascent": "the step goes uphill: subtract lr * g, do not add it",
        "divides_by_lr": "the step is lr times the gradient, p - lr * g, not p - g / lr",
        "path_in_place": "descent_path changed the starting arrays in place: every step must make new arrays",
        "no_start": "the path starts with the starting parameters: n_steps steps visit n_steps + 1 points",
        "frozen_gradient": "every step needs the gradient where you stand now: call grad_fn(current) inside the loop",
    }

    # -- cases -------------------------------------------------------------------------------
    def cases(self, rng):
        if rng is None:
            W, b = np.array([[0.5, -1.0]]), np.array([[0.1]])
            step = Case("step", ([W, b], [np.array([[0.2, -0.4]]), np.array([[-1.0]])], 0.5, ()), "lr=0.5")
            path = Case("path", ([np.array([[1.0]])], ("bowl",), 0.1, 5, ()), "the bowl C = p**2, lr=0.1, 5 steps")
            return [step, path]
        out = []
        for n, m, lr, steps in [(2, 6, 0.3, 7), (3, 10, 0.05, 12), (1, 3, 1.2, 4), (4, 5, 0.2, 1), (2, 4, 0.1, 0)]:
            X, Y = rng.normal(0, 1, (n, m)), rng.normal(0, 1, (1, m))
            start = [rng.normal(0, 1, (1, n)), rng.normal(0, 1, (1, 1))]
            views = ("params",) if n % 2 else ()
            out.append(Case("path", (start, ("linear", X, Y), lr, steps, views),
                            f"{steps} step{'s' if steps != 1 else ''} with lr={lr}, {_size_label(n, m)}"))
            grads = [rng.normal(0, 1, p.shape) for p in start]
            out.append(Case("step", (start, grads, lr, views), f"lr={lr}, {n} input{'s' if n > 1 else ''}"))
        # exact zeros: a gradient that is zero (in part), and a start at the origin
        start = [np.zeros((1, 3)), np.array([[0.7]])]
        out.append(Case("step", (start, [np.array([[0.0, 1.5, 0.0]]), np.zeros((1, 1))], 0.4, ("grads",)),
                        "gradients with entries of exactly 0"))
        X = rng.normal(0, 1, (3, 5))
        X[2] = 0.0
        out.append(Case("path", (start, ("linear", X, rng.normal(0, 1, (1, 5))), 0.2, 3, ("params",)),
                        "3 steps from the origin, an input of exactly 0"))
        return out

    # -- kernel side -------------------------------------------------------------------------
    def run(self, args, descent_step, descent_path):
        if len(args) == 4:                                   # one step
            params, grads, lr, views = args
            params = [_view(p) for p in params] if "params" in views else params
            grads = [_view(g) for g in grads] if "grads" in views else grads
            new = call(descent_step, params, grads, lr)
            shared = [any(np.shares_memory(x, p) for p in params) for x in new] \
                if isinstance(new, (list, tuple)) and all(isinstance(x, np.ndarray) for x in new) else []
            return {"got": new, "after": list(params), "shared": shared}
        start, problem, lr, n_steps, views = args
        start = [_view(p) for p in start] if "params" in views else start
        grad_fn = _bowl_grad_fn if problem[0] == "bowl" else _linear_grad_fn(problem[1], problem[2])
        path = call(descent_path, start, grad_fn, lr, n_steps)
        return {"got": path, "after": list(start)}

    # -- trusted side ------------------------------------------------------------------------
    def judge(self, case, out):
        if case.part == "step":
            self._judge_step(case, out)
        else:
            self._judge_path(case, out)

    def _judge_step(self, case, out):
        params, grads, lr, _ = case.args
        new = _field(out, "got")
        after = _field(out, "after")
        if not isinstance(after, list) or len(after) != len(params) or not all(
                isinstance(a, np.ndarray) and a.shape == p.shape and np.array_equal(a, p)
                for a, p in zip(after, params)):
            _fail("in_place", self.hint("step_in_place"))
        if not isinstance(new, list):
            _fail("type", f"descent_step should return a new list with one array per parameter, got {type_name(new)}")
        if len(new) != len(params):
            _fail("shape", f"descent_step should return {len(params)} arrays (one per parameter), got {len(new)}")
        if any(_field(out, "shared")):
            _fail("in_place", self.hint("step_in_place"))
        for i, (x, p, g) in enumerate(zip(new, params, grads)):
            name = f"descent_step's new params[{i}] ({case.label})"
            if not (isinstance(x, np.ndarray) and x.shape == p.shape):
                check_array(x, p - lr * g, name)
            check_array(x - p, -lr * g, f"the step of params[{i}] (new - old; it should be -lr * g, downhill; "
                                        f"{case.label})",
                        mistakes=[(lr * g, self.hint("ascent")), (-g / lr, self.hint("divides_by_lr"))])

    @staticmethod
    def _exact_grad(problem, params):
        if problem[0] == "bowl":
            return [2 * params[0]]
        _, X, Y = problem
        dW, db = exact_neuron_grad(params[0], params[1], X, Y, "identity")
        return [dW, db]

    def _judge_path(self, case, out):
        start, problem, lr, n_steps, _ = case.args
        path = _field(out, "got")
        after = _field(out, "after")
        if not isinstance(after, list) or len(after) != len(start) or not all(
                isinstance(a, np.ndarray) and a.shape == p.shape and np.array_equal(a, p)
                for a, p in zip(after, start)):
            _fail("in_place", self.hint("path_in_place"))
        expected = [list(start)]
        frozen = [list(start)]
        g0 = self._exact_grad(problem, start)
        for _step in range(n_steps):
            cur = expected[-1]
            expected.append([p - lr * g for p, g in zip(cur, self._exact_grad(problem, cur))])
            frozen.append([p - lr * g for p, g in zip(frozen[-1], g0)])
        if not isinstance(path, list):
            _fail("type", f"descent_path should return a list of parameter lists, got {type_name(path)}")
        if len(path) != n_steps + 1:
            hint = f": {self.hint('no_start')}" if len(path) == n_steps else ""
            _fail("shape", f"{n_steps} steps should visit {n_steps + 1} points (the start and one per step), "
                           f"got {len(path)} ({case.label}){hint}")
        for k, (point, exp, frz) in enumerate(zip(path, expected, frozen)):
            if not (isinstance(point, list) and len(point) == len(start)):
                _fail("type", f"path[{k}] should be a list of {len(start)} parameter arrays, like the start, "
                              f"got {type_name(point)}")
            for i in range(len(start)):
                mistakes = [(frz[i], self.hint("frozen_gradient"))] if k >= 2 else []
                if k == 0 and n_steps >= 1:
                    mistakes.append((expected[1][i], self.hint("no_start")))
                if k == 1:                                   # a wrong descent_step shows in the first step
                    mistakes += [(start[i] + lr * g0[i], self.hint("ascent")),
                                 (start[i] - g0[i] / lr, self.hint("divides_by_lr"))]
                check_array(point[i], exp[i], f"path[{k}][{i}] ({case.label})", mistakes=mistakes)
