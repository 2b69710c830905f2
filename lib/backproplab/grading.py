r"""The checks that the exercises' judges call (see :mod:`backproplab.exercises`).

Every check runs in the fixed order of the exercise contract (type, shape, finite
values, numbers) and, on failure, raises :class:`GradingError` (an
``AssertionError``) whose message is one line naming the likely mistake. On a
correct answer nothing is printed and nothing reaches stderr: nbgrader scores
any stderr output in a test cell as a failure.

A judge compares a student's output (data, back from the kernel) with a reference
from an independent route, and names known mistakes in the exercise's own words::

    def judge(self, case, out):                      # in an Exercise subclass
        dW = reference_dW(*case.args)                # (n_l, n_(l-1)), 1/m applied once
        check_array(out, dW, "dW", batch_size=m,
                    mistakes=[(dW.T, self.hint("transposed"))])

Kernel side, :func:`quietly` runs the student's function (a failure becomes one line
naming the student's own code line) and :func:`forbid` switches the library's own
answer off while it runs.
"""

from __future__ import annotations

import contextlib
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import sympy as sp

from . import _guard
from ._guard import DelegationError
from .diagnose import Diagnosis, diagnose

__all__ = [
    "DelegationError",
    "GradingError",
    "check_array",
    "check_arrays",
    "check_expr",
    "check_expr_at_points",
    "check_scalar",
    "check_sympy_matrix",
    "forbid",
    "last_diagnoses",
    "quietly",
    "type_name",
]


class GradingError(AssertionError):
    """A test failed; ``str()`` is one line; ``kind`` is the diagnosis tag."""

    def __init__(self, message: str, kind: str = "entries") -> None:
        super().__init__(message)
        self.kind = kind

    def _render_traceback_(self) -> list[str]:
        """IPython shows only the diagnosis, not the frames of the checks (nor test-cell code)."""
        return [f"\x1b[0;31mGradingError\x1b[0m: {self}"]


# The diagnoses of failed checks in this kernel, newest last. The class report of
# the grading pipeline reads them to count the most common mistakes.
_LOG: list[tuple[str, str]] = []


def last_diagnoses() -> list[tuple[str, str]]:
    """``(kind, message)`` of every failed check in this process, oldest first."""
    return list(_LOG)


def _fail(d: Diagnosis | tuple[str, str]) -> None:
    kind, msg = (d.kind, d.message) if isinstance(d, Diagnosis) else d
    _LOG.append((kind, msg))
    raise GradingError(msg, kind)


def _matches(actual, wrong, rtol: float, atol: float) -> bool:
    """Does a (numeric) answer equal a known wrong answer? Never raises."""
    try:
        if wrong is None:
            return False
        w = np.asarray(wrong, dtype=np.float64)
        if isinstance(actual, (list, tuple)) or getattr(actual, "type_name", None):
            return False
        a = np.asarray(actual)
        if not np.issubdtype(a.dtype, np.number) or a.shape != w.shape:
            return False
        with np.errstate(all="ignore"):
            return bool(np.all(np.isfinite(a))) and bool(np.allclose(a.astype(np.float64), w, rtol=rtol, atol=atol))
    except (TypeError, ValueError):
        return False


def check_array(actual, expected, name: str = "result", rtol: float = 1e-7, atol: float = 1e-10,
                batch_size: int | None = None, mistakes: Sequence[tuple[object, str]] = ()) -> None:
    """Assert ``actual`` equals ``expected`` (float64, same shape), else raise a one-line diagnosis.

    ``mistakes`` lists ``(wrong_array, hint)`` pairs: an answer of the right type that equals
    one of them (and not ``expected``) fails with that hint, the exercise's own words.
    """
    d = diagnose(actual, expected, name, rtol=rtol, atol=atol, batch_size=batch_size)
    if d.ok:
        return
    if d.kind not in ("type", "nonfinite"):
        for wrong, hint in mistakes:
            if _matches(actual, wrong, rtol, atol) and not _matches(wrong, expected, rtol, atol):
                _fail(("known", f"{name}: {hint}"))
    _fail(d)


