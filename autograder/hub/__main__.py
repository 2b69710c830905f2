"""``python -m autograder.hub``: see autograder/hub/cli.py."""

import sys

from .cli import main

sys.exit(main())
