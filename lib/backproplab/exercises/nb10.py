r"""Checks of notebook 10 (beyond plain backprop).

References come from routes independent of the answers:

- feedback alignment: the library's matrix route :func:`backproplab.matrix.backward` run with the
  feedback matrices in place of the forward weights ($(B^{\top})^{\top} \delta = B \delta$), not the
  feedback-alignment module the notebook reimplements;
- the residual Jacobian: centered finite differences of the residuals on the library's forward pass;
  the Levenberg-Marquardt step: a least-squares solve of the augmented system
  $\begin{pmatrix} J \\ \sqrt\lambda I \end{pmatrix} \Delta \approx \begin{pmatrix} -r \\ 0 \end{pmatrix}$,
  not the normal equations;
- quantization: the nearest of the $2q + 1$ grid levels, found by search, not by rounding;
- the hidden-size sweep: the table the kernel's ``fit`` looked its answers up in.
"""

from __future__ import annotations

import numpy as np

from .. import matrix
from ..grading import check_array, check_arrays, type_name
from ..levenberg_marquardt import flatten_params, unflatten_params
from ._core import Case, Exercise, call
from ._judging import fail as _fail

__all__ = ["FeedbackAlignment", "HiddenSize", "LevenbergMarquardt", "Quantize"]


def _network(rng: np.random.Generator, sizes, scale: float = 1.0):
    weights = [rng.normal(0.0, scale / np.sqrt(sizes[i - 1]), (sizes[i], sizes[i - 1])) for i in range(1, len(sizes))]
    biases = [rng.normal(0.0, 0.3, (sizes[i], 1)) for i in range(1, len(sizes))]
    return weights, biases


# ------------------------------------------------------------------------------------------
class FeedbackAlignment(Exercise):
    """The backward pass of feedback alignment: $\\delta^l = f'(Z^l) \\odot B^l \\delta^{l+1}$."""

    id = "ex10_feedback_alignment"
    names = ("fa_backward",)
    parts = {"output": 1, "hidden": 2}
    routes = ("backproplab.feedback_alignment", "backproplab.matrix.backward", "backproplab.matrix.hidden_delta",
              "backproplab.matrix.linear_backward", "backproplab.layerwise")
    hints = {
        "used_WT": "these are backprop's true gradients: the hidden deltas still use W^T; feedback alignment "
                   "sends delta back through the fixed random feedback[l-1] instead",
        "B_transposed": "feedback[l-1] already has the shape of (W^(l+1))^T: multiply delta by it as it is, "
                        "not by its transpose",
        "missing_slope": "the hidden deltas lack the activation's slope: delta^l = f'(Z^l) * (B^l delta^(l+1))",
    }
    OUTPUTS = (("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"), ("identity", "squared_error"))

    def _case_args(self, rng, sizes, hidden_acts, output):
        weights, biases = _network(rng, sizes)
        feedback = [rng.normal(0.0, 1.0 / np.sqrt(W.shape[0]), W.T.shape) for W in weights[1:]]
        m = int(rng.integers(2, 6))
        X = rng.normal(0.0, 1.0, (sizes[0], m))
        act_L, loss = output
        if act_L == "softmax":
            Y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], m)]
        elif act_L == "sigmoid":
            Y = (rng.random((sizes[-1], m)) < 0.5).astype(np.float64)
        else:
            Y = rng.normal(0.0, 1.0, (sizes[-1], m))
        acts = [*hidden_acts, act_L]
        A_L, caches = matrix.forward(weights, biases, X, acts)
        delta_L = matrix.output_delta(A_L, caches[-1][1], Y, act_L, loss)
        return (weights, feedback, [tuple(c) for c in caches], acts, delta_L)

    def cases(self, rng):
        if rng is None:
            args = self._case_args(np.random.default_rng(10), [2, 3, 3, 3], ["tanh", "tanh"], self.OUTPUTS[0])
            return [Case(part, args, "a 2-3-3-3 tanh network with a softmax output") for part in self.parts]
        out = []
        for trial in range(4):
            L = int(rng.integers(2, 5))
            if trial == 0:
                sizes = [int(rng.integers(1, 4))] + [int(rng.integers(2, 5))] * L
            else:
                sizes = [int(rng.integers(1, 5)) for _ in range(L + 1)]
            output = self.OUTPUTS[trial % 3]
            if output[0] == "softmax":
                sizes[-1] = max(sizes[-1], 2)
            hidden = [str(rng.choice(["tanh", "sigmoid", "relu", "softplus"])) for _ in range(L - 1)]
            args = self._case_args(rng, sizes, hidden, output)
            label = f"a {'-'.join(map(str, sizes))} network ({', '.join(args[3])})"
            out += [Case(part, args, label) for part in self.parts]
        return out

    def run(self, args, fa_backward):
        return call(fa_backward, *args)

    def judge(self, case, out):
        weights, feedback, caches, acts, delta_L = case.args
        L = len(weights)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            _fail("type", f"fa_backward should return the pair (dW, db), got {type_name(out)}")
        dW, db = out
        for name, got in (("dW", dW), ("db", db)):
            if not isinstance(got, (list, tuple)) or len(got) != L:
                _fail("type", f"{name} should be a list of {L} arrays (one per layer), got {type_name(got)}"
                              + (f" of length {len(got)}" if isinstance(got, (list, tuple)) else ""))
        ref_dW, ref_db = matrix.backward([weights[0], *[B.T for B in feedback]], caches, acts, delta_L)
        if case.part == "output":
            check_array(dW[-1], ref_dW[-1], f"dW[{L}] ({case.label})")
            check_array(db[-1], ref_db[-1], f"db[{L}] ({case.label})")
            return
        bp_dW, bp_db = matrix.backward(weights, caches, acts, delta_L)
        flat_dW, flat_db = matrix.backward([weights[0], *[B.T for B in feedback]], caches,
                                           ["identity"] * L, delta_L)
        mistakes_W = [(bp_dW[:-1], self.hint("used_WT")), (flat_dW[:-1], self.hint("missing_slope"))]
        mistakes_b = [(bp_db[:-1], self.hint("used_WT")), (flat_db[:-1], self.hint("missing_slope"))]
        if all(B.shape[0] == B.shape[1] for B in feedback):
            tr_dW, tr_db = matrix.backward([weights[0], *feedback], caches, acts, delta_L)
            mistakes_W.append((tr_dW[:-1], self.hint("B_transposed")))
            mistakes_b.append((tr_db[:-1], self.hint("B_transposed")))
        check_arrays(list(dW[:-1]), ref_dW[:-1], f"dW ({case.label})", mistakes=mistakes_W)
        check_arrays(list(db[:-1]), ref_db[:-1], f"db ({case.label})", mistakes=mistakes_b)


