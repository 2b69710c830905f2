r"""Checks of notebook 02 (computational graphs and reverse mode).

A test graph travels as **data**: a list of steps, each making one node with the notebook's own
``Value`` class (passed in ``names``):

    ("leaf", 0.7)     a new input            ("+", i, j)  node i + node j    ("*", i, j)  node i * node j
    ("neg", i)        -node i                ("pow", i, k)  node i ** k      ("sin" | "exp" | "tanh", i)

The kernel side (:meth:`run`) builds the graph, runs the student's rule or pass on it, and
returns numbers: the nodes' ``grad`` and ``data`` afterwards, how often each node's ``_backward``
ran, the order as node indices. The trusted side (:meth:`judge`) takes its references from SymPy:
the local derivative of every operation is ``sp.diff`` of its formula, and for a whole graph
these are chained by **forward** accumulation (one tangent pass seeded at each node), a route
independent of the reverse pass under test.
"""

from __future__ import annotations

import math
from functools import cache
from typing import ClassVar

import numpy as np
import sympy as sp

from ..grading import GradingError, check_scalar, type_name
from ._core import Case, Exercise, call
from ._judging import fail as _fail

__all__ = ["Backward", "ExpTanhBackward", "MulBackward", "TopologicalSort", "build_graph"]

AUTODIFF = ("backproplab.autodiff",)
_s, _t = sp.symbols("s t", real=True)
_FORMULAS = {"+": _s + _t, "*": _s * _t, "neg": -_s, "sin": sp.sin(_s), "exp": sp.exp(_s), "tanh": sp.tanh(_s)}


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _num(v) -> str:
    return f"{float(v):.6g}"


# ------------------------------------------------------------------------------------------
# kernel side: a graph from its description, with the notebook's Value class
def build_graph(Value, steps) -> list:
    """The nodes of a described graph, in the order of ``steps``, made with ``Value``."""
    nodes: list = []
    for step in steps:
        op = step[0]
        if op == "leaf":
            v = Value(float(step[1]))
        elif op == "+":
            v = nodes[step[1]] + nodes[step[2]]
        elif op == "*":
            v = nodes[step[1]] * nodes[step[2]]
        elif op == "neg":
            v = -nodes[step[1]]
        elif op == "pow":
            v = nodes[step[1]] ** step[2]
        elif op in ("sin", "exp", "tanh"):
            v = getattr(nodes[step[1]], op)()
        else:
            raise ValueError(f"unknown step {op!r}")
        nodes.append(v)
    return nodes


def _course_rule(op: str, node, parents):
    """The course's backward rule of ``op`` for ``node`` (in place of the student's ``*``,
    ``exp`` and ``tanh`` rules, so that ex02_backward does not charge their mistakes twice)."""
    a = parents[0]
    if op == "*":
        b = parents[1]

        def rule():
            a.grad += b.data * node.grad
            b.grad += a.data * node.grad
    elif op == "exp":
        def rule():
            a.grad += node.data * node.grad
    else:
        def rule():
            a.grad += (1.0 - node.data**2) * node.grad
    return rule


def _counted(fn, calls: list, k: int):
    def _backward():
        calls[k] += 1
        return fn()
    return _backward


# ------------------------------------------------------------------------------------------
# trusted side: values and local derivatives from SymPy, chained forwards
@cache
def _local(op: str, k: float | None = None):
    """(value function, [partial derivative functions]) of one operation, from SymPy."""
    f = _s**k if op == "pow" else _FORMULAS[op]
    args = (_s, _t) if op in ("+", "*") else (_s,)
    return sp.lambdify(args, f, "math"), [sp.lambdify(args, sp.diff(f, v), "math") for v in args]


def _parents(step) -> tuple[int, ...]:
    op = step[0]
    if op == "leaf":
        return ()
    if op in ("+", "*"):
        return (int(step[1]), int(step[2]))
    return (int(step[1]),)


def _forward(steps) -> tuple[list[float], list[list[tuple[int, float]]]]:
    """Every node's value, and its local derivatives as ``[(parent, d node / d parent), ...]``."""
    vals: list[float] = []
    partials: list[list[tuple[int, float]]] = []
    for step in steps:
        op = step[0]
        if op == "leaf":
            vals.append(float(step[1]))
            partials.append([])
            continue
        ps = _parents(step)
        value, derivs = _local(op, float(step[2]) if op == "pow" else None)
        args = [vals[p] for p in ps]
        vals.append(float(value(*args)))
        partials.append([(p, float(d(*args))) for p, d in zip(ps, derivs)])
    return vals, partials


