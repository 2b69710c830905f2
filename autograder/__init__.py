"""The course's tooling.

- ``course.py``, ``nbgrader_config.py``: where the course lives and how nbgrader sees it;
- ``build/``: the course build (release ``course/`` from ``solutions/``, the index, the student
  edition, notebook authoring helpers);
- ``grading/``: the grading pipeline (``python -m autograder.grade``);
- ``hub/``: serving a class on JupyterHub;
- ``demo/``: the demo class.
"""
