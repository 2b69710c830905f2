"""The command line of the grading pipeline: ``python -m autograder.grade`` (or ``make grade``).

    python -m autograder.grade                          # the demo class -> autograder/output/
    python -m autograder.grade hand-ins.zip -o out/     # a zip from the LMS, or a folder
    python -m autograder.grade hand-ins.zip --shard 0/4 -o shard0/   # one of four machines
    python -m autograder.grade hand-ins.zip --merge shard*/ -o out/  # then merge them
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import pipeline
from .sandbox import Limits

__all__ = ["main"]


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError("use I/N, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise argparse.ArgumentTypeError("need 0 <= I < N")
    return i, n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m autograder.grade", description=pipeline.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("export", nargs="?", type=Path, default=pipeline.DEMO_EXPORT,
                    help="hand-in export: a zip or a folder (default: the demo class)")
    ap.add_argument("-o", "--out", type=Path, default=pipeline.DEFAULT_OUT,
                    help="output folder (default: autograder/output)")
    ap.add_argument("-j", "--jobs", type=int, default=None, help="parallel workers (default: one per core)")
    ap.add_argument("--force", action="store_true", help="regrade everything, even unchanged hand-ins")
    ap.add_argument("--shard", type=_shard, metavar="I/N", help="grade only shard I of N (by student); merge later")
    ap.add_argument("--merge", type=Path, nargs="+", metavar="DIR", help="output folders of shards to merge")
    ap.add_argument("--assignments", nargs="+", metavar="ID", help="grade only these assignments")
    ap.add_argument("--roster", type=Path, metavar="CSV",
                    help="the LMS's roster or gradebook export: names, emails and ids for the grade sheets")
    ap.add_argument("--unsandboxed", action="store_true",
                    help="run student code without bwrap isolation (only resource limits); for trusted code")
    ap.add_argument("--keep-tampered-scores", action="store_true",
                    help="keep the scores of hand-ins flagged for review instead of counting them 0")
    d = Limits()
    ap.add_argument("--cell-timeout", type=int, default=d.cell_timeout, help="seconds per cell (default %(default)s)")
    ap.add_argument("--timeout", type=int, default=d.wall_seconds, help="seconds per hand-in (default %(default)s)")
    ap.add_argument("--cpu", type=int, default=d.cpu_seconds, help="CPU seconds per kernel (default %(default)s)")
    ap.add_argument("--memory", type=int, default=d.memory_mb, help="MB of address space (default %(default)s)")
    ap.add_argument("--nproc", type=int, default=d.nproc, help="processes per sandbox (default %(default)s)")
    ap.add_argument("--fsize", type=int, default=d.fsize_mb, help="largest file in MB (default %(default)s)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    a = ap.parse_args(argv)
    known = pipeline.gradeable()
    for aid in a.assignments or []:
        if aid not in known:
            ap.error(f"unknown assignment {aid!r}; solutions/ has: {', '.join(known)}")
    if a.roster is not None and not a.roster.is_file():
        ap.error(f"no roster file {a.roster}")
    limits = Limits(cell_timeout=a.cell_timeout, wall_seconds=a.timeout, cpu_seconds=a.cpu,
                    memory_mb=a.memory, nproc=a.nproc, fsize_mb=a.fsize)
    try:
        pipeline.run(a.export, a.out, jobs=a.jobs, force=a.force, shard=a.shard, merge=a.merge,
                     sandbox=not a.unsandboxed, limits=limits, only=a.assignments,
                     tamper_zero=not a.keep_tampered_scores, quiet=a.quiet, roster=a.roster)
    except pipeline.GradeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished hand-ins are kept; run the same command again to continue", file=sys.stderr)
        return 130
    return 0
