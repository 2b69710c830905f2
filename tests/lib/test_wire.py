"""The boundary codec: data round-trips exactly; anything else is refused or made opaque, never run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp
from backproplab import wire
from backproplab.wire import Opaque, WireError
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

x, y = sp.symbols("x y", real=True)


def rt(v):
    return wire.loads(wire.dumps(v))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(dtype=st.sampled_from([np.float64, np.float32, np.int64, np.bool_, np.complex128]),
                  shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=5)))
def test_arrays_round_trip_bit_for_bit(a):
    b = rt(a)
    assert isinstance(b, np.ndarray) and b.dtype == a.dtype and b.shape == a.shape
    assert a.tobytes() == b.tobytes()


def test_non_contiguous_and_scalars():
    a = np.arange(6.0).reshape(2, 3).T
    assert np.array_equal(rt(a), a)
    assert rt(np.float32(1.5)) == np.float32(1.5) and type(rt(np.float32(1.5))) is np.float32
    assert rt(np.int64(3)) == 3 and type(rt(np.int64(3))) is np.int64


@pytest.mark.parametrize("v", [None, True, 0, -7, 2**70, 1.5, float("inf"), "text ü", [1, [2, (3,)]], (1, "a"),
                               {"a": 1, 2: [3.0]}])
def test_python_data_round_trips_with_types(v):
    assert rt(v) == v and type(rt(v)) is type(v)


def test_nan():
    assert math.isnan(rt(float("nan")))


@pytest.mark.parametrize("e", [
    sp.sin(x**2 + 1) * 2 * x, sp.exp(-x) / (1 + sp.exp(-x))**2, sp.Rational(3, 7) * x, sp.Float("0.1", 40) + y,
    sp.Max(0, x), sp.Heaviside(x), sp.Piecewise((x, x > 0), (0, True)), sp.Lambda(x, sp.tanh(x)),
    sp.Function("f")(x) + 1, sp.pi * sp.I + sp.E, sp.log(1 + x**2), sp.Abs(x) - sp.atanh(y / 2),
])
def test_sympy_expressions_round_trip(e):
    assert rt(e) == e


def test_sympy_matrix_and_dummies():
    d = sp.Dummy("s")
    m = sp.Matrix([[x, d], [d + 1, sp.Rational(1, 2)]])
    got = rt(m)
    assert isinstance(got, sp.MatrixBase) and got.shape == (2, 2)
    assert got[0, 1] == got[1, 0] - 1, "the same Dummy must stay one Dummy"


def test_objects_that_are_not_data_become_opaque():
    class Sneaky(sp.Symbol):
        def __eq__(self, other):
            return True

    assert rt(Sneaky("x")) == Opaque("SymPy Sneaky")
    assert rt(lambda: 1) == Opaque("function")
    assert rt(np.array([object()], dtype=object)) == Opaque("numpy array of dtype object")
    forged = json.dumps({"spmatrix": [[1, 1], [["?", "Sneaky"]]]})
    assert wire.loads(forged) == Opaque("SymPy Matrix with entries that are not plain expressions")
    assert rt(sp.Integral(x, x)) == Opaque("SymPy Integral")


def test_implemented_functions_lose_their_python_code():
    from sympy.utilities.lambdify import implemented_function

    f = implemented_function("f", lambda v: 42)
    got = rt(f(x))
    assert not hasattr(type(got), "_imp_"), "a Python implementation crossed the boundary"


@pytest.mark.parametrize("text,why", [
    ('{"sympy": ["Fn", "eval", ["Integer", "1"]]}', "not accepted"),
    ('{"sympy": ["Symbol", "x", {"__class__": true}]}', "assumptions"),
    ('{"sympy": ["Bogus"]}', "not accepted"),
    ('{"nd": ["|O", [1], "AA=="]}', "dtype"),
    ('{"nd": ["<f8", [1000000000], ""]}', "larger than"),
    ('{"nd": ["<f8", [2], "AAAA"]}', "does not match"),
    ('{"pickle": "gASVAAAA"}', "not accepted"),
    ('{"a": 1, "b": 2}', "malformed"),
    ('[' * 5000 + ']' * 5000, "JSON"),
    ('{"sympy": ["Rational", "1", "0"]}', "denominator"),
    ('{"bigint": "1e999"}', "integer"),
    ("not json", "JSON"),
])
def test_the_decoder_refuses_junk_with_one_line(text, why):
    with pytest.raises(WireError, match=why) as info:
        wire.loads(text)
    assert "\n" not in str(info.value)


def test_size_and_node_caps():
    with pytest.raises(WireError, match="accepted"):
        wire.loads(" " * (wire.LIMITS.text_bytes + 1))
    deep = {"sympy": ["Integer", "1"]}
    tree = deep["sympy"]
    for _ in range(wire.LIMITS.depth + 5):
        tree = ["Add", tree, ["Integer", "1"]]
    with pytest.raises(WireError, match="deeply"):
        wire.loads(json.dumps({"sympy": tree}))
    many = json.dumps({"list": list(range(wire.LIMITS.nodes + 10))})
    with pytest.raises(WireError, match="too many"):
        wire.loads(many)


def test_decoding_never_calls_sympify_or_eval(monkeypatch):
    """SymPy sympifies its own objects internally; no text from the kernel ever reaches sympify."""
    import sys

    mod = sys.modules["sympy.core.sympify"]
    real = mod.sympify

    def guarded(a, *args, **kw):
        if isinstance(a, str):
            raise TypeError(f"sympify was called on text {a!r}")
        return real(a, *args, **kw)

    monkeypatch.setattr(mod, "sympify", guarded)
    monkeypatch.setattr(sp, "sympify", guarded)
    text = wire.dumps(sp.sin(x) + sp.Rational(1, 3) + sp.Symbol("__import__('os').system('x')"))
    assert "system" in str(wire.loads(text))
