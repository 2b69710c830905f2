r"""Data that crosses the boundary between a student's kernel and the grader.

At grading time a student's kernel runs the student's functions on test inputs and hands
back what they returned; the grader, in a trusted process outside the sandbox, rebuilds
those values and judges them. Only **data** crosses, in JSON text that cannot run code:

- ``None``, ``bool``, ``int``, ``float`` (NaN and infinities included), ``str``;
- ``list``, ``tuple`` and ``dict`` (string or integer keys) of data;
- numpy arrays and scalars of numeric or boolean dtype (raw bytes in base64; never pickle);
- SymPy expressions and matrices, as trees whose every node is looked up in an allow-list
  of SymPy classes and rebuilt by calling that class (never ``eval`` or ``sympify`` of text);
- anything else becomes :class:`Opaque`, which records only the type's name, so a judge
  can say "got a Foo" and the value counts as wrong.

:func:`loads` is the trusted side's decoder. It caps the text's size, the number of nodes,
the depth and each array's size, and raises :class:`WireError` (one line) on anything it
does not accept. :func:`dumps` is the encoder; in a student's kernel it can be replaced, so
nothing it writes is believed beyond what :func:`loads` rebuilds.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

__all__ = ["LIMITS", "Opaque", "WireError", "decode", "dumps", "encode", "loads"]


@dataclass(frozen=True)
class Limits:
    """Caps on what :func:`loads` accepts."""

    text_bytes: int = 8 * 1024 * 1024      # the JSON text of one value
    nodes: int = 200_000                   # containers, leaves and SymPy nodes together
    depth: int = 200                       # nesting of containers and SymPy trees
    array_items: int = 2_000_000           # entries of one array
    string_chars: int = 100_000            # one string
    int_digits: int = 400                  # one integer


LIMITS = Limits()


class WireError(ValueError):
    """A value that cannot be rebuilt (too large, malformed, or not allowed); ``str()`` is one line."""


class Opaque:
    """A value that was not data: only its type's name crossed."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = str(type_name)[:80]

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"

    def __eq__(self, other) -> bool:
        return isinstance(other, Opaque) and other.type_name == self.type_name

    def __hash__(self) -> int:
        return hash(("Opaque", self.type_name))


# ------------------------------------------------------------------------------------------
# numpy
_DTYPES = {np.dtype(t).str: np.dtype(t) for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.complex64, np.complex128)}


def _dtype(code) -> np.dtype:
    if not isinstance(code, str) or code not in _DTYPES:
        raise WireError(f"array dtype {str(code)[:20]!r} is not accepted")
    return _DTYPES[code]


# ------------------------------------------------------------------------------------------
# SymPy: the allow-list. Each head names one class; the decoder calls only these.
_FUNCTIONS: dict[str, Callable] = {f.__name__: f for f in (
    sp.exp, sp.log, sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc, sp.asin, sp.acos, sp.atan, sp.atan2,
    sp.sinh, sp.cosh, sp.tanh, sp.coth, sp.asinh, sp.acosh, sp.atanh, sp.Abs, sp.sign, sp.Max, sp.Min,
    sp.Heaviside, sp.re, sp.im, sp.floor, sp.ceiling, sp.erf, sp.DiracDelta)}
_OPS = {"Add": sp.Add, "Mul": sp.Mul, "Pow": sp.Pow}
_RELS = {"<": sp.StrictLessThan, "<=": sp.LessThan, ">": sp.StrictGreaterThan, ">=": sp.GreaterThan,
         "==": sp.Eq, "!=": sp.Ne}
_BOOLS = {"And": sp.And, "Or": sp.Or, "Not": sp.Not}
_CONSTS = {"pi": sp.pi, "E": sp.E, "I": sp.I, "oo": sp.oo, "-oo": -sp.oo, "zoo": sp.zoo, "nan": sp.nan,
           "true": sp.true, "false": sp.false, "1/2": sp.S.Half}
_ASSUMPTIONS = ("real", "positive", "negative", "nonnegative", "nonpositive", "nonzero", "integer",
                "finite", "commutative")
_NAME = re.compile(r"^[^\x00-\x1f]{1,80}$")


def _sym_assumptions(s: sp.Symbol) -> dict:
    given = getattr(s, "_assumptions_orig", None) or s.assumptions0
    return {k: bool(v) for k, v in given.items() if k in _ASSUMPTIONS and v is not None}


