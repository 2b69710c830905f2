r"""One definition of each exercise's checks, run in two places.

An exercise (a subclass of :class:`Exercise`, one per graded answer cell) says:

- ``names``: the notebook names its test passes in (the student's functions, a notebook class);
- ``parts``: its separately scored parts and their points (partial credit);
- ``routes``: the library routes that would answer it, refused while the student's code runs;
- ``hints``: its own one-line diagnoses of common mistakes, each shown to fire by a test;
- :meth:`Exercise.cases`: the test inputs, fixed visible ones and hidden ones drawn from a
  generator;
- :meth:`Exercise.run` (**kernel side**): call the student's code on one case's inputs and
  return what came back, as data;
- :meth:`Exercise.judge` (**trusted side**): compare that data with a reference from an
  independent route and raise :class:`~backproplab.grading.GradingError` naming the mistake.

In JupyterLab, a test cell calls :func:`check`, which does all of it in the student's kernel
(Validate). At grading time the pipeline draws the hidden cases from a seed of its own, sends
only their inputs into the kernel (:func:`collect` runs :meth:`~Exercise.run` there and
displays the outputs as :mod:`backproplab.wire` data), and judges the outputs in its own
process with :func:`judge_case` and :func:`score`. Both paths pass every input and output
through the wire, so a student sees at Validate exactly the verdict the grader reaches on the
visible cases.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .. import wire
from ..grading import GradingError, forbid, quietly

__all__ = [
    "MIME",
    "Case",
    "CaseResult",
    "Exercise",
    "PartResult",
    "Verdict",
    "call",
    "check",
    "collect",
    "decode_result",
    "evaluate",
    "get",
    "judge_case",
    "registry",
    "run_case",
    "score",
    "try_answer",
]

MIME = "application/vnd.backproplab.case+json"
KINDS = re.compile(r"^[a-z_]{1,24}$")
MESSAGE_CHARS = 600

_REGISTRY: dict[str, Exercise] = {}


@dataclass
class Case:
    """One test input. ``args`` go into the kernel (data only); ``ref`` never does."""

    part: str
    args: tuple
    label: str = ""
    visible: bool = True
    ref: Any = None


@dataclass
class CaseResult:
    index: int
    part: str
    visible: bool
    ok: bool
    kind: str          # "ok", or the diagnosis tag of the failure
    message: str       # "" when ok


@dataclass
class PartResult:
    name: str
    points: float
    earned: float
    message: str = ""  # the first failure of this part


@dataclass
class Verdict:
    """The scored outcome of one exercise."""

    exercise: str
    score: float
    max_score: float
    parts: list[PartResult]
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score

    def first_failure(self) -> CaseResult | None:
        return next((c for c in self.cases if not c.ok), None)

    @property
    def message(self) -> str:
        f = self.first_failure()
        return f.message if f else ""

    @property
    def kind(self) -> str:
        f = self.first_failure()
        return f.kind if f else "ok"


class Exercise:
    """Base class of every exercise's checks; see the module docstring."""

    id: ClassVar[str] = ""
    names: ClassVar[tuple[str, ...]] = ()
    parts: ClassVar[dict[str, float]] = {}
    routes: ClassVar[tuple[str, ...]] = ()
    hints: ClassVar[dict[str, str]] = {}
    #: earlier exercises whose answers this one calls (the notebook says "finish that first"):
    #: a mistake there can cost points here too, and the feedback says so
    uses: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        if cls.id:
            if not re.fullmatch(r"ex\d\d_[a-z0-9_]+", cls.id):
                raise ValueError(f"exercise id {cls.id!r} is not of the form exNN_name")
            if not cls.parts or not cls.names:
                raise ValueError(f"{cls.id}: an exercise needs parts and names")
            _REGISTRY[cls.id] = cls()

    @property
    def points(self) -> float:
        return float(sum(self.parts.values()))

    # -- to override ------------------------------------------------------------------------
    def cases(self, rng: np.random.Generator | None) -> list[Case]:
        """The visible cases when ``rng`` is None, else hidden cases drawn from ``rng``."""
        raise NotImplementedError

    def run(self, args: tuple, *objs) -> Any:
        """Kernel side: call the student's code (``objs``, in the order of ``names``) on ``args``.

        Call each student function through :func:`~backproplab.grading.quietly`; return the
        raw outputs (and anything a behavioural check needs, such as the inputs after the call).
        """
        raise NotImplementedError

    def judge(self, case: Case, out: Any) -> None:
        """Trusted side: raise :class:`~backproplab.grading.GradingError` if ``out`` is wrong."""
        raise NotImplementedError

    # -- helpers for subclasses ---------------------------------------------------------------
    def hint(self, key: str) -> str:
        """The text of one of this exercise's own hints (a ``KeyError`` names a missing one)."""
        return self.hints[key]

    def all_cases(self, rng: np.random.Generator | None) -> list[Case]:
        """Visible cases, then (given ``rng``) hidden ones; checked against ``parts``."""
        cases = [_visible(c, True) for c in self.cases(None)]
        if rng is not None:
            cases += [_visible(c, False) for c in self.cases(rng)]
        for c in cases:
            if c.part not in self.parts:
                raise ValueError(f"{self.id}: case {c.label!r} names an unknown part {c.part!r}")
        return cases


