r"""Checks of notebook 11 (backprop through time).

- ``ex11_forward``: the Elman network's unrolled forward pass, against the library's trusted
  forward (:func:`backproplab.rnn.forward`), with diagnoses of the usual slips.
- ``ex11_bptt``: BPTT from the forward cache, scored per separable part (the output layer, W_xh,
  W_hh, b_h) against **centred finite differences** of the trusted cost
  (:func:`backproplab.rnn.cost`); for a sequence longer than Python's recursion limit the
  differences are taken along random directions (one forward pass per direction, not per weight).
- ``ex11_clip``: gradient clipping by the global norm, against its definition.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .. import rnn
from ..gradcheck import numerical_gradient
from ..grading import check_array, type_name
from ._core import Case, Exercise, call
from ._judging import fail as _fail

__all__ = ["BPTT", "Clip", "Forward"]

LONG_T = 1500   # longer than Python's default recursion limit (1000)


def _problem(rng, T: int, n_x: int, n_h: int, n_y: int, m: int):
    """Random parameters (a non-symmetric W_hh), inputs, a non-zero h0 and targets."""
    params = {
        "W_xh": rng.normal(0.0, 1.0 / np.sqrt(n_x), size=(n_h, n_x)),
        "W_hh": rng.normal(0.0, 0.9 / np.sqrt(n_h), size=(n_h, n_h)),
        "b_h": rng.normal(0.0, 0.3, size=(n_h, 1)),
        "W_hy": rng.normal(0.0, 1.0 / np.sqrt(n_h), size=(n_y, n_h)),
        "b_y": rng.normal(0.0, 0.3, size=(n_y, 1)),
    }
    X = rng.normal(size=(T, n_x, m))
    h0 = np.tanh(rng.normal(size=(n_h, m)))
    Y = rng.normal(size=(T, n_y, m))
    return params, X, h0, Y


def _visible_problem():
    params = {"W_xh": np.array([[1.0], [-0.5]]), "W_hh": np.array([[0.5, -0.25], [0.25, 0.5]]),
              "b_h": np.array([[0.0], [0.1]]), "W_hy": np.array([[1.0, -1.0]]), "b_y": np.array([[0.5]])}
    X = np.array([[[1.0, 0.5]], [[-1.0, 0.0]], [[0.5, 1.0]]])          # T = 3, n_x = 1, m = 2
    h0 = np.array([[0.5, 0.0], [-0.5, 0.25]])
    Y = np.array([[[1.0, 0.0]], [[0.0, 0.5]], [[-1.0, 1.0]]])
    return params, X, h0, Y


def _shapes(rng) -> list[tuple[int, int, int, int, int]]:
    """(T, n_x, n_h, n_y, m) of the hidden cases: small ones, the edges T = 1 and m = 1."""
    return [(int(rng.integers(4, 9)), 2, 3, 2, 3), (int(rng.integers(5, 10)), 3, 5, 1, 2),
            (1, 2, 3, 2, 2), (int(rng.integers(3, 7)), 1, 4, 3, 1)]


# ------------------------------------------------------------------------------------------
# ex11_forward
def _forward_variant(p, X, h0, variant: str):
    """The forward pass with one classic slip (for the diagnoses)."""
    T = X.shape[0]
    H = np.empty((T + 1, *h0.shape))
    Z = np.empty((T, *h0.shape))
    H[0] = h0
    W_hh = p["W_hh"].T if variant == "whh_transposed" else p["W_hh"]
    for t in range(1, T + 1):
        prev = {"no_recurrence": np.zeros_like(h0), "stale_state": h0}.get(variant, H[t - 1])
        Z[t - 1] = p["W_xh"] @ X[t - 1] + W_hh @ prev + p["b_h"]
        H[t] = np.tanh(Z[t - 1])
    states = {"yhat_prev": H[:-1], "yhat_from_z": Z}.get(variant, H[1:])
    return H, np.einsum("yh,thm->tym", p["W_hy"], states) + p["b_y"]


class Forward(Exercise):
    id = "ex11_forward"
    names = ("elman_forward",)
    parts: ClassVar[dict] = {"H": 1, "Yhat": 1}
    routes = ("backproplab.rnn",)
    hints: ClassVar[dict] = {
        "no_recurrence": "h_t ignores h_(t-1): the recurrent term W_hh h_(t-1) is missing",
        "stale_state": "every step uses h_0: feed each step the state h_(t-1) = H[t-1] just computed",
        "whh_transposed": "W_hh is transposed: W_hh[j, i] connects unit i of h_(t-1) to unit j of h_t, so use W_hh @ h",
        "h0_missing": "H starts with h_0: H[0] = h0 and H[t] = h_t, shape (T+1, n_h, m)",
        "yhat_prev": "yhat_t is computed from h_t = H[t], the state after step t, not from h_(t-1)",
        "yhat_from_z": "yhat_t = W_hy h_t + b_y uses h_t = tanh(z_t), not z_t",
    }

    def cases(self, rng):
        if rng is None:
            p, X, h0, _ = _visible_problem()
            return [Case(part, (p, X, h0), "T = 3, n_x = 1, n_h = 2, n_y = 1, m = 2") for part in self.parts]
        out = []
        for T, n_x, n_h, n_y, m in [*_shapes(rng), (LONG_T, 2, 3, 1, 2)]:
            p, X, h0, _ = _problem(rng, T, n_x, n_h, n_y, m)
            label = f"T = {T}, n_x = {n_x}, n_h = {n_h}, n_y = {n_y}, m = {m}"
            out += [Case(part, (p, X, h0), label) for part in self.parts]
        return out

    def run(self, args, elman_forward):
        return call(elman_forward, *args)

    def judge(self, case, out):
        p, X, h0 = case.args
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            _fail("type", f"elman_forward should return the pair (H, Yhat), got {type_name(out)}"
                  + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
        H, Yhat = rnn.forward(p, X, h0)
        keys = ["no_recurrence", "stale_state", "whh_transposed"]
        wrong = {k: _forward_variant(p, X, h0, k) for k in [*keys, "yhat_prev", "yhat_from_z"]}
        if case.part == "H":
            mistakes = [(wrong[k][0], self.hint(k)) for k in keys] + [(H[1:], self.hint("h0_missing"))]
            check_array(out[0], H, f"H ({case.label})", mistakes=mistakes)
        else:
            mistakes = [(wrong[k][1], self.hint(k)) for k in [*keys, "yhat_prev", "yhat_from_z"]]
            check_array(out[1], Yhat, f"Yhat ({case.label})", mistakes=mistakes)


# ------------------------------------------------------------------------------------------
# ex11_bptt
def _bptt_variant(p, X, Y, H, variant: str) -> dict:
    """BPTT with one classic slip (for the diagnoses); same layout as :func:`backproplab.rnn.backward`."""
    T, _, m = X.shape
    E = np.einsum("yh,thm->tym", p["W_hy"], H[1:]) + p["b_y"] - Y
    g = {k: np.zeros_like(v) for k, v in p.items()}
    carry = np.zeros_like(H[0])
    for t in range(T, 0, -1):
        e = E[t - 1]
        dh = p["W_hy"].T @ e + (0.0 if variant == "no_recurrent" else carry)
        delta = dh if variant == "no_slope" else (1.0 - H[t] ** 2) * dh
        carry = p["W_hh"].T @ delta
        if variant == "skips_step" and t == 1:
            break
        g["W_xh"] += delta @ X[t - 1].T
        g["W_hh"] += delta @ (H[t] if variant == "pairs_h_t" else H[t - 1]).T
        g["b_h"] += delta.sum(axis=1, keepdims=True)
        g["W_hy"] += e @ (H[t - 1] if variant == "output_prev" else H[t]).T
        g["b_y"] += e.sum(axis=1, keepdims=True)
    return {k: v / m for k, v in g.items()}


class BPTT(Exercise):
    id = "ex11_bptt"
    names = ("elman_bptt",)
    parts: ClassVar[dict] = {"output": 1, "W_xh": 1, "W_hh": 2, "b_h": 1}
    KEYS: ClassVar[dict] = {"output": ("W_hy", "b_y"), "W_xh": ("W_xh",), "W_hh": ("W_hh",), "b_h": ("b_h",)}
    routes = ("backproplab.rnn", "backproplab.gradcheck.numerical_gradient")
    hints: ClassVar[dict] = {
        "no_recurrent": "the recurrent term is missing: dl/dh_t also receives W_hh^T delta_(t+1) from step t+1",
        "no_slope": "delta_t = dl/dz_t needs tanh's slope: multiply dl/dh_t by 1 - h_t**2",
        "pairs_h_t": "dW_hh pairs delta_t with the state that entered step t, h_(t-1) = H[t-1], not h_t = H[t]",
        "skips_step": "the sums run over every step t = 1..T: step 1 (with x_1 = X[0] and h_0 = H[0]) counts too",
        "output_prev": "dW_hy pairs e_t with h_t = H[t], the state yhat_t was computed from",
    }
    PART_HINTS: ClassVar[dict] = {"output": ("output_prev", "skips_step"),
                  "W_xh": ("no_recurrent", "no_slope", "skips_step"),
                  "W_hh": ("no_recurrent", "no_slope", "pairs_h_t", "skips_step"),
                  "b_h": ("no_recurrent", "no_slope", "skips_step")}

    def cases(self, rng):
        if rng is None:
            p, X, h0, Y = _visible_problem()
            H, _ = rnn.forward(p, X, h0)
            return [Case(part, (p, X, Y, H), "T = 3, n_x = 1, n_h = 2, n_y = 1, m = 2") for part in self.parts]
        out = []
        for T, n_x, n_h, n_y, m in [*_shapes(rng), (LONG_T, 2, 3, 1, 2)]:
            p, X, h0, Y = _problem(rng, T, n_x, n_h, n_y, m)
            H, _ = rnn.forward(p, X, h0)
            label = f"T = {T}, n_x = {n_x}, n_h = {n_h}, n_y = {n_y}, m = {m}"
            seed = int(rng.integers(1 << 30))
            out += [Case(part, (p, X, Y, H), label, ref=seed) for part in self.parts]
        return out

    def run(self, args, elman_bptt):
        return call(elman_bptt, *args)

    def judge(self, case, out):
        p, X, Y, H = case.args
        keys = self.KEYS[case.part]
        if not isinstance(out, dict):
            _fail("type", f"elman_bptt should return a dict of gradients with the keys of params, got {type_name(out)}")
        for k in keys:
            if k not in out:
                _fail("type", f"the gradients have no key {k!r} (use the keys of params: {', '.join(rnn.PARAM_NAMES)})")
        m = X.shape[2]
        h0 = H[0]
        if X.shape[0] > 200:
            self._judge_directions(case, out, keys, p, X, Y, h0)
            return
        wrong = {v: _bptt_variant(p, X, Y, H, v) for v in self.PART_HINTS[case.part]}
        for k in keys:
            ref = numerical_gradient(lambda _: rnn.cost(p, X, Y, h0), p[k])
            mistakes = [(wrong[v][k], self.hint(v)) for v in self.PART_HINTS[case.part]]
            check_array(out[k], ref, f"grads[{k!r}] ({case.label})", rtol=1e-5, atol=1e-8, batch_size=m,
                        mistakes=mistakes)

    def _judge_directions(self, case, out, keys, p, X, Y, h0) -> None:
        """Directional finite differences: <grad, V> against (C(p + hV) - C(p - hV)) / 2h."""
        rng = np.random.default_rng(case.ref)
        h = 1e-5
        for k in keys:
            g = out[k]
            if not isinstance(g, np.ndarray) or g.shape != p[k].shape:
                shape = g.shape if isinstance(g, np.ndarray) else type_name(g)
                _fail("shape", f"grads[{k!r}] ({case.label}) should be an array of shape {p[k].shape}, got {shape}")
            if not np.all(np.isfinite(g)):
                _fail("nonfinite", f"grads[{k!r}] ({case.label}) holds NaN or inf")
            for _ in range(3):
                V = rng.normal(size=p[k].shape)
                V /= np.linalg.norm(V)
                plus, minus = dict(p), dict(p)
                plus[k], minus[k] = p[k] + h * V, p[k] - h * V
                numeric = (rnn.cost(plus, X, Y, h0) - rnn.cost(minus, X, Y, h0)) / (2 * h)
                analytic = float(np.sum(g * V))
                if abs(analytic - numeric) > 1e-5 * max(1.0, abs(numeric), float(np.linalg.norm(g))):
                    _fail("entries", f"grads[{k!r}] ({case.label}): along a random direction the gradient gives "
                                     f"{analytic:.6g}, finite differences {numeric:.6g}")


# ------------------------------------------------------------------------------------------
# ex11_clip
class Clip(Exercise):
    id = "ex11_clip"
    names = ("clip_gradients",)
    parts: ClassVar[dict] = {"above": 1, "below": 1}
    routes = ("backproplab.rnn.clip_by_norm", "backproplab.rnn.global_norm")
    hints: ClassVar[dict] = {
        "per_array": "each array was clipped by its own norm: scale all of them by max_norm / (the global norm of "
                     "all of them together), so the direction of the whole gradient is kept",
        "elementwise": "that clips each entry to [-max_norm, max_norm] (value clipping): scale the whole gradient "
                       "by max_norm / norm instead",
        "always": "gradients whose global norm is at most max_norm stay as they are: scale only when the norm "
                  "exceeds max_norm",
        "in_place": "clip_gradients changed the arrays passed to it: return new arrays (g * factor) in a new dict",
    }

    def cases(self, rng):
        if rng is None:
            g = {"W": np.array([[3.0, 0.0]]), "b": np.array([[4.0]])}      # global norm 5
            return [Case("above", (g, 1.0), "norm 5, max_norm 1"), Case("below", (g, 10.0), "norm 5, max_norm 10")]
        out = []
        for part, factors in (("above", (0.5, 1e-3, 0.01)), ("below", (2.0, 1.5, 40.0))):
            for f in factors:
                k = int(rng.integers(1, 6))
                g = {name: rng.normal(size=(int(rng.integers(1, 5)), int(rng.integers(1, 4)))) * rng.uniform(0.1, 5)
                     for name in rnn.PARAM_NAMES[:k]}
                norm = float(np.sqrt(sum(np.sum(v * v) for v in g.values())))
                out.append(Case(part, (g, norm * f), f"{k} arrays of global norm {norm:.3g}, max_norm {norm * f:.3g}"))
        return out

    def run(self, args, clip_gradients):
        grads, max_norm = args
        out = call(clip_gradients, grads, max_norm)
        return out, grads

    def judge(self, case, out):
        grads, max_norm = case.args
        got, after = out
        if not isinstance(got, dict):
            _fail("type", f"clip_gradients should return a dict like grads, got {type_name(got)}")
        if set(got) != set(grads):
            _fail("type", f"the result should have the keys of grads ({', '.join(grads)}), got {', '.join(map(str, got))}")
        if not all(isinstance(after.get(k), np.ndarray) and np.array_equal(after[k], grads[k]) for k in grads):
            _fail("known", self.hint("in_place"))
        norm = float(np.sqrt(sum(np.sum(v * v) for v in grads.values())))
        factor = max_norm / norm if norm > max_norm else 1.0
        expected = {k: v * factor for k, v in grads.items()}
        if not all(_same(got[k], expected[k]) for k in grads):
            wrong = [({k: v * min(1.0, max_norm / max(float(np.linalg.norm(v)), 1e-300)) for k, v in grads.items()},
                      "per_array"),
                     ({k: np.clip(v, -max_norm, max_norm) for k, v in grads.items()}, "elementwise"),
                     ({k: v * (max_norm / norm) for k, v in grads.items()}, "always")]
            for w, key in wrong:
                if not all(_same(w[k], expected[k]) for k in grads) and all(_same(got[k], w[k]) for k in grads):
                    _fail("known", f"{case.label}: {self.hint(key)}")
        for k in grads:
            check_array(got[k], expected[k], f"{k} ({case.label})")


def _same(a, b) -> bool:
    return isinstance(a, np.ndarray) and a.shape == b.shape and np.issubdtype(a.dtype, np.number) \
        and bool(np.allclose(a, b, rtol=1e-7, atol=1e-10))