def _encode_sympy(e, depth: int = 0):
    """A SymPy object as a JSON tree; classes outside the allow-list become ``["?", name]``."""
    if depth > LIMITS.depth:
        raise WireError("expression nested too deeply")
    t = type(e)
    if isinstance(e, sp.Dummy):
        return ["Dummy", e.name, e.dummy_index, _sym_assumptions(e)]
    if t is sp.Symbol:
        return ["Symbol", e.name, _sym_assumptions(e)]
    for name, c in _CONSTS.items():
        if e is c:
            return ["Const", name]
    if isinstance(e, sp.Integer):
        return ["Integer", str(int(e))]
    if isinstance(e, sp.Rational):
        return ["Rational", str(int(e.p)), str(int(e.q))]
    if isinstance(e, sp.Float):
        sign, man, exp, _bc = e._mpf_
        return ["Float", int(sign), str(int(man)), int(exp), int(e._prec)]
    args = [_encode_sympy(a, depth + 1) for a in e.args] if isinstance(e, sp.Basic) else []
    if t in _OPS.values():
        return [t.__name__, *args]
    if t in _FUNCTIONS.values():
        return ["Fn", t.__name__, *args]
    if isinstance(e, sp.core.function.AppliedUndef):
        return ["Undef", t.__name__, *args]
    if t is sp.Lambda:
        return ["Lambda", _encode_sympy(sp.Tuple(*e.signature), depth + 1), _encode_sympy(e.expr, depth + 1)]
    if t is sp.Tuple:
        return ["Tuple", *args]
    if t is sp.Piecewise:
        return ["Piecewise", *[[_encode_sympy(p.expr, depth + 1), _encode_sympy(p.cond, depth + 1)] for p in e.args]]
    for op, cls in _RELS.items():
        if t is cls:
            return ["Rel", op, *args]
    for name, cls in _BOOLS.items():
        if t is cls:
            return ["Bool", name, *args]
    return ["?", t.__name__]


class _SympyDecoder:
    def __init__(self, budget: list[int]) -> None:
        self.budget = budget
        self.dummies: dict[int, sp.Dummy] = {}

    def __call__(self, node, depth: int = 0):
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise WireError("too many nodes")
        if depth > LIMITS.depth:
            raise WireError("expression nested too deeply")
        if not isinstance(node, list) or not node or not isinstance(node[0], str):
            raise WireError("malformed expression")
        head, rest = node[0], node[1:]

        def sub(x):
            return self(x, depth + 1)

        if head == "Symbol":
            name, assumptions = _name(rest[0]), _assume(rest[1] if len(rest) > 1 else {})
            return sp.Symbol(name, **assumptions)
        if head == "Dummy":
            name, idx = _name(rest[0]), _int(rest[1])
            if idx not in self.dummies:
                self.dummies[idx] = sp.Dummy(name, **_assume(rest[2] if len(rest) > 2 else {}))
            return self.dummies[idx]
        if head == "Const":
            if rest[0] not in _CONSTS:
                raise WireError(f"constant {str(rest[0])[:20]!r} is not accepted")
            return _CONSTS[rest[0]]
        if head == "Integer":
            return sp.Integer(_int(rest[0]))
        if head == "Rational":
            q = _int(rest[1])
            if q == 0:
                raise WireError("a rational with denominator 0")
            return sp.Rational(_int(rest[0]), q)
        if head == "Float":
            sign, man, exp, prec = _int(rest[0]), _int(rest[1]), _int(rest[2]), _int(rest[3])
            if sign not in (0, 1) or man < 0 or not (1 <= prec <= 2000) or abs(exp) > 1_000_000:
                raise WireError("malformed float")
            from mpmath.libmp import from_man_exp

            return sp.Float._new(from_man_exp(-man if sign else man, exp, prec), prec)
        if head in _OPS:
            return _OPS[head](*[sub(a) for a in rest])
        if head == "Fn":
            fn = _FUNCTIONS.get(rest[0]) if isinstance(rest[0], str) else None
            if fn is None:
                raise WireError(f"function {str(rest[0])[:30]!r} is not accepted")
            return fn(*[sub(a) for a in rest[1:]])
        if head == "Undef":
            return sp.Function(_name(rest[0]))(*[sub(a) for a in rest[1:]])
        if head == "Lambda":
            sig = sub(rest[0])
            if not isinstance(sig, sp.Tuple) or not all(isinstance(s, sp.Symbol) for s in sig):
                raise WireError("malformed Lambda")
            return sp.Lambda(tuple(sig), sub(rest[1]))
        if head == "Tuple":
            return sp.Tuple(*[sub(a) for a in rest])
        if head == "Piecewise":
            pairs = []
            for p in rest:
                if not isinstance(p, list) or len(p) != 2:
                    raise WireError("malformed Piecewise")
                pairs.append((sub(p[0]), sub(p[1])))
            return sp.Piecewise(*pairs)
        if head == "Rel":
            cls = _RELS.get(rest[0]) if isinstance(rest[0], str) else None
            if cls is None or len(rest) != 3:
                raise WireError("malformed relation")
            return cls(sub(rest[1]), sub(rest[2]))
        if head == "Bool":
            cls = _BOOLS.get(rest[0]) if isinstance(rest[0], str) else None
            if cls is None:
                raise WireError("malformed boolean")
            return cls(*[sub(a) for a in rest[1:]])
        if head == "?":
            return Opaque(f"SymPy {rest[0] if rest else '?'}")
        raise WireError(f"SymPy node {head[:30]!r} is not accepted")


