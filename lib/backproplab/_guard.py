"""The no-delegation guard (exercise contract, point 5).

Library routes that an exercise asks a student to write are decorated with
:func:`protected`. While :func:`backproplab.grading.forbid` is active for one of
them, calling it raises :class:`DelegationError`. The check lives inside the
function object itself, so an alias imported before the guard was switched on is
caught just the same.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

__all__ = ["ALWAYS_FORBIDDEN", "DelegationError", "protected", "qualified_name", "resolve"]

F = TypeVar("F", bound=Callable)

_forbidden: set[str] = set()
_registry: set[str] = set()

# The exact oracle solves every gradient exercise: it is off whenever a student's code is under test.
ALWAYS_FORBIDDEN = ("backproplab.symbolic",)


class DelegationError(RuntimeError):
    """A library route was called while the exercise that reimplements it is under test."""


def qualified_name(fn: Callable) -> str:
    """``module.qualname`` of a function, the key the guard uses."""
    inner = getattr(fn, "__wrapped__", fn)
    return f"{inner.__module__}.{inner.__qualname__}"


def protected(fn: F) -> F:
    """Mark a library function as one an exercise may forbid."""
    name = qualified_name(fn)
    _registry.add(name)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if name in _forbidden:
            raise DelegationError(
                f"{name} is the library's own answer to this exercise and is switched off "
                "while your function is tested: write the computation yourself."
            )
        return fn(*args, **kwargs)

    wrapper.__backproplab_protected__ = name  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def resolve(route: Callable | str) -> set[str]:
    """The protected names a route stands for: a protected function, its dotted name,
    or a module or class prefix (``"backproplab.matrix"``) meaning every protected
    function under it. Raises ``ValueError`` for a name that protects nothing, so a
    misspelt guard cannot pass silently."""
    if not isinstance(route, str):
        name = getattr(route, "__backproplab_protected__", None)
        if name is None:
            raise ValueError(f"{qualified_name(route)} is not a protected library route")
        return {name}
    _import_prefix(route)
    if route in _registry:
        return {route}
    under = {n for n in _registry if n.startswith(route + ".")}
    if not under:
        raise ValueError(f"{route!r} names no protected library route")
    return under


def _import_prefix(dotted: str) -> None:
    """Import the longest importable module prefix of ``dotted`` so its routes are registered."""
    import importlib

    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        try:
            importlib.import_module(".".join(parts[:k]))
            return
        except ImportError:
            continue