def check_arrays(actual: Sequence, expected: Sequence, name: str = "result",
                 mistakes: Sequence[tuple[Sequence, str]] = (), **kw) -> None:
    """:func:`check_array` for a list of arrays (e.g. ``dW``), entry ``l-1`` named ``name[l]``.

    A list whose entries are right but in reverse order is named as such (wrong layer order).
    ``mistakes``: ``(wrong_list, hint)`` pairs compared entry by entry.
    """
    if not isinstance(actual, (list, tuple)):
        _fail(("type", f"{name} should be a list of {len(expected)} arrays, got {type_name(actual)}"))
    if len(actual) != len(expected):
        _fail(("shape", f"{name} should have {len(expected)} entries (one per layer), got {len(actual)}"))
    rtol, atol = kw.get("rtol", 1e-7), kw.get("atol", 1e-10)
    fwd = all(diagnose(a, e, rtol=rtol, atol=atol).ok for a, e in zip(actual, expected))
    if fwd:
        return
    for wrong, hint in mistakes:
        if len(wrong) == len(actual) and all(_matches(a, w, rtol, atol) for a, w in zip(actual, wrong)):
            _fail(("known", f"{name}: {hint}"))
    if len(expected) > 1:
        rev = all(diagnose(a, e, rtol=rtol).ok for a, e in zip(actual[::-1], expected))
        if rev:
            _fail(("layer", f"{name} holds the right arrays in reverse order: entry l-1 should be layer l"))
    for i, (a, e) in enumerate(zip(actual, expected), start=1):
        check_array(a, e, f"{name}[{i}]", **kw)


def check_scalar(actual, expected: float, name: str = "result", rtol: float = 1e-7, atol: float = 1e-10,
                 batch_size: int | None = None, mistakes: Sequence[tuple[float, str]] = ()) -> None:
    """Assert a float (or 0-d array) equals ``expected``.

    ``mistakes``: ``(wrong_number, hint)`` pairs, as in :func:`check_array`.
    """
    if isinstance(actual, np.ndarray) and actual.size == 1:
        actual = actual.reshape(())
    if isinstance(actual, np.ndarray) and actual.ndim > 0:
        _fail(("shape", f"{name} should be a single number, got an array of shape {actual.shape}"))
    check_array(actual, np.float64(expected), name, rtol=rtol, atol=atol, batch_size=batch_size,
                mistakes=[(np.float64(w), hint) for w, hint in mistakes])


def type_name(x) -> str:
    """The name of a value's type, as a student would read it (also for values that crossed
    from a kernel as :class:`backproplab.wire.Opaque`)."""
    return getattr(x, "type_name", None) or type(x).__name__


def _as_expr(x, name: str) -> sp.Expr:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return sp.sympify(x)
    if isinstance(x, sp.Basic) and not isinstance(x, sp.MatrixBase):
        return x  # type: ignore[return-value]
    _fail(("type", f"{name} should be a SymPy expression, got {type_name(x)}"))
    raise AssertionError  # unreachable


def _same_at_points(a, e, symbols: list, rng_seed: int, low: float, high: float, rtol: float) -> bool:
    rng = np.random.default_rng(rng_seed)
    fa = sp.lambdify(symbols, a, modules="numpy")
    fe = sp.lambdify(symbols, e, modules="numpy")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(8):
            pt = rng.uniform(low, high, size=len(symbols))
            va, ve = complex(fa(*pt)), complex(fe(*pt))
            if np.isfinite(ve) and (not np.isfinite(va) or abs(va - ve) > rtol * max(1.0, abs(ve))):
                return False
    return True