# ------------------------------------------------------------------------------------------
class LevenbergMarquardt(Exercise):
    """The residual Jacobian by per-example backprop, and one damped Gauss-Newton step."""

    id = "ex10_levenberg_marquardt"
    names = ("residual_jacobian", "lm_step")
    parts = {"jacobian": 2, "step": 2}
    routes = ("backproplab.levenberg_marquardt.residual_jacobian", "backproplab.levenberg_marquardt.lm_step",
              "backproplab.gradcheck.numerical_gradient")
    hints = {
        "jac_mean": "J is divided by m: row j is one residual's own gradient, not a batch mean (no 1/m)",
        "jac_biases_first": "the columns are in the wrong order: theta holds the weights W^1..W^L first, "
                            "then the biases b^1..b^L (as flatten_params)",
        "jac_column_major": "each W^l is flattened column by column: flatten it row by row, W.ravel(), "
                            "as flatten_params does",
        "lm_damping_sign": "the damping is subtracted: solve (J^T J + lam I) Delta = -J^T r, with + lam",
        "lm_step_sign": "the step goes uphill: theta_new = theta - (J^T J + lam I)^(-1) J^T r",
        "lm_no_damping": "lam is ignored (a pure Gauss-Newton step): add lam times the identity to J^T J",
    }

    # -- cases ------------------------------------------------------------------------------
    def cases(self, rng):
        if rng is None:
            r = np.random.default_rng(1010)
            weights, biases = _network(r, [2, 3, 1], scale=1.5)
            X = r.normal(0.0, 1.0, (2, 4))
            J = np.array([[1.0, 0.5], [0.0, 2.0], [-1.0, 1.0]])
            return [Case("jacobian", ("jacobian", weights, biases, X, ["tanh", "identity"]),
                         "J of a 2-3-1 tanh network on m=4 examples"),
                    Case("step", ("step", J, np.array([0.5, -1.0, 2.0]), np.array([1.0, -1.0]), 0.5),
                         "one step with J (3, 2), lam=0.5")]
        out = []
        for _ in range(4):
            L = int(rng.integers(1, 4))
            sizes = [int(rng.integers(1, 4))] + [int(rng.integers(2, 5)) for _ in range(L - 1)] + [1]
            acts = [str(rng.choice(["tanh", "sigmoid", "softplus"])) for _ in range(L - 1)]
            acts.append(str(rng.choice(["identity", "identity", "tanh"])))
            weights, biases = _network(rng, sizes, scale=1.5)
            m = int(rng.integers(1, 7))
            X = rng.normal(0.0, 1.0, (sizes[0], m))
            out.append(Case("jacobian", ("jacobian", weights, biases, X, acts),
                            f"J of a {'-'.join(map(str, sizes))} network ({', '.join(acts)}) on m={m} examples"))
        for N, P, lam in [(5, 3, 1e-3), (4, 6, 0.1), (8, 4, 1e3), (3, 3, 2.0)]:
            J = rng.normal(0.0, 1.0, (N, P))
            out.append(Case("step", ("step", J, rng.normal(0.0, 1.0, N), rng.normal(0.0, 1.0, P), lam),
                            f"one step with J ({N}, {P}), lam={lam:g}"))
        return out

    def run(self, args, residual_jacobian, lm_step):
        if args[0] == "jacobian":
            return call(residual_jacobian, *args[1:])
        return call(lm_step, *args[1:])

    # -- trusted side ------------------------------------------------------------------------
    @staticmethod
    def _fd_jacobian(weights, biases, X, acts, h: float = 1e-5) -> np.ndarray:
        like = list(weights) + list(biases)
        L = len(weights)
        theta = flatten_params(like)

        def out(th):
            ps = unflatten_params(th, like)
            return matrix.forward(ps[:L], ps[L:], X, acts)[0].ravel(order="F")

        J = np.empty((X.shape[1] * weights[-1].shape[0], theta.size))
        for k in range(theta.size):
            e = np.zeros_like(theta)
            e[k] = h
            J[:, k] = (out(theta + e) - out(theta - e)) / (2 * h)
        return J

    def judge(self, case, out):
        if case.args[0] == "jacobian":
            self._judge_jacobian(case, out)
        else:
            self._judge_step(case, out)

    def _judge_jacobian(self, case, got):
        _, weights, biases, X, acts = case.args
        ref = self._fd_jacobian(weights, biases, X, acts)
        m = X.shape[1]
        # the same Jacobian with the columns of each W^l in column-major order, or the biases first
        nW = sum(W.size for W in weights)
        perm_F, k = [], 0
        for W in weights:
            perm_F += list(k + np.arange(W.size).reshape(W.shape).ravel(order="F"))
            k += W.size
        perm_F += list(range(nW, ref.shape[1]))
        perm_b = list(range(nW, ref.shape[1])) + list(range(nW))
        mistakes = [(ref / m, self.hint("jac_mean")), (ref[:, perm_b], self.hint("jac_biases_first")),
                    (ref[:, perm_F], self.hint("jac_column_major"))]
        check_array(got, ref, f"J ({case.label})", rtol=1e-6, atol=1e-8, mistakes=mistakes)

    def _judge_step(self, case, got):
        _, J, r, theta, lam = case.args
        P = theta.size
        A = np.vstack([J, np.sqrt(lam) * np.eye(P)])
        delta = np.linalg.lstsq(A, np.concatenate([-r, np.zeros(P)]), rcond=None)[0]
        ref = theta + delta
        mistakes = [(theta - delta, self.hint("lm_step_sign"))]
        with np.errstate(all="ignore"):
            for M, key in ((J.T @ J - lam * np.eye(P), "lm_damping_sign"), (J.T @ J, "lm_no_damping")):
                try:
                    mistakes.append((theta - np.linalg.solve(M, J.T @ r), self.hint(key)))
                except np.linalg.LinAlgError:
                    pass
        check_array(got, ref, f"the new theta ({case.label})", rtol=1e-7, atol=1e-10, mistakes=mistakes)