def _ancestors(steps, root: int) -> set[int]:
    seen, stack = {root}, [root]
    while stack:
        for p in _parents(steps[stack.pop()]):
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def _adjoint(partials, root: int, v: int) -> float:
    r"""$\partial\,\mathrm{root} / \partial v$ (v's own inputs held fixed): one forward tangent pass seeded at v."""
    dot = {v: 1.0}
    for j in range(v + 1, root + 1):
        s = sum(d * dot[p] for p, d in partials[j] if p in dot)
        if s != 0.0 or any(p in dot for p, _ in partials[j]):
            dot[j] = s
    return dot.get(root, 0.0)


def _reverse_from(start: list[float], partials, anc: set[int], root: int) -> list[float]:
    """What a reverse pass gives when it starts from the grads ``start`` as they are (no reset):
    only to name that mistake, never as a reference."""
    g = list(start)
    g[root] += 1.0
    for j in sorted(anc, reverse=True):
        for p, d in partials[j]:
            g[p] += d * g[j]
    return g


def _close(a: float, e: float, scale: float) -> bool:
    return abs(a - e) <= 1e-8 * abs(e) + 1e-10 * scale


def _ordinal(k: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


# ==========================================================================================
class MulBackward(Exercise):
    id = "ex02_mul_backward"
    names = ("mul_backward", "Value")
    parts: ClassVar[dict[str, float]] = {"product": 1, "accumulate": 1}
    routes = AUTODIFF
    hints: ClassVar[dict[str, str]] = {
        "own_operand": "a receives b.data * out.grad (d(a b)/da = b): the other operand, not its own",
        "out_data": "use the operands' data (d(a b)/da = b.data), not out.data",
        "upstream": "multiply the local derivative by the upstream gradient out.grad",
        "accumulate": "use +=: a.grad may already hold the contribution of another path",
        "reuse": "x * x passes x.data * out.grad to x twice; the second must add to the first (+=)",
    }

    def cases(self, rng):
        # args: (a.data, b.data, a.grad before, b.grad before, out.grad, same node for a and b)
        if rng is None:
            return [Case("product", (2.0, -3.0, 0.0, 0.0, 1.0, False), "out = a * b with a = 2, b = -3"),
                    Case("product", (2.0, -3.0, 0.0, 0.0, 4.0, False), "out = a * b with out.grad = 4"),
                    Case("accumulate", (2.0, -3.0, 0.5, 0.0, 4.0, False),
                         "out = a * b with out.grad = 4 and a.grad = 0.5 before"),
                    Case("accumulate", (3.0, 3.0, 0.0, 0.0, 1.0, True), "out = x * x with x = 3")]
        out = []
        for _ in range(8):
            va, vb = (float(v) for v in rng.normal(0, 2, size=2))
            go = float(rng.normal(0, 1.5))
            out.append(Case("product", (va, vb, 0.0, 0.0, go, False),
                            f"out = a * b with a = {va:.3g}, b = {vb:.3g}, out.grad = {go:.3g}"))
            ga, gb = (float(v) for v in rng.normal(0, 1, size=2))
            out.append(Case("accumulate", (va, vb, ga, gb, go, False),
                            f"out = a * b with a = {va:.3g}, b = {vb:.3g}, out.grad = {go:.3g}, "
                            f"a.grad = {ga:.3g} and b.grad = {gb:.3g} before"))
        vb = float(rng.uniform(0.5, 3))
        out.append(Case("product", (0.0, vb, 0.0, 0.0, 1.0, False), f"out = a * b with a = 0 exactly, b = {vb:.3g}"))
        big = float(rng.uniform(1e5, 1e6))
        out.append(Case("product", (big, -1.0 / big, 0.0, 0.0, 2.0, False),
                        f"out = a * b with a = {big:.4g}, b = {-1 / big:.4g}"))
        vx, gx, go = float(rng.normal(0, 1.5)), float(rng.normal()), float(rng.normal(0, 2))
        out.append(Case("accumulate", (vx, vx, gx, gx, go, True),
                        f"out = x * x with x = {vx:.3g}, out.grad = {go:.3g}, x.grad = {gx:.3g} before"))
        return out

    def run(self, args, mul_backward, Value):
        va, vb, ga, gb, go, same = args
        a = Value(va)
        b = a if same else Value(vb)
        out = a * b
        a.grad, out.grad = ga, go
        if not same:
            b.grad = gb
        call(mul_backward, a, b, out)
        return {"a": [a.data, a.grad], "b": [b.data, b.grad], "out": [out.data, out.grad]}

    def judge(self, case, out):
        va, vb, ga, gb, go, same = case.args
        _read_nodes(case.label, out, ("a", "b", "out"), "b.data * out.grad")
        _side_effects(case.label, [("a", out["a"][0], va), ("b", out["b"][0], vb), ("out", out["out"][0], va * vb)],
                      ("out", out["out"][1], go))
        # the oracle: SymPy's d(s t)/ds and d(s t)/dt at s = a.data, t = b.data
        point = {_s: va, _t: vb}
        da, db = (float(sp.diff(_s * _t, v).subs(point)) for v in (_s, _t))
        if same:
            check_scalar(out["a"][1], ga + (da + db) * go, f"{case.label}: x.grad", rtol=1e-9, atol=1e-12,
                         mistakes=[(da * go, self.hint("reuse")), (ga + da * go, self.hint("reuse")),
                                   (ga + 2 * va * va * go, self.hint("out_data")),
                                   (ga + 2 * go, self.hint("upstream"))])
            return
        for name, got, before, d, own in (("a", out["a"][1], ga, da, va), ("b", out["b"][1], gb, db, vb)):
            check_scalar(got, before + d * go, f"{case.label}: {name}.grad", rtol=1e-9, atol=1e-12,
                         mistakes=[(before + own * go, self.hint("own_operand")),
                                   (before + va * vb * go, self.hint("out_data")),
                                   (before + d, self.hint("upstream")),
                                   (d * go, self.hint("accumulate"))])


def _read_nodes(label: str, out, keys: tuple[str, ...], example: str) -> None:
    """``out`` is ``{node: [data, grad]}`` for the nodes ``keys``, every entry a number."""
    if not (isinstance(out, dict) and set(out) == set(keys)
            and all(isinstance(out[k], list) and len(out[k]) == 2 for k in keys)):
        _fail("type", f"{label}: the test could not read the nodes back")
    for key in keys:
        for what, v in zip(("data", "grad"), out[key]):
            if not _is_number(v):
                _fail("type", f"{label}: {key}.{what} is a {type_name(v)}, not a number: add numbers ({example}), "
                              "not Values")


def _side_effects(label: str, datas, out_grad) -> None:
    for name, got, expected in datas:
        if not _close(float(got), expected, 1.0) and not math.isclose(float(got), expected, rel_tol=1e-12):
            _fail("side_effect", f"{label}: {name}.data changed from {_num(expected)} to {_num(got)}: a backward rule "
                                 "changes grads only")
    name, got, expected = out_grad
    if not math.isclose(float(got), expected, rel_tol=1e-12, abs_tol=1e-300):
        _fail("side_effect", f"{label}: {name}.grad changed from {_num(expected)} to {_num(got)}: a backward rule "
                             "reads out.grad and adds into its inputs' grads only")


# ==========================================================================================
class ExpTanhBackward(Exercise):
    id = "ex02_exp_tanh_backward"
    names = ("exp_backward", "tanh_backward", "Value")
    parts: ClassVar[dict[str, float]] = {"exp": 1, "tanh": 2}
    routes = AUTODIFF
    hints: ClassVar[dict[str, str]] = {
        "exp_input": "exp'(a) = exp(a) = out.data, not a.data",
        "exp_upstream": "exp: multiply exp'(a) = out.data by the upstream gradient out.grad",
        "exp_accumulate": "exp: use +=, a.grad may already hold another path's contribution",
        "tanh_input": "tanh'(a) = 1 - tanh(a)**2 = 1 - out.data**2: square the output, not the input a",
        "tanh_not_squared": "tanh'(a) = 1 - out.data**2: the output must be squared",
        "tanh_upstream": "tanh: multiply tanh'(a) = 1 - out.data**2 by the upstream gradient out.grad",
        "tanh_accumulate": "tanh: use +=, a.grad may already hold another path's contribution",
    }

    def cases(self, rng):
        # args: (function, a.data, a.grad before, out.grad)
        if rng is None:
            return [Case("exp", ("exp", 0.5, 0.0, 1.0), "out = exp(a), a = 0.5"),
                    Case("tanh", ("tanh", 0.5, 0.0, 1.0), "out = tanh(a), a = 0.5"),
                    Case("exp", ("exp", -1.0, 0.25, 3.0), "out = exp(a), a = -1, out.grad = 3, a.grad = 0.25 before"),
                    Case("tanh", ("tanh", 0.5, 0.25, 3.0), "out = tanh(a), a = 0.5, out.grad = 3, a.grad = 0.25 before")]
        out = []
        for fn in ("exp", "tanh"):
            for _ in range(6):
                va = float(rng.uniform(-2.5, 2.5))
                before, up = (float(v) for v in rng.normal(0, 1, size=2))
                out.append(Case(fn, (fn, va, before, up),
                                f"out = {fn}(a), a = {va:.3g}, out.grad = {up:.3g}, a.grad = {before:.3g} before"))
            up = float(rng.normal(0, 1))
            out.append(Case(fn, (fn, 0.0, 0.0, up), f"out = {fn}(a), a = 0 exactly, out.grad = {up:.3g}"))
        z = float(rng.uniform(18, 25)) * (1 if rng.random() < 0.5 else -1)
        out.append(Case("tanh", ("tanh", z, 0.5, 1.0), f"out = tanh(a) saturated, a = {z:.3g}, a.grad = 0.5 before"))
        z = float(rng.uniform(15, 25))
        out.append(Case("exp", ("exp", z, 1.0, 1e-3), f"out = exp(a), a large ({z:.3g}), out.grad = 0.001"))
        return out

    def run(self, args, exp_backward, tanh_backward, Value):
        fn, va, before, up = args
        a = Value(va)
        out = a.exp() if fn == "exp" else a.tanh()
        a.grad, out.grad = before, up
        call(exp_backward if fn == "exp" else tanh_backward, a, out)
        return {"a": [a.data, a.grad], "out": [out.data, out.grad]}

    def judge(self, case, out):
        fn, va, before, up = case.args
        _read_nodes(case.label, out, ("a", "out"), "computed from out.data and out.grad")
        f = sp.exp(_s) if fn == "exp" else sp.tanh(_s)
        value = float(f.subs(_s, va))
        _side_effects(case.label, [("a", out["a"][0], va), ("out", out["out"][0], value)], ("out", out["out"][1], up))
        d = float(sp.diff(f, _s).subs(_s, va))          # the oracle: SymPy's derivative at a
        if fn == "exp":
            wrong = [(before + va * up, self.hint("exp_input")), (before + d, self.hint("exp_upstream")),
                     (d * up, self.hint("exp_accumulate"))]
        else:
            wrong = [(before + (1 - va**2) * up, self.hint("tanh_input")),
                     (before + (1 - value) * up, self.hint("tanh_not_squared")),
                     (before + d, self.hint("tanh_upstream")), (d * up, self.hint("tanh_accumulate"))]
        check_scalar(out["a"][1], before + d * up, f"{case.label}: a.grad", rtol=1e-9, atol=1e-12, mistakes=wrong)


# ==========================================================================================
def _random_steps(rng: np.random.Generator, n_leaves: int, n_ops: int, ops: tuple[str, ...]) -> list:
    """A random graph that reuses nodes, every value of moderate size."""
    while True:
        steps: list = [("leaf", round(float(v), 3)) for v in rng.uniform(-1.2, 1.2, size=n_leaves)]
        if rng.random() < 0.3:
            steps[int(rng.integers(n_leaves))] = ("leaf", 0.0)         # an operand of exactly 0
        for _ in range(n_ops):
            n = len(steps)
            op = str(rng.choice(ops))
            i, j = (int(k) for k in rng.integers(max(0, n - 6), n, size=2))
            if op in ("+", "*"):
                steps.append((op, i, j))
            elif op == "pow":
                steps.append(("pow", i, int(rng.choice([2, 3]))))
            else:
                steps.append((op, i))
        steps.append(("+", len(steps) - 1, n_leaves))                  # the root also reuses a middle node
        try:
            vals, _ = _forward(steps)
        except (OverflowError, ValueError):                            # exp(exp(...)) overflowed: draw again
            continue
        if all(abs(v) < 50 for v in vals):
            return steps


def _label(steps, k: int, labels: dict | None = None) -> str:
    if labels and k in labels:
        return labels[k]
    op = steps[k][0]
    return f"input {k}" if op == "leaf" else f"node {k} ({op})"


class TopologicalSort(Exercise):
    id = "ex02_topological_sort"
    names = ("topological_sort", "Value")
    parts: ClassVar[dict[str, float]] = {"order": 2, "deep": 1}
    routes = AUTODIFF
    hints: ClassVar[dict[str, str]] = {
        "duplicate": "a reused node must be listed once: keep a set of the nodes already visited",
        "missing": "visit the parents of every node, and theirs, all the way to the inputs",
        "reversed": "the order is reversed: inputs first, root last",
        "parent_after": "append a node only after all of its parents",
        "recursion": "the graph is deeper than Python's recursion limit (1000 nested calls): "
                     "search with an explicit stack instead of recursion",
        "fresh_state": "nothing may survive from one call to the next: make the visited set inside "
                       "topological_sort (not outside it, nor as a default argument)",
    }
    DEEP = 2500

    def cases(self, rng):
        neuron = [("leaf", 0.5), ("leaf", -1.5), ("*", 0, 1), ("leaf", 0.8), ("+", 2, 3), ("tanh", 4)]
        labels = {0: "x", 1: "w", 2: "x*w", 3: "b", 4: "z", 5: "a"}
        if rng is None:
            return [Case("order", (neuron, 5), "a = tanh(w x + b)", ref=labels),
                    Case("order", ([("leaf", 0.5)], 0), "a single input", ref={0: "x"}),
                    Case("order", ([("leaf", 0.5), ("leaf", -1.5), ("*", 0, 1), ("+", 2, 0), ("*", 3, 2)], 4),
                         "(u + x) * u with u = x * w, reused", ref={0: "x", 1: "w", 2: "u", 3: "u + x"}),
                    Case("order", ([("leaf", 3.0), ("*", 0, 0)], 1), "x * x", ref={0: "x"}),
                    self._deep(self.DEEP // 2)]
        out = []
        for trial in range(10):
            steps = _random_steps(rng, int(rng.integers(1, 5)), int(rng.integers(3, 25)),
                                  ("+", "*", "tanh", "neg", "sin", "exp", "pow"))
            out.append(Case("order", (steps, len(steps) - 1), f"random graph {trial} ({len(steps)} nodes)"))
        # a diamond: two long branches from x meet at the top, which is used twice
        steps: list = [("leaf", 0.1)]
        left = right = 0
        for _ in range(6):
            steps.append(("tanh", left))
            left = len(steps) - 1
            steps.append(("*", right, 0))
            right = len(steps) - 1
        steps += [("+", left, right), ("+", len(steps), len(steps))]
        out.append(Case("order", (steps, len(steps) - 1), "a diamond with two long branches, its top reused"))
        # extra nodes made from the graph but not used by the root: not part of the root's graph
        steps = [("leaf", 0.3), ("leaf", -0.7), ("*", 0, 1), ("exp", 2), ("sin", 0), ("+", 2, 4)]
        out.append(Case("order", (steps, 5), "a graph with a node (exp) that the root does not use"))
        chain = self._chain(150)
        out.append(Case("order", (chain, len(chain) - 1), f"a chain of {len(chain)} nodes"))
        out.append(self._deep(int(rng.integers(self.DEEP // 2, self.DEEP // 2 + 150))))    # 2500-2800 deep
        return out

    def _deep(self, n: int) -> Case:
        chain = self._chain(n)
        return Case("deep", (chain, len(chain) - 1), f"a chain {len(chain)} nodes deep")

    @staticmethod
    def _chain(n: int) -> list:
        """x, then n times: v = tanh(v) + c, with one constant input c reused by every step."""
        steps: list = [("leaf", 0.2), ("leaf", 0.01), ("tanh", 0), ("+", 2, 1)]
        for _ in range(n - 1):
            steps += [("tanh", len(steps) - 1), ("+", len(steps), 1)]
        return steps

    def run(self, args, topological_sort, Value):
        steps, root = args
        nodes = build_graph(Value, steps)
        index = {id(v): k for k, v in enumerate(nodes)}
        result = {}
        for key in ("order", "again"):           # asked twice: no state may survive a call
            try:
                order = call(topological_sort, nodes[root])
            except GradingError as exc:
                if "RecursionError" in str(exc):
                    return {"recursion": True}
                raise
            if not isinstance(order, list):
                return {"type": type_name(order)}
            result[key] = [index.get(id(v), -1) if isinstance(v, Value) else -2 for v in order]
            bad = [v for v in order if not isinstance(v, Value)]
            if bad:
                return {"type": f"list holding a {type_name(bad[0])}"}
        return result

    def judge(self, case, out):
        steps, root = case.args
        if not isinstance(out, dict):
            _fail("type", f"{case.label}: the test could not read the order back")
        if out.get("recursion"):
            _fail("recursion", f"{case.label}: RecursionError: {self.hint('recursion')}")
        if "type" in out:
            _fail("type", f"{case.label}: return a list of Value nodes, got a {out['type']}")
        for key, when in (("order", ""), ("again", ", asked a second time")):
            order = out.get(key)
            if not (isinstance(order, list) and all(isinstance(k, int) and not isinstance(k, bool) for k in order)):
                _fail("type", f"{case.label}: the test could not read the order back")
            if key == "again" and len(order) < len(out["order"]):
                _fail("known", f"{case.label}: the second call returned {len(order)} of the "
                               f"{len(_ancestors(steps, root))} nodes: {self.hint('fresh_state')}")
            self._check_order(steps, root, order, f"{case.label}{when}", case.ref)

    def _check_order(self, steps, root: int, order: list[int], what: str, labels) -> None:
        def name(k: int) -> str:
            return _label(steps, k, labels)

        if -1 in order:
            _fail("entries", f"{what}: the list holds a Value that is not part of the root's graph")
        nodes = _ancestors(steps, root)
        counts: dict[int, int] = {}
        for k in order:
            counts[k] = counts.get(k, 0) + 1
        twice = [k for k in order if counts[k] > 1]
        if twice:
            _fail("known", f"{what}: {name(twice[0])} appears {counts[twice[0]]} times: {self.hint('duplicate')}")
        missing = sorted(nodes - set(counts))
        if missing:
            _fail("known", f"{what}: {len(missing)} of {len(nodes)} nodes are missing, e.g. {name(missing[0])}: "
                           f"{self.hint('missing')}")
        extra = [k for k in order if k not in nodes]
        if extra:
            _fail("entries", f"{what}: {name(extra[0])} is not part of the root's graph (it does not lead to the root)")
        if len(order) > 1 and order[0] == root:
            _fail("known", f"{what}: the root comes first: {self.hint('reversed')}")
        pos = {k: i for i, k in enumerate(order)}
        for k in order:
            for p in _parents(steps[k]):
                if pos[p] > pos[k]:
                    _fail("known", f"{what}: {name(k)} comes before its parent {name(p)}: {self.hint('parent_after')}")
        if order[-1] != root:
            _fail("entries", f"{what}: the root should be the last node")


# ==========================================================================================
class Backward(Exercise):
    id = "ex02_backward"
    names = ("backward", "Value")
    uses = ("ex02_topological_sort",)
    parts: ClassVar[dict[str, float]] = {"one_pass": 2, "repeat": 1}
    routes = AUTODIFF
    hints: ClassVar[dict[str, str]] = {
        "seed": "nothing reached the inputs: seed the root (add 1 to root.grad) before the pass",
        "order": "call the _backward of the nodes in reverse topological order (root first), so that every "
                 "node's grad is complete before it is passed on",
        "once": "a node's _backward ran more than once in one pass, so its gradient was passed on twice: "
                "call it once per node",
        "interior_reset": "interior nodes (with parents) must start from 0 on every call: reset their grads "
                          "before the pass",
        "leaves_accumulate": "inputs (nodes without parents) accumulate across calls: leave their grads alone",
        "seed_add": "add the seed to the root (root.grad += 1): an input used as the root keeps what it held",
    }
    # f = tanh(u) + exp(-y) * sin(u) with u = x * y + x**2: every kind of node, u, x and y reused
    FORMULA: ClassVar[list] = [("leaf", 0.7), ("leaf", -0.4), ("*", 0, 1), ("pow", 0, 2), ("+", 2, 3), ("tanh", 4),
                               ("neg", 1), ("exp", 6), ("sin", 4), ("*", 7, 8), ("+", 5, 9)]
    LABELS: ClassVar[dict[int, str]] = {0: "x", 1: "y", 2: "x*y", 3: "x**2", 4: "u", 5: "tanh(u)", 6: "-y",
                                        7: "exp(-y)", 8: "sin(u)", 9: "exp(-y)*sin(u)", 10: "f"}

    def cases(self, rng):
        f = self.FORMULA
        if rng is None:
            return [Case("one_pass", (f, [("backward", 10)]), "f = tanh(u) + exp(-y) sin(u), u = x y + x**2",
                         ref={"labels": self.LABELS}),
                    Case("repeat", (f, [("backward", 10), ("backward", 10), ("zero",), ("backward", 10)]),
                         "the same f, backward(f) twice, then zero_grad and backward(f)",
                         ref={"labels": self.LABELS})]
        out = []
        all_ops = ("+", "*", "neg", "pow", "sin", "exp", "tanh")
        for trial in range(7):
            steps = _random_steps(rng, int(rng.integers(1, 5)), int(rng.integers(4, 16)), all_ops)
            out.append(Case("one_pass", (steps, [("backward", len(steps) - 1)]),
                            f"random graph {trial} ({len(steps)} nodes)"))
        for trial in range(3):
            steps = _random_steps(rng, int(rng.integers(1, 4)), int(rng.integers(5, 14)), all_ops)
            r = len(steps) - 1
            inner = [k for k in _ancestors(steps, r) if steps[k][0] != "leaf" and k != r]
            actions = [("backward", r), ("backward", r)]
            if inner:
                actions.append(("backward", int(rng.choice(inner))))
            actions += [("zero",), ("backward", r)]
            out.append(Case("repeat", (steps, actions), f"random graph {trial} ({len(steps)} nodes) used repeatedly"))
        out.append(Case("repeat", ([("leaf", 3.0)], [("set_grad", 0, 5.0), ("backward", 0)]),
                        "backward(x) on an input x that held grad 5", ref={"labels": {0: "x"}}))
        # a long chain that reuses x at every step: v = sin(v + x) - x**2, 60 times
        steps: list = [("leaf", round(float(rng.uniform(0.1, 0.5)), 3))]
        v = 0
        for _ in range(60):
            steps += [("+", v, 0), ("sin", len(steps)), ("pow", 0, 2), ("neg", len(steps) + 2)]
            steps.append(("+", len(steps) - 3, len(steps) - 1))
            v = len(steps) - 1
        sample = sorted({0, v, *(int(k) for k in rng.choice(v, size=8, replace=False))})
        out.append(Case("one_pass", (steps, [("backward", v)]), "a chain of 60 steps that all reuse x",
                        ref={"labels": {0: "x"}, "check": sample}))
        return out

    def run(self, args, backward, Value):
        steps, actions = args
        nodes = build_graph(Value, steps)
        calls = [0] * len(nodes)
        for k, (step, node) in enumerate(zip(steps, nodes)):
            fn = node._backward
            if step[0] in ("*", "exp", "tanh"):
                fn = _course_rule(step[0], node, [nodes[p] for p in _parents(step)])
            node._backward = _counted(fn, calls, k)
        snapshots = []
        for act in actions:
            if act[0] == "backward":
                calls[:] = [0] * len(nodes)
                call(backward, nodes[act[1]])
                snapshots.append({"grad": [v.grad for v in nodes], "data": [v.data for v in nodes],
                                  "calls": list(calls)})
            elif act[0] == "zero":
                for v in nodes:
                    v.grad = 0.0
            elif act[0] == "set_grad":
                nodes[act[1]].grad = act[2]
        return snapshots

    # -- trusted side -------------------------------------------------------------------------
    def judge(self, case, out):
        steps, actions = case.args
        ref = case.ref or {}
        labels = ref.get("labels")
        n = len(steps)
        n_back = sum(a[0] == "backward" for a in actions)
        if not (isinstance(out, list) and len(out) == n_back and all(
                isinstance(s, dict) and set(s) == {"grad", "data", "calls"}
                and all(isinstance(s[k], list) and len(s[k]) == n for k in s) for s in out)):
            _fail("type", f"{case.label}: the test could not read the graph back")
        vals, partials = _forward(steps)
        leaf = [s[0] == "leaf" for s in steps]
        state = [0.0] * n
        adjoints: dict[int, dict[int, float]] = {}
        k_back = 0
        for act in actions:
            if act[0] == "zero":
                state = [0.0] * n
            elif act[0] == "set_grad":
                state[act[1]] = float(act[2])
            else:
                r = act[1]
                anc = _ancestors(steps, r)
                check = anc if "check" not in ref else set(ref["check"]) & anc
                if r not in adjoints:
                    adjoints[r] = {v: _adjoint(partials, r, v) for v in check}
                G = adjoints[r]
                new = list(state)
                for v in anc:
                    new[v] = state[v] + G.get(v, 0.0) if leaf[v] else G.get(v, 0.0)
                k_back += 1
                what = f"{case.label}, after the {_ordinal(k_back)} backward({_label(steps, r, labels)})" \
                    if n_back > 1 else case.label
                self._check_snapshot(out[k_back - 1], steps, vals, partials, state, new, G, anc, check, r, what,
                                     labels, first=(k_back == 1))
                state = new

    def _check_snapshot(self, snap, steps, vals, partials, before, expected, G, anc, check, r, what, labels,
                        first):
        def name(k: int) -> str:
            return _label(steps, k, labels)

        leaf = [s[0] == "leaf" for s in steps]
        grads, datas, calls = snap["grad"], snap["data"], snap["calls"]
        for k, g in enumerate(grads):
            if not _is_number(g):
                _fail("type", f"{what}: {name(k)}.grad is a {type_name(g)}, not a number")
        for k, d in enumerate(datas):
            if not (_is_number(d) and math.isclose(float(d), vals[k], rel_tol=1e-12, abs_tol=1e-300)):
                _fail("side_effect", f"{what}: {name(k)}.data changed: backward changes grads only")
        for k, c in enumerate(calls):
            if not leaf[k] and isinstance(c, int) and c > 1:
                _fail("known", f"{what}: the _backward of {name(k)} ran {c} times: {self.hint('once')}")
        g = [float(x) for x in grads]
        scale = 1.0 + max((abs(x) for x in expected), default=0.0)
        for k in range(len(steps)):
            if k not in anc and not _close(g[k], before[k], scale):
                _fail("entries", f"{what}: {name(k)}.grad changed from {_num(before[k])} to {_num(g[k])}, but it is "
                                 "not part of the graph that ends at the root")
        bad = [k for k in sorted(check, key=lambda k: (k != r, not leaf[k], k)) if not _close(g[k], expected[k], scale)]
        if not bad:
            return
        k = bad[0]
        msg = f"{what}: {name(k)}.grad is {_num(g[k])}, expected {_num(expected[k])}"

        def matches(alt) -> bool:
            return all(_close(g[v], alt[v], scale) for v in check)

        if leaf[r]:
            if _close(g[r], 1.0, scale) and not _close(expected[r], 1.0, scale):
                _fail("known", f"{msg}: {self.hint('seed_add')}")
        else:
            no_reset = _reverse_from(before, partials, anc, r)       # the pass run on stale interior grads
            if matches(no_reset) and not matches(expected):
                _fail("known", f"{msg}: {self.hint('interior_reset')}")
            reset_leaves = [G.get(v, 0.0) if v in anc else before[v] for v in range(len(steps))]
            if matches(reset_leaves) and not matches(expected):
                _fail("known", f"{msg}: {self.hint('leaves_accumulate')}")
        if all(_close(g[v], before[v], scale) or _close(g[v], 0.0, scale) for v in check if v != r):
            _fail("known", f"{msg}: {self.hint('seed')}")
        if first and _close(g[r], expected[r], scale):
            _fail("known", f"{msg}: {self.hint('order')}")
        _fail("entries", msg)