def check_expr_at_points(actual, expected, symbols: Iterable[sp.Symbol], name: str = "expression",
                         n_points: int = 20, seed: int = 0, low: float = -2.0, high: float = 2.0,
                         rtol: float = 1e-9, mistakes: Sequence[tuple[object, str]] = ()) -> None:
    """Assert two SymPy expressions agree numerically at random points of ``symbols``.

    Points are drawn from a fixed-seed generator in [low, high]. Names the first
    point where they differ. ``mistakes`` lists ``(wrong_expression, hint)`` pairs:
    an answer equal to one of them fails with that hint, a diagnosis in the
    exercise's own words.
    """
    a = _as_expr(actual, name)
    e = _as_expr(expected, name)
    symbols = list(symbols)
    extra = a.free_symbols - set(symbols) - e.free_symbols
    if extra:
        _fail(("type", f"{name} uses symbol(s) {sorted(map(str, extra))} that the answer does not depend on"))
    rng = np.random.default_rng(seed)
    fa = sp.lambdify(symbols, a, modules="numpy")
    fe = sp.lambdify(symbols, e, modules="numpy")
    ratios = []
    first_bad = None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n_points):
            pt = rng.uniform(low, high, size=len(symbols))
            va, ve = complex(fa(*pt)), complex(fe(*pt))
            if not np.isfinite(ve):
                continue
            if abs(ve) > 1e-9 and np.isfinite(va):
                ratios.append(va / ve)
            if first_bad is None and (not np.isfinite(va) or abs(va - ve) > rtol * max(1.0, abs(ve))):
                first_bad = (pt, va, ve)
    if first_bad is not None:
        for wrong, hint in mistakes:
            try:
                if _same_at_points(a, sp.sympify(wrong), symbols, seed, low, high, rtol):
                    _fail(("known", f"{name}: {hint}"))
            except GradingError:
                raise
            except Exception:  # noqa: BLE001, S112 - a hint that cannot be evaluated is no diagnosis
                continue
        pt, va, ve = first_bad
        where = ", ".join(f"{s}={v:.3g}" for s, v in zip(symbols, pt))
        at = f"at {where}: got {va.real:.6g}, expected {ve.real:.6g}"
        if len(ratios) >= 3 and np.allclose(ratios, ratios[0], rtol=1e-6) and abs(ratios[0] - 1) > 1e-3:
            c = ratios[0].real
            if np.isclose(c, -1.0):
                _fail(("sign", f"{name} has the wrong sign ({at})"))
            _fail(("scaled", f"{name} is off by a constant factor of {c:.6g} ({at})"))
        _fail(("entries", f"{name} differs {at}"))


def check_expr(actual, expected, symbols: Iterable[sp.Symbol] | None = None, name: str = "expression",
               **kw) -> None:
    """Assert two SymPy expressions are equal: first at random points (a fast, clear
    verdict with a location), then as expressions (``simplify(a - e) == 0``, with a
    numeric fallback when simplification is inconclusive)."""
    a = _as_expr(actual, name)
    e = _as_expr(expected, name)
    syms = list(symbols) if symbols is not None else sorted(a.free_symbols | e.free_symbols, key=str)
    check_expr_at_points(a, e, syms, name, **kw)
    if sp.count_ops(a) + sp.count_ops(e) > 400:
        return  # too large to simplify quickly; the random points above decide
    diff = sp.simplify(a - e)
    if diff != 0 and diff.free_symbols:
        # simplify may fail to close a true identity; the point test above already passed
        # at 20 random points, so only a clean nonzero constant counts as a mismatch
        return
    if diff != 0:
        _fail(("entries", f"{name} differs from the answer by the constant {diff}"))


