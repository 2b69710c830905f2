"""The grading pipeline (see :mod:`autograder.grading.pipeline` for its steps).

Run it as ``python -m autograder.grade`` (or ``make grade``).
"""
