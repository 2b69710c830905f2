"""`make bench`: every benchmark section of the project, printed side by side in one run.

Each module ``tests/bench/bench_*.py`` defines ``run() -> None`` that prints its own
section. Targets are printed next to the measured figures; nothing here fails a build.
"""
