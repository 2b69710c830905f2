r"""Checks of notebook 01 (the chain rule, symbolically).

References are SymPy's own ``diff`` of the whole expression: an independent route from the
student's product of local derivatives.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..grading import (
    check_expr,
    check_expr_at_points,
    check_sympy_matrix,
    type_name,
)
from ._core import Case, Exercise, call
from ._judging import fail as _fail

__all__ = ["Chain", "LayerJacobian", "NetworkGrad", "SigmoidPrime"]

x, t = sp.symbols("x t", real=True)
a, z = sp.symbols("a z", real=True)


def sigmoid(v):
    """The logistic function as a SymPy expression, as the notebook defines it."""
    return 1 / (1 + sp.exp(-v))


class Chain(Exercise):
    id = "ex01_chain"
    names = ("chain_derivative",)
    parts = {"chain": 2}
    hints = {
        "outer_at_x": "evaluate each local derivative at its own input: cos(x**2 + 1), not cos(x)",
        "inner_missing": "the inner derivative 2x is missing: multiply every local derivative",
        "added": "multiply the local derivatives, don't add them",
        "local_at_x": "each local derivative f_k' must be evaluated at u_(k-1), not at x",
    }
    POOL = [sp.Lambda(t, sp.exp(t / 2)), sp.Lambda(t, sp.tanh(t)), sp.Lambda(t, t**3 - t),
            sp.Lambda(t, 1 / (1 + sp.exp(-t))), sp.Lambda(t, sp.sin(2 * t)), sp.Lambda(t, sp.log(1 + t**2)),
            sp.Lambda(t, 3 * t + 1)]

    def cases(self, rng):
        if rng is None:
            return [Case("chain", ([sp.Lambda(t, t**2 + 1), sp.Lambda(t, sp.sin(t))], x), "d/dx sin(x**2 + 1)",
                         ref="hints"),
                    Case("chain", ([sp.Lambda(t, sp.exp(t))], x), "d/dx exp(x)")]
        out = [Case("chain", ([], x), "the empty chain")]
        for trial in range(8):
            k = int(rng.integers(2, 5))
            funcs = [self.POOL[i] for i in rng.choice(len(self.POOL), size=k, replace=False)]
            out.append(Case("chain", (funcs, x), f"the derivative of a chain of {k} functions", ref=trial))
        return out

    def run(self, args, chain_derivative):
        return call(chain_derivative, *args)

    def judge(self, case, got):
        funcs, var = case.args
        u = var
        for f in funcs:
            u = f(u)
        expected = sp.diff(u, var) if funcs else sp.Integer(1)
        if case.ref == "hints":
            check_expr(got, expected, [x], name=case.label,
                       mistakes=[(sp.cos(x) * 2 * x, self.hint("outer_at_x")),
                                 (sp.cos(x**2 + 1), self.hint("inner_missing")),
                                 (sp.cos(x**2 + 1) + 2 * x, self.hint("added"))])
        elif case.visible or not funcs:
            check_expr(got, expected, [x], name=case.label)
        else:
            at_x = sp.Mul(*[sp.diff(f(t), t).subs(t, x) for f in funcs])
            check_expr_at_points(got, expected, [x], seed=case.ref, low=-1.5, high=1.5, name=case.label,
                                 mistakes=[(at_x, self.hint("local_at_x"))])


class SigmoidPrime(Exercise):
    id = "ex01_sigmoid_prime"
    names = ("sigmoid_prime_from_output", "tanh_prime_from_output")
    parts = {"sigmoid": 1, "tanh": 1}
    # each function has its own hints: a mistake in tanh' is named in tanh's words
    hints = {
        "sigmoid_factor_a": "the factor a is missing",
        "sigmoid_plus": "a(1 - a), not a(1 + a)",
        "tanh_not_squared": "square the output: 1 - a**2",
        "tanh_plus": "1 - a**2, not 1 + a**2",
    }
    FUNCS = {"sigmoid": sigmoid, "tanh": sp.tanh}

    def _mistakes(self, name: str):
        f = self.FUNCS[name](z)
        if name == "sigmoid":
            return [(1 - f, self.hint("sigmoid_factor_a")), (f * (1 + f), self.hint("sigmoid_plus"))]
        return [(1 - f, self.hint("tanh_not_squared")), (1 + f**2, self.hint("tanh_plus"))]

    def cases(self, rng):
        if rng is None:
            return [Case(name, (name, a), f"{name}'(z) from its output") for name in self.FUNCS]
        out = [Case(name, (name, a), f"{name}'(z) for large |z|", ref="large") for name in self.FUNCS]
        for name in self.FUNCS:
            for v in rng.uniform(-0.99, 0.99, size=5):
                if name == "tanh":
                    zv, av = float(np.arctanh(v)), float(v)
                else:
                    av = (float(v) + 1) / 2
                    zv = float(np.log(av / (1 - av)))
                exact = float(sp.diff(self.FUNCS[name](z), z).subs(z, zv))
                out.append(Case(name, (name, sp.Float(av)), f"{name} with the number a={av:.3f}", ref=exact))
        return out

    def run(self, args, sigmoid_prime_from_output, tanh_prime_from_output):
        name, value = args
        fn = sigmoid_prime_from_output if name == "sigmoid" else tanh_prime_from_output
        return call(fn, value)

    def judge(self, case, got):
        name, value = case.args
        if isinstance(value, sp.Float):       # called with a number: the value must be the derivative's
            if not isinstance(got, (sp.Expr, int, float)) or isinstance(got, bool):
                _fail("type", f"{name}: return a SymPy expression in a, got {type_name(got)}")
            if isinstance(got, sp.Expr) and got.free_symbols:
                _fail("type", f"{name}: called with a number it still contains "
                              f"{sorted(map(str, got.free_symbols))}: write it with the argument a only")
            val = complex(got)
            if abs(val - case.ref) >= 1e-9:
                _fail("entries", f"{name}: wrong value when called with the number a={float(value):.3f}")
            return
        if not isinstance(got, sp.Expr):
            _fail("type", f"{name}: return a SymPy expression in a, got {type_name(got)}")
        if not got.free_symbols <= {a}:
            _fail("type", f"{name}: write it with a only, found {sorted(map(str, got.free_symbols))}")
        f = self.FUNCS[name](z)
        # put a = f(z) back in: it must be the derivative of f at z
        if case.ref == "large":
            check_expr_at_points(got.subs(a, f), sp.diff(f, z), [z], seed=7, low=-6, high=6, n_points=40,
                                 name=case.label, mistakes=self._mistakes(name))
        else:
            check_expr_at_points(got.subs(a, f), sp.diff(f, z), [z], name=case.label, mistakes=self._mistakes(name))


class LayerJacobian(Exercise):
    id = "ex01_layer_jacobian"
    names = ("layer_jacobian",)
    parts = {"jacobian": 3}
    hints = {
        "w_alone": "this is W alone: scale row i by its unit's slope sigma'(z_i)",
        "sigma_not_slope": "uses sigma(z_i) where the slope sigma'(z_i) = sigma(z_i)(1 - sigma(z_i)) belongs",
        "transposed": "transposed: row i holds the derivatives of output a_i",
    }

    def cases(self, rng):
        if rng is None:
            xs = sp.Matrix(sp.symbols("x1 x2", real=True))
            W = sp.Matrix([[1, -2], [sp.Rational(1, 2), 3]])
            return [Case("jacobian", (W, sp.Matrix([0, 1]), xs), "J for a 2x2 layer", ref=list(xs))]
        out = []
        for n, k in [(1, 1), (3, 2), (2, 3), (1, 3), (3, 1)]:
            xs = sp.Matrix(sp.symbols(f"x1:{k + 1}", real=True))
            W = sp.Matrix(n, k, [sp.Rational(int(v), 4) for v in rng.integers(-8, 9, size=n * k)])
            b = sp.Matrix(n, 1, [sp.Rational(int(v), 4) for v in rng.integers(-4, 5, size=n)])
            out.append(Case("jacobian", (W, b, xs), f"J for a {n}x{k} layer", ref=list(xs)))
        w = sp.Matrix(2, 2, sp.symbols("w11 w12 w21 w22", real=True))
        xs = sp.Matrix(sp.symbols("x1 x2", real=True))
        out.append(Case("jacobian", (w, sp.zeros(2, 1), xs), "J with symbolic weights", ref=list(w) + list(xs)))
        return out

    def run(self, args, layer_jacobian):
        return call(layer_jacobian, *args)

    def judge(self, case, got):
        W, b, xs = case.args
        expected = (W * xs + b).applyfunc(sigmoid).jacobian(xs)
        mistakes = []
        if case.visible:
            zs = W * xs + b
            mistakes = [(W, self.hint("w_alone")),
                        (sp.diag(*[sigmoid(v) for v in zs]) * W, self.hint("sigma_not_slope")),
                        (expected.T, self.hint("transposed"))]
        check_sympy_matrix(got, expected, case.ref, name=case.label, mistakes=mistakes)


class NetworkGrad(Exercise):
    id = "ex01_network_grad"
    names = ("network_gradients",)
    parts = {"hidden": 2, "output": 1}       # (dL_dw1, dL_db1) and (dL_dw2, dL_db2)
    hints = {
        "slope_missing": "the slope sigma'(z1) = h(1 - h) is missing",
        "x_missing": "the last factor on the path, dz1/dw1 = x, is missing",
        "sign": "sign flipped: dL/dy_hat = y_hat - y",
    }
    SYMS = sp.symbols("x y w1 b1 w2 b2", real=True)
    GRADS = {"hidden": ("dL_dw1", "dL_db1"), "output": ("dL_dw2", "dL_db2")}
    ORDER = ("dL_dw1", "dL_db1", "dL_dw2", "dL_db2")

    def cases(self, rng):
        if rng is None:
            return [Case(part, self.SYMS, "symbols") for part in self.GRADS]
        out = []
        for _trial in range(5):
            vals = tuple(sp.Float(v) for v in rng.normal(0, 1.5, size=6))
            out += [Case(part, vals, "numbers") for part in self.GRADS]
        return out

    def run(self, args, network_gradients):
        return call(network_gradients, *args)

    def _hints(self, name):
        x_, y_, w1, b1, w2, b2 = self.SYMS
        h = sigmoid(w1 * x_ + b1)
        e = w2 * h + b2 - y_
        return {"dL_dw1": [(e * w2 * x_, self.hint("slope_missing")),
                           (e * w2 * h * (1 - h), self.hint("x_missing")),
                           (-e * w2 * h * (1 - h) * x_, self.hint("sign"))],
                "dL_db1": [(e * w2, self.hint("slope_missing"))]}.get(name, [])

    def judge(self, case, got):
        if not (isinstance(got, tuple) and len(got) == 4):
            _fail("type", "return a tuple of four expressions (dL_dw1, dL_db1, dL_dw2, dL_db2)")
        x_, y_, w1, b1, w2, b2 = self.SYMS
        loss = (w2 * sigmoid(w1 * x_ + b1) + b2 - y_) ** 2 / 2
        params = dict(zip(self.ORDER, (w1, b1, w2, b2)))
        for name, g in zip(self.ORDER, got):
            if name not in self.GRADS[case.part]:
                continue
            if case.label == "symbols":
                check_expr(g, sp.diff(loss, params[name]), list(self.SYMS), name=name, mistakes=self._hints(name))
                continue
            exact = float(sp.diff(loss, params[name]).subs(dict(zip(self.SYMS, case.args))))
            if not isinstance(g, (sp.Expr, int, float)) or isinstance(g, bool):
                _fail("type", f"{name} with numbers: expected a number, got {type_name(g)}")
            if isinstance(g, sp.Expr) and g.free_symbols:
                _fail("type", f"{name} with numbers still contains {sorted(map(str, g.free_symbols))}: "
                              "build it from the arguments only")
            value = float(g)
            if not abs(value - exact) <= 1e-9 * max(1, abs(exact)):
                _fail("entries", f"{name} with numbers: got {value:.6g}, expected {exact:.6g}")
