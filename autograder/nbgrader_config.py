# nbgrader's configuration for this course. Run nbgrader from this folder, or use
# `make release` / `make grade`, which load this file through autograder.course.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from autograder.course import apply_config

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)
apply_config(c)
