"""The course's grading side: nbgrader configuration, the release build, and the grading pipeline."""
