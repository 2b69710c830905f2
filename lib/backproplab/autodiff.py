r"""A scalar reverse-mode automatic differentiation engine: the reference of notebook 02.

A :class:`Value` holds a number (``data``), its adjoint $\bar v = \partial\,\mathrm{root} / \partial v$
(``grad``: the derivative of the graph's last node, its *root*, with respect to this node; in
training the root is the cost $C$), and the graph that produced it: its parents (``prev``) and a
``_backward`` closure that **adds** $\frac{\partial\, out}{\partial x} \cdot$ ``out.grad``
into each parent's ``grad``. Adding (not assigning) is what makes a node used twice
receive the sum of both contributions (the multivariate chain rule).

:meth:`Value.backward` sorts the graph topologically (:func:`topological_sort`, every
node after the nodes it was computed from, with an explicit stack: no recursion, so graphs deeper
than Python's recursion limit of 1000 calls work) and runs the closures from the root back, each
node's once.

Calling ``backward()`` a second time: the gradients of the graph's *interior* nodes are
recomputed from zero on every call, while the gradients of its *leaves* (the Values you
created yourself) accumulate across calls, as in PyTorch. So two calls without
:meth:`Value.zero_grad` in between leave every leaf with **twice** its gradient; call
``out.zero_grad()`` first to get the same gradients again.

Example::

    x, y = Value(2.0), Value(-1.0)
    out = x * y + x.exp()       # x is used twice
    out.backward()
    x.grad                      # y + e^x
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ._guard import protected

__all__ = [
    "Value",
    "add_backward",
    "exp_backward",
    "log_backward",
    "mul_backward",
    "pow_backward",
    "relu_backward",
    "sigmoid_backward",
    "tanh_backward",
    "topological_sort",
]

Number = int | float


class Value:
    """A scalar in a computational graph. ``Value(data)`` makes a leaf."""

    __slots__ = ("_backward", "data", "grad", "label", "op", "prev")

    def __init__(self, data: Number, prev: tuple[Value, ...] = (), op: str = "", label: str = "") -> None:
        if isinstance(data, Value):
            raise TypeError("Value(data) needs a number, got a Value (use it directly)")
        if not isinstance(data, (int, float)) or isinstance(data, bool):
            try:
                data = float(data)  # numpy scalars
            except (TypeError, ValueError) as exc:
                raise TypeError(f"Value(data) needs a real number, got {type(data).__name__}") from exc
        self.data = float(data)
        self.grad = 0.0
        self.prev = prev
        self.op = op
        self.label = label
        self._backward: Callable[[], None] = lambda: None

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def _wrap(other) -> Value:
        return other if isinstance(other, Value) else Value(other)

    # ---- arithmetic -------------------------------------------------------------
    def __add__(self, other) -> Value:
        other = self._wrap(other)
        out = Value(self.data + other.data, (self, other), "+")
        out._backward = lambda: add_backward(self, other, out)
        return out

    def __mul__(self, other) -> Value:
        other = self._wrap(other)
        out = Value(self.data * other.data, (self, other), "*")
        out._backward = lambda: mul_backward(self, other, out)
        return out

    def __pow__(self, exponent) -> Value:
        if isinstance(exponent, Value):
            # x^y = exp(y log x), for x > 0
            return (exponent * self.log()).exp()
        if not isinstance(exponent, (int, float)):
            raise TypeError(f"exponent must be a number or a Value, got {type(exponent).__name__}")
        if self.data < 0 and float(exponent) != int(exponent):
            raise ValueError(f"a negative number ({self.data:.6g}) to the non-integer power {exponent}")
        if self.data == 0 and exponent < 1:
            raise ValueError(f"0 to the power {exponent} has no derivative (division by zero)")
        out = Value(self.data**exponent, (self,), f"**{exponent}")
        out._backward = lambda: pow_backward(self, exponent, out)
        return out

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other) -> Value:
        return self + (-self._wrap(other))

    def __truediv__(self, other) -> Value:
        return self * self._wrap(other) ** -1

    def __radd__(self, other) -> Value:
        return self + other

    def __rmul__(self, other) -> Value:
        return self * other

    def __rsub__(self, other) -> Value:
        return self._wrap(other) - self

    def __rtruediv__(self, other) -> Value:
        return self._wrap(other) / self

    def __rpow__(self, base) -> Value:
        return self._wrap(base) ** self

    # ---- functions --------------------------------------------------------------
    def exp(self) -> Value:
        r"""$e^x$."""
        out = Value(math.exp(self.data), (self,), "exp")
        out._backward = lambda: exp_backward(self, out)
        return out

    def log(self) -> Value:
        r"""$\log x$, for x > 0 (a ``ValueError`` otherwise)."""
        if self.data <= 0:
            raise ValueError(f"log of a non-positive number ({self.data:.6g})")
        out = Value(math.log(self.data), (self,), "log")
        out._backward = lambda: log_backward(self, out)
        return out

    def tanh(self) -> Value:
        r"""$\tanh x$."""
        out = Value(math.tanh(self.data), (self,), "tanh")
        out._backward = lambda: tanh_backward(self, out)
        return out

    def sigmoid(self) -> Value:
        r"""$\sigma(x) = 1/(1 + e^{-x})$, without overflow."""
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, (self,), "sigmoid")
        out._backward = lambda: sigmoid_backward(self, out)
        return out

    def relu(self) -> Value:
        r"""$\max(0, x)$, subgradient 0 at 0."""
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")
        out._backward = lambda: relu_backward(self, out)
        return out

    # ---- the reverse sweep ------------------------------------------------------
    @protected
    def backward(self) -> None:
        r"""Set ``grad`` of every node to $\partial\, \mathrm{self} / \partial\, \mathrm{node}$, in reverse topological order.

        Interior nodes are reset to 0 first; leaves accumulate (see the module docstring).
        """
        order = topological_sort(self)
        for v in order:
            if v.prev:
                v.grad = 0.0
        self.grad += 1.0
        for v in reversed(order):
            v._backward()

    def zero_grad(self) -> None:
        """Set ``grad = 0`` on every node of the graph that ends here (leaves included)."""
        for v in topological_sort(self):
            v.grad = 0.0


@protected
def topological_sort(root: Value) -> list[Value]:
    """Every node of the graph that ends at ``root``, each after all the nodes it was computed
    from; ``root`` is last. Each node appears once, however often it is reused."""
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:  # iterative depth-first search: deep graphs do not hit the recursion limit
        v, done = stack.pop()
        if done:
            order.append(v)
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        stack.append((v, True))
        for p in reversed(v.prev):
            if id(p) not in seen:
                stack.append((p, False))
    return order


# ---- backward rules: out.grad flows into the inputs, added ---------------------------
@protected
def add_backward(a: Value, b: Value, out: Value) -> None:
    r"""$out = a + b$: $\bar a \mathrel{+}= \bar{out}$, $\bar b \mathrel{+}= \bar{out}$."""
    a.grad += out.grad
    b.grad += out.grad


@protected
def mul_backward(a: Value, b: Value, out: Value) -> None:
    r"""$out = a b$: $\bar a \mathrel{+}= b\,\bar{out}$, $\bar b \mathrel{+}= a\,\bar{out}$."""
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad


@protected
def pow_backward(a: Value, exponent: Number, out: Value) -> None:
    r"""$out = a^n$: $\bar a \mathrel{+}= n a^{n-1} \bar{out}$."""
    a.grad += exponent * a.data ** (exponent - 1) * out.grad


@protected
def exp_backward(a: Value, out: Value) -> None:
    r"""$out = e^a$: $\bar a \mathrel{+}= e^a \bar{out}$ (which is ``out.data``)."""
    a.grad += out.data * out.grad


@protected
def log_backward(a: Value, out: Value) -> None:
    r"""$out = \log a$: $\bar a \mathrel{+}= \bar{out} / a$."""
    a.grad += out.grad / a.data


@protected
def tanh_backward(a: Value, out: Value) -> None:
    r"""$out = \tanh a$: $\bar a \mathrel{+}= (1 - \tanh^2 a)\, \bar{out}$."""
    a.grad += (1.0 - out.data**2) * out.grad


@protected
def sigmoid_backward(a: Value, out: Value) -> None:
    r"""$out = \sigma(a)$: $\bar a \mathrel{+}= \sigma(a)(1 - \sigma(a))\, \bar{out}$."""
    a.grad += out.data * (1.0 - out.data) * out.grad


@protected
def relu_backward(a: Value, out: Value) -> None:
    r"""$out = \max(0, a)$: $\bar a \mathrel{+}= \mathbb{1}[a > 0]\, \bar{out}$."""
    a.grad += (1.0 if a.data > 0 else 0.0) * out.grad
