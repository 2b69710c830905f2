"""The grading pipeline, through real nbgrader, real kernels and the real sandbox."""
