"""Checks of notebook 02 (backproplab.exercises.nb02), without a kernel.

The solution's functions and the notebook's locked ``Value`` class are written out below; they
must pass every exercise (visible and hidden cases, several seeds), each hint must fire on the
mistake it names, and each exercise's parts must sum to its test cell's points.
"""

from __future__ import annotations

import pytest

from . import exercise_harness as harness

AID = "02-computational-graphs"
IDS = ("ex02_mul_backward", "ex02_exp_tanh_backward", "ex02_topological_sort", "ex02_backward")

VALUE = '''
import math

class Value:
    def __init__(self, data, prev=(), op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self.prev = tuple(prev)
        self.op = op
        self.label = label
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")
        out._backward = lambda: mul_backward(self, other, out)
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")
        out._backward = lambda: exp_backward(self, out)
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")
        out._backward = lambda: tanh_backward(self, out)
        return out

    def __neg__(self):
        out = Value(-self.data, (self,), "neg")
        def _backward():
            self.grad += -1.0 * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        out = Value(self.data ** k, (self,), f"**{k}")
        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def sin(self):
        out = Value(math.sin(self.data), (self,), "sin")
        def _backward():
            self.grad += math.cos(self.data) * out.grad
        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other
'''

SOLUTION = {
    "ex02_mul_backward": '''
def mul_backward(a, b, out):
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad
''',
    "ex02_exp_tanh_backward": '''
def exp_backward(a, out):
    a.grad += out.data * out.grad

def tanh_backward(a, out):
    a.grad += (1.0 - out.data ** 2) * out.grad
''',
    "ex02_topological_sort": '''
def topological_sort(root):
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        v, parents_done = stack.pop()
        if parents_done:
            order.append(v)
        elif v not in visited:
            visited.add(v)
            stack.append((v, True))
            for p in v.prev:
                if p not in visited:
                    stack.append((p, False))
    return order
''',
    "ex02_backward": '''
def backward(root):
    order = topological_sort(root)
    for v in order:
        if v.prev:
            v.grad = 0.0
    root.grad += 1.0
    for v in reversed(order):
        v._backward()
''',
}

# one mistake per hint: (exercise, hint key, replacement code)
MISTAKES = [
    ("ex02_mul_backward", "own_operand", ("def mul_backward(a, b, out):\n a.grad += a.data * out.grad\n"
                                          " b.grad += b.data * out.grad")),
    ("ex02_mul_backward", "out_data", ("def mul_backward(a, b, out):\n a.grad += out.data * out.grad\n"
                                       " b.grad += out.data * out.grad")),
    ("ex02_mul_backward", "upstream", "def mul_backward(a, b, out):\n a.grad += b.data\n b.grad += a.data"),
    ("ex02_mul_backward", "accumulate", ("def mul_backward(a, b, out):\n a.grad = b.data * out.grad\n"
                                         " b.grad = a.data * out.grad")),
    ("ex02_mul_backward", "reuse", ("def mul_backward(a, b, out):\n a.grad = a.grad + b.data * out.grad\n"
                                    " if b is not a:\n  b.grad += a.data * out.grad")),
    ("ex02_exp_tanh_backward", "exp_input", "def exp_backward(a, out):\n a.grad += a.data * out.grad"),
    ("ex02_exp_tanh_backward", "exp_upstream", "def exp_backward(a, out):\n a.grad += out.data"),
    ("ex02_exp_tanh_backward", "exp_accumulate", "def exp_backward(a, out):\n a.grad = out.data * out.grad"),
    ("ex02_exp_tanh_backward", "tanh_input", "def tanh_backward(a, out):\n a.grad += (1 - a.data**2) * out.grad"),
    ("ex02_exp_tanh_backward", "tanh_not_squared", "def tanh_backward(a, out):\n a.grad += (1 - out.data) * out.grad"),
    ("ex02_exp_tanh_backward", "tanh_upstream", "def tanh_backward(a, out):\n a.grad += 1 - out.data**2"),
    ("ex02_exp_tanh_backward", "tanh_accumulate", "def tanh_backward(a, out):\n a.grad = (1 - out.data**2) * out.grad"),
    ("ex02_topological_sort", "duplicate", '''
def topological_sort(root):
    order = []
    def visit(v):
        for p in v.prev:
            visit(p)
        order.append(v)
    visit(root)
    return order
'''),
    ("ex02_topological_sort", "missing", "def topological_sort(root):\n return list(root.prev) + [root]"),
    ("ex02_topological_sort", "reversed", SOLUTION["ex02_topological_sort"] + "\n_ts = topological_sort\n"
                                          "def topological_sort(root):\n return _ts(root)[::-1]"),
    ("ex02_topological_sort", "parent_after", '''
def topological_sort(root):
    order, seen, queue = [], {root}, [root]
    while queue:
        v = queue.pop(0)
        order.append(v)
        for p in v.prev:
            if p not in seen:
                seen.add(p)
                queue.append(p)
    return order[::-1]
'''),
    ("ex02_topological_sort", "recursion", '''
def topological_sort(root):
    order, visited = [], set()
    def visit(v):
        if v not in visited:
            visited.add(v)
            for p in v.prev:
                visit(p)
            order.append(v)
    visit(root)
    return order
'''),
    ("ex02_topological_sort", "fresh_state", SOLUTION["ex02_topological_sort"].replace(
        "order, visited, stack = [], set(), [(root, False)]", "order, visited, stack = [], _VISITED, [(root, False)]")
     + "\n_VISITED = set()\n"),
    ("ex02_backward", "seed", SOLUTION["ex02_backward"].replace("root.grad += 1.0", "pass")),
    ("ex02_backward", "order", SOLUTION["ex02_backward"].replace("reversed(order)", "order")),
    ("ex02_backward", "once", SOLUTION["ex02_backward"].replace("v._backward()", "v._backward()\n        "
                                                                "for p in v.prev:\n            p._backward()")),
    ("ex02_backward", "interior_reset", SOLUTION["ex02_backward"].replace("v.grad = 0.0", "pass")),
    ("ex02_backward", "leaves_accumulate", SOLUTION["ex02_backward"].replace("if v.prev:", "if True:")),
    ("ex02_backward", "seed_add", SOLUTION["ex02_backward"].replace("root.grad += 1.0", "root.grad = 1.0")),
]


