r"""Post-training uniform quantization of a trained network's weights.

Symmetric uniform quantization to b bits with clipping range $[-\alpha, \alpha]$:

$$q = 2^{b-1} - 1, \qquad s = \alpha / q, \qquad Q(w) = s\,\mathrm{clip}\big(\mathrm{round}(w / s), -q, q\big),$$

so every weight becomes one of the $2q + 1$ levels $-\alpha, \dots, -s, 0, s, \dots, \alpha$ (the
"restricted" symmetric range: 8 bits give the integers -127..127). Weights beyond $\pm\alpha$ are
clipped to $\pm\alpha$. Choosing $\alpha$ is *calibration*: the largest $|w|$ keeps every weight
in range but spends levels on rare outliers; a percentile of $|w|$ clips the outliers and gives
the bulk of the weights a finer grid. Biases stay in floating point (they are few, and
accumulated at higher precision in integer kernels anyway).

Source: A. Gholami, S. Kim, Z. Dong, Z. Yao, M. W. Mahoney, K. Keutzer (2022). A Survey of
Quantization Methods for Efficient Neural Network Inference. In *Low-Power Computer Vision*,
Chapman and Hall/CRC, 291-326 (arXiv:2103.13630).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._guard import protected

__all__ = ["clipping_range", "levels", "quantize", "quantize_network"]


def levels(bits: int) -> int:
    r"""$q = 2^{b-1} - 1$, the largest integer code of symmetric b-bit quantization (b >= 2)."""
    bits = int(bits)
    if bits < 2:
        raise ValueError(f"symmetric quantization needs at least 2 bits, got {bits}")
    return 2 ** (bits - 1) - 1


@protected
def quantize(W: np.ndarray, bits: int, alpha: float) -> np.ndarray:
    r"""$Q(W) = s\,\mathrm{clip}(\mathrm{round}(W/s), -q, q)$ with $q = 2^{b-1} - 1$, $s = \alpha / q$.

    W any shape, bits b >= 2, alpha > 0 the clipping range -> an array like W (dequantized values).
    """
    if not alpha > 0:
        raise ValueError(f"the clipping range alpha must be positive, got {alpha}")
    q = levels(bits)
    s = float(alpha) / q
    return s * np.clip(np.round(np.asarray(W, dtype=np.float64) / s), -q, q)


def clipping_range(W: np.ndarray, method: str = "max", percentile: float = 99.0) -> float:
    r"""$\alpha$ for one weight matrix: $\max |w|$ (``"max"``) or a percentile of $|w|$ (``"percentile"``).

    W any shape -> float > 0.
    """
    a = np.abs(np.asarray(W, dtype=np.float64))
    if method == "max":
        alpha = float(a.max())
    elif method == "percentile":
        alpha = float(np.percentile(a, percentile))
    else:
        raise ValueError(f"unknown calibration {method!r}; choose 'max' or 'percentile'")
    return alpha if alpha > 0 else 1.0


def quantize_network(weights: Sequence[np.ndarray], bits: int, method: str = "max",
                     percentile: float = 99.0) -> list[np.ndarray]:
    r"""Every $W^l$ quantized to ``bits`` with its own $\alpha^l$ from :func:`clipping_range` (per-layer).

    weights[l-1] (n_l, n_{l-1}) -> a new list of arrays of the same shapes.
    """
    return [quantize(W, bits, clipping_range(W, method, percentile)) for W in weights]