def _name(x) -> str:
    if not isinstance(x, str) or not _NAME.match(x):
        raise WireError("malformed symbol name")
    return x


def _int(x) -> int:
    if isinstance(x, bool):
        raise WireError("malformed integer")
    if isinstance(x, int):
        return x
    if isinstance(x, str) and re.fullmatch(rf"-?\d{{1,{LIMITS.int_digits}}}", x):
        return int(x)
    raise WireError("malformed integer")


def _assume(d) -> dict:
    if not isinstance(d, dict) or not all(k in _ASSUMPTIONS and isinstance(v, bool) for k, v in d.items()):
        raise WireError("malformed symbol assumptions")
    return dict(d)


# ------------------------------------------------------------------------------------------
def encode(x, depth: int = 0):
    """``x`` as a JSON-ready tree (see the module docstring). Never raises for odd objects:
    they become ``{"opaque": type name}``."""
    if depth > LIMITS.depth:
        return {"opaque": "a structure nested too deeply"}
    if x is None or isinstance(x, (bool, str)):
        return x
    if type(x) is int:
        return x if abs(x) < 2**63 else {"bigint": str(x)}
    if type(x) is float:
        return x if math.isfinite(x) else {"float": repr(x)}
    if isinstance(x, np.ndarray):
        if x.dtype.str not in _DTYPES:
            return {"opaque": f"numpy array of dtype {x.dtype}"}
        return {"nd": [x.dtype.str, list(x.shape), base64.b64encode(x.tobytes(order="C")).decode()]}
    if isinstance(x, np.generic) and not isinstance(x, np.object_):
        if x.dtype.str not in _DTYPES:
            return {"opaque": f"numpy {type(x).__name__}"}
        return {"npscalar": [x.dtype.str, base64.b64encode(np.asarray(x).tobytes()).decode()]}
    if type(x) in (list, tuple):
        return {type(x).__name__: [encode(v, depth + 1) for v in x]}
    if type(x) is dict:
        if all(type(k) in (str, int) for k in x):
            return {"dict": [[k, encode(v, depth + 1)] for k, v in x.items()]}
        return {"opaque": "dict with keys that are not strings or integers"}
    if isinstance(x, sp.MatrixBase) and type(x) in (sp.MutableDenseMatrix, sp.ImmutableDenseMatrix):
        return {"spmatrix": [list(x.shape), [_encode_sympy(v, depth + 1) for v in x]]}
    if isinstance(x, sp.Basic):
        try:
            return {"sympy": _encode_sympy(x, depth)}
        except (WireError, RecursionError):
            return {"opaque": "a SymPy expression too large to grade"}
    return {"opaque": type(x).__name__}


def dumps(x) -> str:
    """:func:`encode`, as JSON text."""
    return json.dumps(encode(x), separators=(",", ":"), allow_nan=True)


