"""Execute one notebook cell by cell in a kernel of the environment that runs this script.

    python nbrun.py NOTEBOOK [--mode until-error|all]

Prints one JSON line: cells run, the first error (cell index, ename, evalue, the cell's
nbgrader grade_id and whether it is a graded test cell), seconds spent in cells, and the
kernel's own view of itself (``sys.prefix``, peak resident memory from getrusage). Runs with
the interpreter of the environment under test, so it imports only what that environment has
(nbclient, nbformat and the course library, whose kernel client it runs with).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import nbformat
from backproplab.kernel_client import CLIENT_CLASS
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets.config import Config

PROBE = """\
import json as _j, resource as _r, sys as _s
print(_j.dumps({"prefix": _s.prefix, "maxrss_kb": _r.getrusage(_r.RUSAGE_SELF).ru_maxrss}))
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("--mode", choices=["until-error", "all"], default="until-error")
    ap.add_argument("--timeout", type=int, default=120)
    args = ap.parse_args()
    path = Path(args.notebook).resolve()
    nb = nbformat.read(str(path), as_version=4)
    config = Config()
    # the library's kernel client, as Validate has it: with jupyter_client's own, a widget cell's
    # reply can wait out the cell timeout on a busy machine (backproplab/kernel_client.py says why)
    config.AsyncKernelManager.client_class = CLIENT_CLASS
    client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3", config=config,
                            resources={"metadata": {"path": str(path.parent)}})
    result = {"notebook": path.name, "cells": len(nb.cells), "code_cells": 0, "executed": 0,
              "errors": [], "seconds": 0.0, "kernel_start_seconds": 0.0, "slowest_cell": [None, 0.0]}
    t0 = time.perf_counter()
    with client.setup_kernel():
        result["kernel_start_seconds"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            result["code_cells"] += 1
            tc = time.perf_counter()
            try:
                client.execute_cell(cell, i)
            except CellExecutionError as e:
                meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
                result["errors"].append({"index": i, "ename": e.ename, "evalue": str(e.evalue)[:500],
                                         "grade_id": meta.get("grade_id"), "graded": bool(meta.get("grade")),
                                         "source": cell.source[:200]})
                if args.mode == "until-error":
                    result["executed"] += 1
                    break
                result["executed"] += 1
                continue
            result["executed"] += 1
            if time.perf_counter() - tc > result["slowest_cell"][1]:
                result["slowest_cell"] = [i, time.perf_counter() - tc]
        result["seconds"] = time.perf_counter() - t1
        probe = nbformat.v4.new_code_cell(PROBE)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
        text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
        result["kernel"] = json.loads(text.strip().splitlines()[-1])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
