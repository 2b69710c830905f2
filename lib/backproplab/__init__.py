"""backproplab: the library of the backpropagation course.

Submodules are imported on demand: ``from backproplab import activations``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
