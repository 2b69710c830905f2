"""Shared pytest setup: the repository root is importable (``autograder``, ``tests``)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import pytest

# helpers full of asserts: rewritten like the tests', so that a failure shows its values
pytest.register_assert_rewrite("tests.lib.exercise_harness")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Make ``--dist loadgroup`` group by ``xdist_group`` under pytest 9. pytest-xdist tags an
    item's node id with ``@group`` through ``item._nodeid``, which pytest 9 no longer reads (it
    keeps the id in ``item._id``): without this, the tests of one group spread over workers and
    each worker repeats the group's expensive fixture (a notebook's whole grading run)."""
    if not config.getoption("loadgroup", default=False):
        return
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        if marker is None:
            continue
        group = marker.args[0] if marker.args else marker.kwargs.get("name", "default")
        if item.nodeid.endswith(f"@{group}"):
            continue
        try:
            from _pytest.nodeid import NodeId

            item._id = NodeId.parse(f"{item.nodeid}@{group}")
        except (ImportError, AttributeError):
            item._nodeid = f"{item.nodeid}@{group}"