def _visible(c: Case, visible: bool) -> Case:
    c.visible = visible
    return c


def registry() -> dict[str, Exercise]:
    """Every exercise of every notebook module, by id (imports them all)."""
    import pkgutil

    from .. import exercises

    for m in pkgutil.iter_modules(exercises.__path__):
        if re.fullmatch(r"nb\d\d", m.name):
            importlib.import_module(f"{exercises.__name__}.{m.name}")
    return dict(_REGISTRY)


def get(exercise_id: str) -> Exercise:
    """The exercise ``exNN_name`` (its notebook's module is imported on first use)."""
    if exercise_id not in _REGISTRY:
        m = re.match(r"ex(\d\d)_", str(exercise_id))
        if m:
            with contextlib.suppress(ModuleNotFoundError):
                importlib.import_module(f"{__package__}.nb{m.group(1)}")
    if exercise_id not in _REGISTRY:
        raise ValueError(f"no exercise {exercise_id!r} in backproplab.exercises")
    return _REGISTRY[exercise_id]


# ------------------------------------------------------------------------------------------
# kernel side
@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def run_case(ex: Exercise, args: tuple, objs: Sequence) -> dict:
    """Kernel side: one case run with the library's routes for it refused.

    Returns ``{"ok": outputs}`` or ``{"fail": [kind, message]}``; never raises.
    """
    try:
        with forbid(*ex.routes), _quiet():
            return {"ok": ex.run(tuple(args), *objs)}
    except GradingError as exc:
        return {"fail": [exc.kind, str(exc)]}
    except Exception as exc:  # noqa: BLE001 - the test could not use what the student wrote
        said = (str(exc).splitlines() or [""])[0][:200]
        return {"fail": ["exception", f"the test could not use your code: {type(exc).__name__}: {said}"]}


def _payload(index: int, result: dict) -> dict:
    try:
        text = wire.dumps(result)
    except Exception as exc:  # noqa: BLE001 - an output that cannot even be encoded
        text = wire.dumps({"fail": ["type", f"the output could not be read ({type(exc).__name__})"]})
    return {"case": index, "result": text}


def collect(exercise_id: str, payload: str) -> None:
    """Kernel side, at grading time: run the given cases with the notebook's objects and
    display each case's outputs as wire data (MIME :data:`MIME`).

    ``payload``: wire text of ``[[index, args], ...]``. The notebook objects are looked up
    by the exercise's ``names`` in the notebook's namespace.
    """
    from IPython import get_ipython
    from IPython.display import display

    ex = get(exercise_id)
    ns = get_ipython().user_ns
    missing = [n for n in ex.names if n not in ns]
    objs = [ns.get(n) for n in ex.names]
    for index, args in wire.loads(payload):
        if missing:
            result = {"fail": ["missing", f"{missing[0]} is not defined in the notebook"]}
        else:
            result = run_case(ex, args, objs)
        display({MIME: _payload(index, result)}, raw=True)


# ------------------------------------------------------------------------------------------
# trusted side
def decode_result(text: Any) -> dict:
    """A case's result as the kernel displayed it, rebuilt through the wire. Anything that
    is not a well-formed result becomes a failure (never a pass)."""
    try:
        r = wire.loads(text)
    except wire.WireError as exc:
        return {"fail": ["type", f"the output could not be graded: {exc}"]}
    if isinstance(r, dict) and set(r) == {"ok"}:
        return r
    if isinstance(r, dict) and set(r) == {"fail"} and isinstance(r["fail"], list) and len(r["fail"]) == 2 \
            and all(isinstance(x, str) for x in r["fail"]):
        kind, msg = r["fail"]
        kind = kind if KINDS.match(kind) and kind != "ok" else "exception"
        return {"fail": [kind, " ".join(msg.split())[:MESSAGE_CHARS]]}
    return {"fail": ["type", "the output could not be graded: not a test result"]}