# ------------------------------------------------------------------------------------------
class Quantize(Exercise):
    """Symmetric uniform quantization with clipping, $s\\,\\mathrm{clip}(\\mathrm{round}(W/s), -q, q)$."""

    id = "ex10_quantize"
    names = ("quantize",)
    parts = {"grid": 2, "clip": 1}
    routes = ("backproplab.quantization.quantize",)
    hints = {
        "no_rounding": "the values are clipped but not rounded: snap W / s to the nearest integer (np.round) "
                       "before scaling back by s",
        "no_clipping": "values beyond alpha are not clipped: clip the integer codes to [-q, q] (|W| > alpha "
                       "becomes +-alpha)",
        "levels": "the grid has the wrong number of levels: q = 2**(bits - 1) - 1 and s = alpha / q",
        "floor": "the values are truncated, not rounded to the nearest level: use np.round, not floor or int()",
    }

    def cases(self, rng):
        if rng is None:
            W1 = np.array([[0.12, -0.47, 0.33], [0.9, -1.0, 0.07]])
            W2 = np.array([[2.3, -0.2], [-1.7, 0.61]])
            return [Case("grid", (W1, 3, 1.0), "W (2, 3) in [-1, 1] at 3 bits, alpha=1"),
                    Case("clip", (W2, 4, 1.0), "W (2, 2) with entries beyond alpha=1, at 4 bits")]
        out = []
        for bits in (2, 3, 5, 8):
            shape = tuple(int(v) for v in rng.integers(1, 6, size=int(rng.integers(1, 3))))
            W = rng.normal(0.0, 0.5, shape)
            alpha = float(np.max(np.abs(W)) * rng.uniform(1.0, 1.3))
            out.append(Case("grid", (W, bits, alpha), f"W {shape} within [-alpha, alpha] at {bits} bits"))
            W = rng.normal(0.0, 1.0, (4, 5))
            alpha = float(np.quantile(np.abs(W), 0.6))
            out.append(Case("clip", (W, bits, alpha), f"W (4, 5) with 40% of entries beyond alpha, at {bits} bits"))
        return out

    def run(self, args, quantize):
        W = args[0]
        W0 = W.copy()
        got = call(quantize, *args)
        return {"result": got, "changed": not np.array_equal(W, W0)}

    @staticmethod
    def _nearest(W, q, s):
        grid = s * np.arange(-q, q + 1)
        return grid[np.argmin(np.abs(W[..., None] - grid), axis=-1)]

    def judge(self, case, out):
        W, bits, alpha = case.args
        if not isinstance(out, dict) or "result" not in out:
            _fail("type", "the test could not read what quantize returned")
        if out.get("changed"):
            _fail("mutated", "quantize changed W: return a new array and leave W as it is")
        q = 2 ** (bits - 1) - 1
        s = alpha / q
        ref = self._nearest(W, q, s)
        mistakes = [(np.clip(W, -alpha, alpha), self.hint("no_rounding")),
                    (s * np.round(W / s), self.hint("no_clipping")),
                    (s * np.clip(np.floor(W / s), -q, q), self.hint("floor")),
                    (s * np.clip(np.trunc(W / s), -q, q), self.hint("floor"))]
        for q_wrong in (2 ** (bits - 1), 2**bits - 1, 2**bits):
            s_wrong = alpha / q_wrong
            mistakes.append((s_wrong * np.clip(np.round(W / s_wrong), -q_wrong, q_wrong), self.hint("levels")))
        check_array(out["result"], ref, f"quantize ({case.label})", rtol=1e-9, atol=1e-12, mistakes=mistakes)