def check_sympy_matrix(actual, expected, symbols: Iterable[sp.Symbol], name: str = "matrix",
                       mistakes: Sequence[tuple[object, str]] = (), **kw) -> None:
    """Assert a SymPy ``Matrix`` equals ``expected`` entry by entry (shape first).

    ``mistakes``: ``(wrong_matrix, hint)`` pairs; an answer equal to one fails with its hint.
    """
    if not isinstance(actual, sp.MatrixBase):
        _fail(("type", f"{name} should be a SymPy Matrix, got {type_name(actual)}"))
    if actual.shape != expected.shape:
        if actual.shape == expected.shape[::-1]:
            _fail(("transposed", (f"{name} has shape {actual.shape}, expected {expected.shape}: transposed? "
                                  "(row i holds the derivatives of output i)")))
        _fail(("shape", f"{name} has shape {actual.shape}, expected {expected.shape}"))
    syms = list(symbols)
    lo, hi, rt, seed = kw.get("low", -2.0), kw.get("high", 2.0), kw.get("rtol", 1e-9), kw.get("seed", 0)

    def same(m) -> bool:
        return m.shape == expected.shape and all(
            _same_at_points(actual[i, j], m[i, j], syms, seed, lo, hi, rt)
            for i in range(m.shape[0]) for j in range(m.shape[1]))

    if not same(expected):
        for wrong, hint in mistakes:
            try:
                if same(sp.Matrix(wrong)):
                    _fail(("known", f"{name}: {hint}"))
            except GradingError:
                raise
            except Exception:  # noqa: BLE001, S112 - a hint that cannot be evaluated is no diagnosis
                continue
    for i in range(expected.shape[0]):
        for j in range(expected.shape[1]):
            check_expr_at_points(actual[i, j], expected[i, j], syms, f"{name}[{i}, {j}]", **kw)


@contextlib.contextmanager
def forbid(*routes: Callable | str) -> Iterator[None]:
    """While active, the given library routes raise :class:`DelegationError`.

    ``routes`` are protected functions, their dotted names
    (``"backproplab.matrix.backward"``), or a module prefix (``"backproplab.layerwise"``)
    for all of its protected functions. The exact symbolic oracle is always off too.
    An unknown name raises ``ValueError``: a misspelt guard must not pass silently.
    """
    names: set[str] = set()
    for r in (*routes, *_guard.ALWAYS_FORBIDDEN):
        names |= _guard.resolve(r)
    added = names - _guard._forbidden
    _guard._forbidden.update(added)
    try:
        yield
    finally:
        _guard._forbidden.difference_update(added)


def _where_in_student_code(exc: BaseException) -> str:
    """`` (line N: `code`)`` for the innermost frame outside the library and numpy."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if "site-packages" not in f.filename and "backproplab" not in f.filename
            and not f.filename.startswith("<frozen")]
    if not mine:
        return ""
    f = mine[-1]
    code = (f.line or "").strip()
    return f" (in {f.name}, line {f.lineno}: `{code}`)" if code else f" (in {f.name}, line {f.lineno})"


def quietly(fn: Callable, *args, **kwargs):
    """Call a student's function with numpy warnings silenced and not printed.

    Warnings are not errors in themselves: a NaN or inf they announce is caught by
    the finite-value check that follows. Any exception the function raises becomes a
    one-line failure naming it and the student's line it came from, so feedback
    carries no traceback through the test cell.
    """
    if not callable(fn):
        _fail(("type", f"expected a function, got {type_name(fn)}"))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs)
        except DelegationError as exc:
            _fail(("delegation", str(exc)))
        except NotImplementedError:
            _fail(("missing", f"{getattr(fn, '__name__', 'the function')} is not implemented yet"))
        except GradingError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the student's code is reported, not raised
            name = getattr(fn, "__name__", "your function")
            msg = str(exc).splitlines()[0] if str(exc) else ""
            kind = "shape" if isinstance(exc, ValueError) and ("shape" in msg or "dimension" in msg) else "exception"
            said = f": {msg}" if msg.strip() else " (with no message)"
            _fail((kind, f"{name} raised {type(exc).__name__}{said}{_where_in_student_code(exc)}"))
