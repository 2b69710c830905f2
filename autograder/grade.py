"""``python -m autograder.grade``: the grading pipeline's command (see :mod:`autograder.grading.cli`)."""

import sys

from .grading.cli import main

if __name__ == "__main__":
    sys.exit(main())
