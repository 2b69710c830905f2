"""Run every benchmark section: ``python -m tests.bench [name ...]``."""

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    for name in names:
        t0 = time.perf_counter()
        print(f"\n=== {name.removeprefix('bench_')} ===", flush=True)
        importlib.import_module(f"tests.bench.{name}").run()
        print(f"(section took {time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
