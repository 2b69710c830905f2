"""Run every benchmark section: ``python -m tests.bench [name ...]``.

Sections are the ``bench_*`` modules of this folder (``bench_validate``: Validate's time, idle
and loaded, before and after its fix), in name order. A section that fails prints its error and
the run goes on to the next: a benchmark reports, it does not fail.
"""

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    failed = []
    for name in names:
        t0 = time.perf_counter()
        print(f"\n=== {name.removeprefix('bench_')} ===", flush=True)
        try:
            importlib.import_module(f"tests.bench.{name}").run()
        except Exception:  # noqa: BLE001  (one section's failure must not hide the others' figures)
            failed.append(name)
            print(f"section {name.removeprefix('bench_')} failed:\n{traceback.format_exc(limit=3)}", flush=True)
        print(f"(section took {time.perf_counter() - t0:.1f} s)", flush=True)
    if failed:
        print(f"\nfailed sections: {', '.join(n.removeprefix('bench_') for n in failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