# ------------------------------------------------------------------------------------------
class HiddenSize(Exercise):
    """A validation sweep over hidden sizes and seeds, and the choice it supports."""

    id = "ex10_hidden_size"
    names = ("hidden_size_sweep", "choose_hidden_size")
    parts = {"sweep": 1, "choose": 2}
    routes = ("backproplab.hidden_size.sweep", "backproplab.hidden_size.choose")
    hints = {
        "sweep_swapped": "the two arrays are swapped: return (train_losses, val_losses), in the order fit "
                         "returns its two numbers",
        "choose_by_train": "this is the size with the lowest training loss, which always favours the largest "
                           "network: choose by the validation loss",
        "choose_best_seed": "this is the size of the single luckiest run: average the validation loss over the "
                            "seeds first, then take the lowest mean",
        "choose_index": "this is the position in sizes, not the size: return sizes[i]",
    }

    @staticmethod
    def _table(rng, sizes, K):
        """Synthetic losses: training falls with size, validation is U-shaped, seeds scatter."""
        n = np.log2(np.asarray(sizes, dtype=np.float64))[:, None]
        centre = rng.uniform(n.min(), n.max())
        train = 0.5 * np.exp(-0.8 * n) + 0.01 * rng.random((len(sizes), K))
        val = 0.05 + 0.02 * (n - centre) ** 2 + 0.03 * rng.random((len(sizes), K))
        return train, val

    def cases(self, rng):
        if rng is None:
            sizes = [1, 2, 4, 8, 16]
            train = np.array([[0.40, 0.41, 0.40], [0.21, 0.20, 0.22], [0.10, 0.12, 0.11],
                              [0.05, 0.06, 0.05], [0.02, 0.02, 0.03]])
            val = np.array([[0.45, 0.46, 0.44], [0.28, 0.27, 0.30], [0.18, 0.20, 0.19],
                            [0.25, 0.15, 0.26], [0.33, 0.31, 0.35]])
            return [Case("sweep", ("sweep", sizes, [0, 1, 2], train, val), "5 sizes x 3 seeds"),
                    Case("choose", ("choose", sizes, train, val), "5 sizes x 3 seeds")]
        out = []
        for _ in range(3):
            S, K = int(rng.integers(3, 7)), int(rng.integers(2, 5))
            sizes = [int(v) for v in np.sort(rng.choice(np.arange(1, 65), S, replace=False))]
            seeds = [int(v) for v in rng.choice(1000, K, replace=False)]
            train, val = self._table(rng, sizes, K)
            out.append(Case("sweep", ("sweep", sizes, seeds, train, val), f"{S} sizes x {K} seeds"))
            out.append(Case("choose", ("choose", sizes, train, val), f"{S} sizes x {K} seeds"))
        sizes = [2, 4, 8, 16]
        train, val = self._table(rng, sizes, 3)
        val[2] = val[1] = np.min(val) - 0.01 * rng.random(3)       # two sizes tie for the best mean
        out.append(Case("choose", ("choose", sizes, train, val), "two sizes tie: the smaller one is chosen"))
        return out

    def run(self, args, hidden_size_sweep, choose_hidden_size):
        if args[0] == "choose":
            return {"result": call(choose_hidden_size, *args[1:])}
        _, sizes, seeds, train, val = args
        calls = []

        def fit(n_hidden, seed):
            calls.append([int(n_hidden), int(seed)])
            i, k = list(sizes).index(int(n_hidden)), list(seeds).index(int(seed))
            return float(train[i, k]), float(val[i, k])

        return {"result": call(hidden_size_sweep, list(sizes), list(seeds), fit), "calls": calls}

    def judge(self, case, out):
        if not isinstance(out, dict) or "result" not in out:
            _fail("type", "the test could not read the result")
        got = out["result"]
        if case.args[0] == "sweep":
            _, sizes, seeds, train, val = case.args
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                _fail("type", f"hidden_size_sweep should return the pair (train_losses, val_losses), got "
                              f"{type_name(got)}")
            calls = out.get("calls") or []
            if sorted(map(tuple, calls)) != sorted((n, s) for n in sizes for s in seeds):
                _fail("entries", f"hidden_size_sweep called fit {len(calls)} times for {len(sizes)} sizes x "
                                 f"{len(seeds)} seeds: call it exactly once for every (size, seed) pair")
            check_array(got[0], train, f"train_losses ({case.label})", mistakes=[(val, self.hint("sweep_swapped"))])
            check_array(got[1], val, f"val_losses ({case.label})", mistakes=[(train, self.hint("sweep_swapped"))])
            return
        _, sizes, train, val = case.args
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            _fail("type", f"choose_hidden_size should return a size (an int), got {type_name(got)}")
        got = int(got)
        mean = val.mean(axis=1)
        want = min(n for n, v in zip(sizes, mean) if v == mean.min())
        if got == want:
            return
        by_train = sizes[int(np.argmin(train.mean(axis=1)))]
        by_seed = sizes[int(np.argmin(val.min(axis=1)))]
        if got == sizes.index(want) and got not in sizes:
            _fail("known", f"choose_hidden_size ({case.label}): {self.hint('choose_index')}")
        if got == by_train != want:
            _fail("known", f"choose_hidden_size ({case.label}): {self.hint('choose_by_train')}")
        if got == by_seed != want:
            _fail("known", f"choose_hidden_size ({case.label}): {self.hint('choose_best_seed')}")
        if got == sizes.index(want):
            _fail("known", f"choose_hidden_size ({case.label}): {self.hint('choose_index')}")
        _fail("entries", f"choose_hidden_size ({case.label}): got {got}, expected {want} (the lowest mean "
                         "validation loss over the seeds; ties go to the smaller size)")