def judge_case(ex: Exercise, index: int, case: Case, result: dict | None) -> CaseResult:
    """Trusted side: the verdict on one case. ``result`` is :func:`decode_result`'s value,
    or None when nothing came back from the kernel for this case."""
    def res(ok: bool, kind: str, msg: str) -> CaseResult:
        return CaseResult(index, case.part, case.visible, ok, kind, msg[:MESSAGE_CHARS])

    if result is None:
        return res(False, "missing_output", "no result came back for this test (the kernel stopped, ran out of "
                                            "time, or its output was suppressed)")
    if "fail" in result:
        kind, msg = result["fail"]
        return res(False, kind, msg)
    try:
        with _quiet():
            ex.judge(case, result["ok"])
    except GradingError as exc:
        return res(False, exc.kind, str(exc))
    except Exception as exc:  # noqa: BLE001 - an output the judge cannot even compare is wrong
        return res(False, "type", f"the output could not be compared with the answer "
                                  f"({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:150]})")
    return res(True, "ok", "")


def score(ex: Exercise, results: list[CaseResult]) -> Verdict:
    """Partial credit: a part earns its points when every one of its cases passed."""
    parts = []
    for name, pts in ex.parts.items():
        mine = [r for r in results if r.part == name]
        bad = next((r for r in mine if not r.ok), None)
        ok = bool(mine) and bad is None
        parts.append(PartResult(name, float(pts), float(pts) if ok else 0.0,
                                "" if ok else (bad.message if bad else "not tested")))
    return Verdict(ex.id, sum(p.earned for p in parts), ex.points, parts, list(results))


# ------------------------------------------------------------------------------------------
# both sides in one process: what a test cell (and Validate) runs
def _roundtrip(x):
    return wire.loads(wire.dumps(x))


def evaluate(ex: Exercise, objs: Sequence, cases: list[Case]) -> Verdict:
    """Run and judge ``cases`` in this process, every input and output through the wire."""
    results = []
    for i, c in enumerate(cases):
        r = run_case(ex, _roundtrip(c.args), objs)
        results.append(judge_case(ex, i, c, decode_result(wire.dumps(r))))
    return score(ex, results)


def failed_uses_note(ex: Exercise, failed: Iterable[str]) -> str:
    """What a failed exercise adds when it calls an earlier answer that failed its own test
    (``failed``: ids of the exercises that failed): fix that one first. Empty otherwise."""
    failed = set(failed)
    broken = [u for u in ex.uses if u in failed]
    if not broken:
        return ""
    return (f" (this answer calls your answer to {' and '.join(broken)}, which failed its own test: "
            "fix that first, then run this test again)")


# this kernel's latest check of each exercise (True: passed), so a failure can point back to the
# earlier answer it calls; information for the student only, never a grade
_outcomes: dict[str, bool] = {}


def check(exercise_id: str, *objs: Callable | type, hidden: bool = False) -> None:
    """The test cell's one call: run the exercise's visible checks on ``objs`` (the names
    the exercise lists, in order). Quiet when everything passes; otherwise raises a
    one-line :class:`~backproplab.grading.GradingError` naming the first mistake.

    ``hidden=True`` runs the hidden cases instead, drawn from fresh randomness: what plain
    ``nbgrader autograde`` runs. The course's grader instead draws them itself, outside
    the kernel, and never runs this.
    """
    ex = get(exercise_id)
    if len(objs) != len(ex.names):
        raise TypeError(f"check({exercise_id!r}, ...) takes {len(ex.names)} object(s): {', '.join(ex.names)}")
    if hidden:
        cases = [_visible(c, False) for c in ex.cases(np.random.default_rng())]
    else:
        cases = ex.all_cases(None)
    f = evaluate(ex, objs, cases).first_failure()
    _outcomes[exercise_id] = f is None
    if f is not None:
        note = failed_uses_note(ex, {u for u, ok in _outcomes.items() if not ok})
        raise GradingError(f.message + note, f.kind)


def call(fn, *args, **kwargs):
    """Call a student's function the way every test does (warnings silenced; a failure
    becomes a one-line :class:`~backproplab.grading.GradingError`)."""
    return quietly(fn, *args, **kwargs)


def try_answer(fn, *args, **kwargs):
    """Call a student's function from a demo cell: its result, or None while the exercise is
    not answered yet (with one line saying so), so *Run All* goes on past unanswered work."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        name = getattr(fn, "__name__", "this function")
        print(f"(This cell needs your {name} from the exercise above; it will run once that is done.)")
        return None
