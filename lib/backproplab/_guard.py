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

__all__ = ["DelegationError", "protected", "qualified_name"]

F = TypeVar("F", bound=Callable)

_forbidden: set[str] = set()


class DelegationError(RuntimeError):
    """A library route was called while the exercise that reimplements it is under test."""


def qualified_name(fn: Callable) -> str:
    """``module.qualname`` of a function, the key the guard uses."""
    inner = getattr(fn, "__wrapped__", fn)
    return f"{inner.__module__}.{inner.__qualname__}"


def protected(fn: F) -> F:
    """Mark a library function as one an exercise may forbid."""
    name = qualified_name(fn)

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