def namespace(replace: dict[str, str] | None = None) -> dict:
    """The notebook's ``Value``, each solution function, and each mistake on top of its solution."""
    replace = replace or {}
    cells = [VALUE]
    for ex_id, code in SOLUTION.items():
        cells += [code, replace.get(ex_id)]
    return harness.run_cells({"__name__": "__notebook__"}, *cells)


def verdict(ex_id: str, seed: int | None, replace: dict[str, str] | None = None):
    return harness.verdict(ex_id, namespace(replace), seed)


# the common tests (tests/lib/exercise_harness.py): test_the_solution_passes_visible_and_hidden_cases,
#   test_hidden_cases_run_well_under_five_seconds, test_each_hint_fires_on_its_mistake,
#   test_every_hint_has_a_mistake, test_parts_sum_to_the_test_cells_points
globals().update(harness.source_tests(AID, IDS, verdict, MISTAKES))


def test_partial_credit():
    # a recursive sort keeps the small graphs' points; a pass that never resets keeps the first pass's
    recursive = dict(MISTAKES_BY_KEY["recursion"])
    v = verdict("ex02_topological_sort", 0, recursive)
    assert {p.name: p.earned for p in v.parts} == {"order": 2, "deep": 0}
    v = verdict("ex02_backward", 0, dict(MISTAKES_BY_KEY["interior_reset"]))
    assert {p.name: p.earned for p in v.parts} == {"one_pass": 2, "repeat": 0}
    v = verdict("ex02_exp_tanh_backward", 0, dict(MISTAKES_BY_KEY["tanh_input"]))
    assert {p.name: p.earned for p in v.parts} == {"exp": 1, "tanh": 0}


MISTAKES_BY_KEY = {key: [(ex_id, code)] for ex_id, key, code in MISTAKES}


def test_side_effects_are_checked_for_every_rule():
    for ex_id, code in [
        ("ex02_mul_backward", SOLUTION["ex02_mul_backward"] + "\n_m = mul_backward\n"
                              "def mul_backward(a, b, out):\n _m(a, b, out)\n out.grad = 0.0"),
        ("ex02_exp_tanh_backward", SOLUTION["ex02_exp_tanh_backward"] + "\n_e = exp_backward\n"
                                   "def exp_backward(a, out):\n _e(a, out)\n a.data = 0.0"),
        ("ex02_exp_tanh_backward", SOLUTION["ex02_exp_tanh_backward"] + "\n_t = tanh_backward\n"
                                   "def tanh_backward(a, out):\n _t(a, out)\n out.grad = 1.0"),
        ("ex02_backward", SOLUTION["ex02_backward"] + "\n_b = backward\n"
                          "def backward(root):\n _b(root)\n root.data = 0.0"),
    ]:
        v = verdict(ex_id, 0, {ex_id: code})
        assert v.kind == "side_effect", (ex_id, v.message)


def test_a_grad_that_is_a_value_gets_a_readable_message():
    v = verdict("ex02_mul_backward", None, {"ex02_mul_backward": "def mul_backward(a, b, out):\n a.grad += b * out.grad"
                                                                 "\n b.grad += a * out.grad"})
    assert "not a number" in v.message and "Value" in v.message


@pytest.mark.parametrize("ex_id", IDS)
def test_hidden_cases_can_be_drawn_from_any_seed(ex_id):
    harness.assert_cases_from_any_seed(ex_id, 60)   # e.g. a random graph whose exp(exp(...)) overflows is drawn again


def test_a_check_that_calls_a_failed_answer_points_back_to_it():
    # Validate runs the test cells in order: backward's check, failing because it calls a wrong
    # topological_sort, says to fix that first; once topological_sort passes, the pointer goes
    from backproplab.exercises import _core, check
    from backproplab.exercises import get as get_exercise
    from backproplab.grading import GradingError

    _core._outcomes.clear()
    wrong = namespace({"ex02_topological_sort": SOLUTION["ex02_topological_sort"] + "\n_ts = topological_sort\n"
                                                "def topological_sort(root):\n return _ts(root)[::-1]"})
    def run(ex_id, ns):
        check(ex_id, *(ns[n] for n in get_exercise(ex_id).names))

    with pytest.raises(GradingError):
        run("ex02_topological_sort", wrong)
    with pytest.raises(GradingError, match="calls your answer to ex02_topological_sort, which failed its own test"):
        run("ex02_backward", wrong)
    # the sort fixed, backward wrong on its own: its message is its own
    right = namespace(dict(MISTAKES_BY_KEY["interior_reset"]))
    run("ex02_topological_sort", right)
    with pytest.raises(GradingError) as err:
        run("ex02_backward", right)
    assert "calls your answer" not in str(err.value)
    _core._outcomes.clear()