def decode(tree, *, _budget: list[int] | None = None, _depth: int = 0):
    """Rebuild a value from :func:`encode`'s tree, allow-listed and capped; :class:`WireError` otherwise."""
    budget = _budget if _budget is not None else [LIMITS.nodes]
    budget[0] -= 1
    if budget[0] < 0:
        raise WireError("too many values")
    if _depth > LIMITS.depth:
        raise WireError("nested too deeply")
    if tree is None or isinstance(tree, bool):
        return tree
    if isinstance(tree, int):
        return tree
    if isinstance(tree, float):
        return tree
    if isinstance(tree, str):
        if len(tree) > LIMITS.string_chars:
            raise WireError("a string too long")
        return tree
    if not isinstance(tree, dict) or len(tree) != 1:
        raise WireError("malformed value")
    (tag, v), = tree.items()

    def sub(x):
        return decode(x, _budget=budget, _depth=_depth + 1)

    if tag in ("list", "tuple"):
        if not isinstance(v, list):
            raise WireError("malformed list")
        items = [sub(i) for i in v]
        return items if tag == "list" else tuple(items)
    if tag == "dict":
        if not isinstance(v, list) or not all(isinstance(p, list) and len(p) == 2 and type(p[0]) in (str, int)
                                              for p in v):
            raise WireError("malformed dict")
        return {p[0]: sub(p[1]) for p in v}
    if tag == "bigint":
        return _int(v)
    if tag == "float":
        if v not in ("nan", "inf", "-inf"):
            raise WireError("malformed float")
        return float(v)
    if tag == "nd":
        if not (isinstance(v, list) and len(v) == 3 and isinstance(v[1], list) and isinstance(v[2], str)):
            raise WireError("malformed array")
        dt = _dtype(v[0])
        shape = v[1]
        if len(shape) > 32 or not all(type(n) is int and 0 <= n for n in shape):
            raise WireError("malformed array shape")
        n = math.prod(shape)
        if n > LIMITS.array_items:
            raise WireError(f"an array of {n} entries is larger than the {LIMITS.array_items} accepted")
        try:
            raw = base64.b64decode(v[2], validate=True)
        except ValueError:
            raise WireError("malformed array data") from None
        if len(raw) != n * dt.itemsize:
            raise WireError("array data does not match its shape")
        return np.frombuffer(raw, dtype=dt).reshape(shape).copy()
    if tag == "npscalar":
        if not (isinstance(v, list) and len(v) == 2 and isinstance(v[1], str)):
            raise WireError("malformed scalar")
        dt = _dtype(v[0])
        try:
            raw = base64.b64decode(v[1], validate=True)
        except ValueError:
            raise WireError("malformed scalar data") from None
        if len(raw) != dt.itemsize:
            raise WireError("scalar data does not match its dtype")
        return np.frombuffer(raw, dtype=dt)[0]
    if tag == "sympy":
        return _SympyDecoder(budget)(v, _depth)
    if tag == "spmatrix":
        if not (isinstance(v, list) and len(v) == 2 and isinstance(v[0], list) and len(v[0]) == 2
                and all(type(n) is int and 0 <= n <= 10_000 for n in v[0]) and isinstance(v[1], list)):
            raise WireError("malformed matrix")
        r, c = v[0]
        if len(v[1]) != r * c:
            raise WireError("matrix entries do not match its shape")
        dec = _SympyDecoder(budget)
        entries = [dec(e, _depth + 1) for e in v[1]]
        if any(isinstance(e, Opaque) for e in entries):
            return Opaque("SymPy Matrix with entries that are not plain expressions")
        return sp.Matrix(r, c, entries)
    if tag == "opaque":
        return Opaque(v if isinstance(v, str) else "object")
    raise WireError(f"value of kind {str(tag)[:20]!r} is not accepted")


def loads(text: str | bytes):
    """Rebuild a value from :func:`dumps`'s text: the trusted side's only way in."""
    if isinstance(text, bytes):
        if len(text) > LIMITS.text_bytes:
            raise WireError(f"{len(text)} bytes is more than the {LIMITS.text_bytes} accepted")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise WireError("not UTF-8 text") from None
    if not isinstance(text, str):
        raise WireError("not text")
    if len(text) > LIMITS.text_bytes:
        raise WireError(f"{len(text)} characters is more than the {LIMITS.text_bytes} accepted")
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError):
        raise WireError("not valid JSON") from None
    try:
        return decode(tree)
    except RecursionError:
        raise WireError("nested too deeply") from None
    except WireError:
        raise
    except (TypeError, ValueError, ArithmeticError, AttributeError, IndexError) as exc:
        # SymPy refuses a combination of allowed nodes (e.g. a relation of matrices)
        raise WireError(f"cannot rebuild the value ({type(exc).__name__})") from None
