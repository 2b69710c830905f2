r"""Checks of notebook 08 (training).

References come from routes independent of the answers:

- the update rules run on a quadratic cost inside the kernel, and the trusted side recomputes the
  whole trajectory from the rules' **unrolled** forms (momentum's
  $v_t = -\eta \sum_{k \le t} \beta^{t-k} g_k$, Adam's $u_t = (1-\beta_1) \sum_k \beta_1^{t-k} g_k$, ...),
  not from the recursions the notebook asks for;
- the training loop is replayed with the library's matrix route and the batch order drawn from the
  same seed;
- the digits network returned by the kernel is scored by the library's forward pass on the test
  split, outside the kernel: an accuracy the kernel reports is never used.
"""

from __future__ import annotations

import numpy as np

from .. import activations as _act
from .. import datasets, matrix
from ..grading import check_array, check_arrays, type_name
from ._core import Case, Exercise, call
from ._judging import fail as _fail

__all__ = ["Digits", "TrainLoop", "UpdateRules"]


def _flat(params) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in params])


def _unflat(theta: np.ndarray, like) -> list[np.ndarray]:
    out, k = [], 0
    for p in like:
        n = int(np.size(p))
        out.append(theta[k:k + n].reshape(np.shape(p)))
        k += n
    return out


def _is_array_list(x, like) -> bool:
    return (isinstance(x, (list, tuple)) and len(x) == len(like)
            and all(isinstance(a, np.ndarray) and a.shape == np.shape(b) for a, b in zip(x, like)))


# ------------------------------------------------------------------------------------------
class UpdateRules(Exercise):
    """Trajectories of the three update rules on $C(\\theta) = \\frac12 \\theta^\\top H \\theta - c^\\top \\theta$."""

    id = "ex08_update_rules"
    names = ("sgd_update", "momentum_update", "adam_update")
    parts = {"sgd": 1, "momentum": 2, "adam": 3}
    routes = ("backproplab.optim.sgd_step", "backproplab.optim.momentum_step", "backproplab.optim.adam_step")
    hints = {
        "sgd_sign": "the step climbs: move against the gradient, params - lr * grads",
        "momentum_sign": "the path climbs: the velocity collects -lr * grads (v = beta * v - lr * g) and "
                         "params + v then goes downhill",
        "momentum_forgets": "the velocity passed in is ignored (this is plain gradient descent): the new "
                            "velocity is beta * velocity - lr * grads",
        "adam_no_bias_correction": "no bias correction: divide u by (1 - beta1**t) and s by (1 - beta2**t) "
                                   "before the step",
        "adam_no_sqrt": "the step divides by s_hat + eps: it is u_hat / (sqrt(s_hat) + eps), a square root",
        "adam_only_u_corrected": "u is bias-corrected but s is not: s_hat = s / (1 - beta2**t) as well",
    }
    FN = {"sgd": "sgd_update", "momentum": "momentum_update", "adam": "adam_update"}
    STATE = {"sgd": (), "momentum": ("velocity",), "adam": ("u", "s")}

    # -- cases ------------------------------------------------------------------------------
    @staticmethod
    def _problem(rng: np.random.Generator, shapes, cond: float, scale: float = 1.0):
        params = [rng.normal(0.0, 1.0, s) for s in shapes]
        P = sum(int(np.prod(s)) for s in shapes)
        Q, _ = np.linalg.qr(rng.normal(size=(P, P)))
        lam = np.exp(rng.uniform(0.0, np.log(cond), P))
        H = (Q * lam) @ Q.T
        H = (H + H.T) / 2
        c = scale * rng.normal(0.0, 1.0, P)
        return params, H, c, float(lam.max())

    def cases(self, rng):
        if rng is None:
            params = [np.array([[1.0, -2.0]]), np.array([[0.5]])]
            H = np.diag([1.0, 4.0, 2.0])
            c = np.array([0.5, -1.0, 0.0])
            return [
                Case("sgd", ("sgd", params, H, c, {"lr": 0.1}, 3), "3 steps of sgd_update, lr=0.1"),
                Case("momentum", ("momentum", params, H, c, {"lr": 0.1, "beta": 0.9}, 3),
                     "3 steps of momentum_update, lr=0.1, beta=0.9"),
                Case("adam", ("adam", params, H, c, {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, 3),
                     "3 steps of adam_update, lr=0.1"),
            ]
        out = []
        shapes_pool = [[(2, 3), (2, 1)], [(1, 1)], [(3, 2), (1, 3), (3, 1), (1, 1)], [(4,)], [(2, 2), (2, 1)]]
        for rule in ("sgd", "momentum", "adam"):
            for trial in range(4):
                shapes = shapes_pool[int(rng.integers(len(shapes_pool)))]
                scale = 1e3 if (rule == "adam" and trial == 3) else 1.0
                params, H, c, lam_max = self._problem(rng, shapes, cond=float(rng.uniform(2, 30)), scale=scale)
                steps = int(rng.integers(4, 9))
                if rule == "sgd":
                    s = {"lr": float(rng.uniform(0.1, 1.5) / lam_max)}
                elif rule == "momentum":
                    s = {"lr": float(rng.uniform(0.05, 0.5) / lam_max), "beta": float(rng.uniform(0.5, 0.95))}
                else:
                    s = {"lr": float(rng.uniform(0.01, 0.2)), "beta1": float(rng.uniform(0.8, 0.95)),
                         "beta2": float(rng.uniform(0.9, 0.9999)), "eps": float(10.0 ** rng.uniform(-8, -6))}
                label = f"{steps} steps of {self.FN[rule]} on parameters of shapes {[tuple(x) for x in shapes]}"
                out.append(Case(rule, (rule, params, H, c, s, steps), label))
        return out

    # -- kernel side -------------------------------------------------------------------------
    def run(self, args, sgd_update, momentum_update, adam_update):
        rule, params, H, c, s, steps = args
        fn = {"sgd": sgd_update, "momentum": momentum_update, "adam": adam_update}[rule]
        like = [np.asarray(p) for p in params]
        state = [[np.zeros_like(p, dtype=np.float64) for p in like] for _ in self.STATE[rule]]
        results, changed = [], None
        for t in range(1, steps + 1):
            try:
                grads = _unflat(H @ _flat(params) - c, like)
            except Exception:  # noqa: BLE001 - a malformed output: the judge names it
                break
            before = [[np.array(a, copy=True) for a in group] for group in (params, grads, *state)]
            if rule == "sgd":
                res = call(fn, params, grads, s["lr"])
            elif rule == "momentum":
                res = call(fn, params, grads, state[0], s["lr"], s["beta"])
            else:
                res = call(fn, params, grads, state[0], state[1], t, s["lr"], s["beta1"], s["beta2"], s["eps"])
            names = ("params", "grads", *self.STATE[rule])
            for name, group, old in zip(names, (params, grads, *state), before):
                if changed is None and not all(np.array_equal(a, b) for a, b in zip(group, old)):
                    changed = name
            results.append(res)
            if rule == "sgd":
                params = res
            elif isinstance(res, (tuple, list)) and len(res) == 1 + len(state):
                params, state = res[0], list(res[1:])
            else:
                break
        return {"steps": results, "changed": changed}

    # -- trusted side ------------------------------------------------------------------------
    @staticmethod
    def _reference(rule, params, H, c, s, steps) -> np.ndarray:
        """The trajectory (steps, P) from the unrolled forms of the rules."""
        theta = _flat(params)
        gs, traj = [], []
        for t in range(1, steps + 1):
            gs.append(H @ theta - c)
            G = np.array(gs)                                     # (t, P): g_1 .. g_t
            if rule == "sgd":
                theta = _flat(params) - s["lr"] * G.sum(axis=0)
            elif rule == "momentum":
                w = s["beta"] ** np.arange(t - 1, -1, -1.0)      # beta^(t-k), k = 1..t
                theta = theta - s["lr"] * (w @ G)
            else:
                b1, b2 = s["beta1"], s["beta2"]
                u = (1 - b1) * (b1 ** np.arange(t - 1, -1, -1.0) @ G)
                sq = (1 - b2) * (b2 ** np.arange(t - 1, -1, -1.0) @ (G * G))
                theta = theta - s["lr"] * (u / (1 - b1**t)) / (np.sqrt(sq / (1 - b2**t)) + s["eps"])
            traj.append(theta.copy())
        return np.array(traj)

    @staticmethod
    def _mistake(rule, params, H, c, s, steps, kind) -> np.ndarray:
        """The trajectory of a known wrong rule, by its (wrong) recursion."""
        theta = _flat(params)
        vel = u = sq = np.zeros_like(theta)
        traj = []
        for t in range(1, steps + 1):
            g = H @ theta - c
            if kind == "sgd_sign":
                theta = theta + s["lr"] * g
            elif kind == "momentum_sign":
                vel = s["beta"] * vel + s["lr"] * g
                theta = theta + vel
            elif kind == "momentum_forgets":
                theta = theta - s["lr"] * g
            else:
                b1, b2, eps = s["beta1"], s["beta2"], s["eps"]
                u = b1 * u + (1 - b1) * g
                sq = b2 * sq + (1 - b2) * g * g
                if kind == "adam_no_bias_correction":
                    theta = theta - s["lr"] * u / (np.sqrt(sq) + eps)
                elif kind == "adam_no_sqrt":
                    theta = theta - s["lr"] * (u / (1 - b1**t)) / (sq / (1 - b2**t) + eps)
                else:                                            # adam_only_u_corrected
                    theta = theta - s["lr"] * (u / (1 - b1**t)) / (np.sqrt(sq) + eps)
            traj.append(theta.copy())
        return np.array(traj)

    MISTAKES = {"sgd": ("sgd_sign",), "momentum": ("momentum_sign", "momentum_forgets"),
                "adam": ("adam_no_bias_correction", "adam_no_sqrt", "adam_only_u_corrected")}

    def _params_of(self, rule, res, k, like) -> list:
        fn = self.FN[rule]
        state = self.STATE[rule]
        if rule == "sgd":
            new = res
        else:
            want = f"({', '.join(('params',) + state)})"
            if not (isinstance(res, (tuple, list)) and len(res) == 1 + len(state)):
                _fail("type", f"{fn} should return the tuple {want}, got {type_name(res)}"
                              + (f" of length {len(res)}" if isinstance(res, (tuple, list)) else ""))
            new = res[0]
            for name, group in zip(state, res[1:]):
                if not _is_array_list(group, like):
                    _fail("type", f"{fn}: the new {name} should be a list of arrays shaped like params "
                                  f"{[tuple(np.shape(p)) for p in like]}")
        if not isinstance(new, (list, tuple)) or len(new) != len(like):
            _fail("type", f"{fn} should return the new params as a list of {len(like)} arrays, got {type_name(new)}")
        for i, (a, p) in enumerate(zip(new, like)):
            if not isinstance(a, np.ndarray):
                _fail("type", f"{fn}: new params[{i}] should be a numpy array, got {type_name(a)}")
            if a.shape != np.shape(p):
                _fail("shape", f"{fn}: new params[{i}] has shape {a.shape}, expected {np.shape(p)} (like params[{i}])")
            if not np.all(np.isfinite(a)):
                _fail("nonfinite", f"{fn}: new params[{i}] after step {k} contains NaN or inf")
        return list(new)

    def judge(self, case, out):
        rule, params, H, c, s, steps = case.args
        fn = self.FN[rule]
        if not (isinstance(out, dict) and isinstance(out.get("steps"), list)):
            _fail("type", f"{fn}: the test could not read the trajectory")
        if out.get("changed"):
            _fail("mutated", f"{fn} changed the {out['changed']} passed to it: return new arrays and leave "
                             "the inputs as they are (no +=, -=, *= on them)")
        got = [self._params_of(rule, res, k, params) for k, res in enumerate(out["steps"], start=1)]
        if len(got) != steps:
            _fail("type", f"{fn}: the trajectory stopped after {len(got)} of {steps} steps")
        ref = self._reference(rule, params, H, c, s, steps)
        flat = np.array([_flat(p) for p in got])
        close = {"rtol": 1e-7, "atol": 1e-10}
        if np.allclose(flat, ref, **close):
            return
        for kind in self.MISTAKES[rule]:
            wrong = self._mistake(rule, params, H, c, s, steps, kind)
            if np.allclose(flat, wrong, **close) and not np.allclose(wrong, ref, **close):
                _fail("known", f"{fn} ({case.label}): {self.hint(kind)}")
        for k in range(steps):
            want = _unflat(ref[k], params)
            for i in range(len(params)):
                check_array(got[k][i], want[i], f"{fn}: params[{i}] after step {k + 1} ({case.label})", **close)


# ------------------------------------------------------------------------------------------
class TrainLoop(Exercise):
    """The minibatch loop: a new permutation every epoch, every example once, the epoch's mean loss."""

    id = "ex08_train_loop"
    names = ("train_loop",)
    parts = {"batches": 1, "params": 2, "losses": 1}
    routes = ("backproplab.train.train",)
    hints = {
        "never_shuffles": "the batches come in the data's own order: draw order = rng.permutation(N) at the "
                          "start of every epoch",
        "shuffles_once": "every epoch visits the examples in the same order: draw a new rng.permutation(N) "
                         "at the start of each epoch, not once before the loop",
        "drops_last": "the last, smaller batch of each epoch is missing: keep it, every example is used once per epoch",
        "unweighted_mean": "losses[e] is the plain mean of the batch losses, but the last batch is smaller: "
                           "weight each batch's loss by its number of examples, sum, and divide by N",
        "last_batch_loss": "losses[e] is the loss of the epoch's last batch only: record the mean loss over "
                           "all N examples of the epoch",
    }

    def cases(self, rng):
        if rng is None:
            r = np.random.default_rng(8)
            args = self._args(r, n0=2, hidden=3, n_out=1, m=10, acts=["tanh", "identity"], lr=0.2, epochs=3,
                              batch_size=4, seed=0)
            return [Case(part, args, "N=10 examples, batch_size=4, 3 epochs") for part in self.parts]
        out = []
        for _ in range(3):
            B = int(rng.integers(2, 6))
            m = int(B * rng.integers(2, 5) + rng.integers(1, B))       # never a multiple of B
            acts = [str(rng.choice(["tanh", "sigmoid", "softplus"])), "identity"]
            args = self._args(rng, n0=int(rng.integers(1, 4)), hidden=int(rng.integers(2, 5)),
                              n_out=int(rng.integers(1, 3)), m=m, acts=acts, lr=float(rng.uniform(0.05, 0.3)),
                              epochs=int(rng.integers(2, 5)), batch_size=B, seed=int(rng.integers(2**31)))
            out += [Case(part, args, f"N={m} examples, batch_size={B}, {args[5]} epochs") for part in self.parts]
        return out

    @staticmethod
    def _args(rng, n0, hidden, n_out, m, acts, lr, epochs, batch_size, seed):
        X = rng.normal(0.0, 1.0, (n0, m))
        Y = rng.normal(0.0, 1.0, (n_out, m))
        params = [rng.normal(0, 0.8, (hidden, n0)), rng.normal(0, 0.8, (n_out, hidden)),
                  rng.normal(0, 0.3, (hidden, 1)), rng.normal(0, 0.3, (n_out, 1))]
        return (X, Y, params, acts, lr, epochs, batch_size, seed)

    def run(self, args, train_loop):
        X, Y, params, acts, lr, epochs, batch_size, seed = args
        L = len(acts)
        seen = []

        def grad_fn(ps, X_batch, Y_batch):
            seen.append(np.array(X_batch, dtype=np.float64, copy=True))
            value, dW, db = matrix.backprop(list(ps[:L]), list(ps[L:]), X_batch, Y_batch, acts, "squared_error")
            return value, list(dW) + list(db)

        def step(ps, grads):
            return [p - lr * g for p, g in zip(ps, grads)]

        X0, Y0 = X.copy(), Y.copy()
        res = call(train_loop, [p.copy() for p in params], grad_fn, step, X, Y, epochs, batch_size,
                   np.random.default_rng(seed))
        return {"result": res, "batches": seen,
                "changed": not (np.array_equal(X, X0) and np.array_equal(Y, Y0))}

    # -- trusted side ------------------------------------------------------------------------
    @staticmethod
    def _order(m, epochs, batch_size, seed, kind="right") -> list[list[int]]:
        rng = np.random.default_rng(seed)
        first = None
        batches = []
        for _ in range(epochs):
            order = rng.permutation(m)
            first = order if first is None else first
            if kind == "never_shuffles":
                order = np.arange(m)
            elif kind == "shuffles_once":
                order = first
            for start in range(0, m, batch_size):
                idx = order[start:start + batch_size]
                if kind == "drops_last" and idx.size < batch_size:
                    continue
                batches.append([int(i) for i in idx])
        return batches

    @staticmethod
    def _replay(X, Y, params, acts, lr, epochs, batch_size, seed):
        """The reference run with the library's matrix route: final params, per-epoch losses
        (right, unweighted, last batch)."""
        L, m = len(acts), X.shape[1]
        ps = [p.copy() for p in params]
        rng = np.random.default_rng(seed)
        right, plain, last = [], [], []
        for _ in range(epochs):
            order = rng.permutation(m)
            values, sizes = [], []
            for start in range(0, m, batch_size):
                idx = order[start:start + batch_size]
                value, dW, db = matrix.backprop(ps[:L], ps[L:], X[:, idx], Y[:, idx], acts, "squared_error")
                ps = [p - lr * g for p, g in zip(ps, list(dW) + list(db))]
                values.append(value)
                sizes.append(idx.size)
            right.append(float(np.dot(values, sizes) / m))
            plain.append(float(np.mean(values)))
            last.append(float(values[-1]))
        return ps, np.array(right), np.array(plain), np.array(last)

    def judge(self, case, out):
        X, Y, params, acts, lr, epochs, batch_size, seed = case.args
        m = X.shape[1]
        if not isinstance(out, dict) or "result" not in out:
            _fail("type", "the test could not read what train_loop returned")
        if out.get("changed"):
            _fail("mutated", "train_loop changed X or Y: take batches with X[:, idx] and leave the data as it is")
        res = out["result"]
        if not (isinstance(res, (tuple, list)) and len(res) == 2):
            _fail("type", f"train_loop should return the pair (params, losses), got {type_name(res)}")
        got_params, losses = res
        if case.part == "batches":
            self._judge_batches(out.get("batches"), X, m, epochs, batch_size, seed)
            return
        ref_params, right, plain, last = self._replay(X, Y, params, acts, lr, epochs, batch_size, seed)
        if case.part == "params":
            check_arrays(got_params, ref_params, "the trained params", rtol=1e-9, atol=1e-12)
            return
        if isinstance(losses, (list, tuple)) and all(isinstance(v, (int, float, np.floating)) for v in losses):
            losses = np.array(losses, dtype=np.float64)
        if isinstance(losses, np.ndarray) and losses.ndim != 1:
            _fail("shape", f"losses should be one number per epoch, shape ({epochs},), got shape {losses.shape}")
        check_array(losses, right, "losses (one per epoch)", rtol=1e-9, atol=1e-12,
                    mistakes=[(plain, self.hint("unweighted_mean")), (last, self.hint("last_batch_loss"))])

    def _judge_batches(self, seen, X, m, epochs, batch_size, seed):
        if not isinstance(seen, list):
            _fail("type", "the test could not read the batches")
        cols = {X[:, j].tobytes(): j for j in range(m)}
        got = []
        for b in seen:
            if not (isinstance(b, np.ndarray) and b.ndim == 2 and b.shape[0] == X.shape[0]):
                _fail("shape", f"grad_fn was called with X_batch of shape {getattr(b, 'shape', None)}, expected "
                               f"({X.shape[0]}, batch): take the columns X[:, idx]")
            try:
                got.append([cols[np.ascontiguousarray(b[:, k]).tobytes()] for k in range(b.shape[1])])
            except KeyError:
                _fail("entries", "grad_fn was called with a batch whose columns are not examples of X: "
                                 "take whole columns X[:, idx]")
        want = self._order(m, epochs, batch_size, seed)
        if got == want:
            return
        for kind in ("never_shuffles", "shuffles_once", "drops_last"):
            if got == self._order(m, epochs, batch_size, seed, kind):
                _fail("known", f"train_loop: {self.hint(kind)}")
        if len(got) != len(want):
            _fail("entries", f"train_loop called grad_fn {len(got)} times for {epochs} epochs of N={m} examples "
                             f"in batches of {batch_size}; expected {len(want)} (one call per batch)")
        k = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
        _fail("entries", f"train_loop: batch {k + 1} holds examples {got[k]}, expected {want[k]}: draw "
                         "order = rng.permutation(N) once at the start of each epoch (nothing else from rng) "
                         "and take the batches in that order")


# ------------------------------------------------------------------------------------------
class Digits(Exercise):
    """A network for the 8x8 digits, trained in the kernel and scored outside it."""

    id = "ex08_digits"
    names = ("train_digits",)
    parts = {"accuracy": 3}
    routes = ("backproplab.train.train",)       # the answer to ex08_train_loop: write or reuse a loop
    BAR = 0.97
    hints = {
        "batch_first": "the weights are in the batch-first layout (n_(l-1), n_l): the course's W^l has shape "
                       "(n_l, n_(l-1)), one row per unit of layer l",
        "chance": "the test accuracy is near chance (10%): are the weights you return the trained ones?",
    }

    def cases(self, rng):
        # Training results depend on the seed: both seeds are fixed, so a correct answer passes every time.
        if rng is None:
            return [Case("accuracy", (0,), "trained with seed 0")]
        return [Case("accuracy", (1,), "trained with seed 1")]

    @staticmethod
    def _chains(weights) -> bool:
        n = 64
        for W in weights:
            if W.shape[1] != n:
                return False
            n = W.shape[0]
        return n == 10

    def run(self, args, train_digits):
        (seed,) = args
        d = datasets.load_digits()
        return call(train_digits, d.X_train.copy(), d.Y_train.copy(), np.random.default_rng(seed))

    def judge(self, case, out):
        if not (isinstance(out, (tuple, list)) and len(out) == 3):
            _fail("type", f"train_digits should return (weights, biases, activations), got {type_name(out)}"
                          + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
        weights, biases, acts = out
        for name, group in (("weights", weights), ("biases", biases)):
            if not (isinstance(group, (list, tuple)) and group
                    and all(isinstance(a, np.ndarray) and a.ndim == 2 for a in group)):
                _fail("type", f"{name} should be a non-empty list of 2-D numpy arrays (entry l-1 for layer l)")
            if not all(np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) for a in group):
                _fail("nonfinite", f"{name} should hold finite floats")
        if not (isinstance(acts, (list, tuple)) and len(acts) == len(weights) and len(biases) == len(weights)):
            _fail("type", "weights, biases and activations should be lists of the same length (one entry per layer)")
        for a in acts:
            if not (isinstance(a, str) and a in _act.NAMES):
                _fail("type", f"activation {a!r} is not one of the library's: {', '.join(_act.NAMES)}")
        if not self._chains(weights) and self._chains([W.T for W in weights]):
            _fail("known", f"train_digits: {self.hint('batch_first')}")
        n_prev = 64
        for i, (W, b) in enumerate(zip(weights, biases), start=1):
            if W.shape[1] != n_prev:
                _fail("shape", f"weights[{i - 1}] has shape {W.shape}: layer {i} takes {n_prev} inputs, "
                               f"so W^{i} should be (n_{i}, {n_prev})")
            if b.shape != (W.shape[0], 1):
                _fail("shape", f"biases[{i - 1}] has shape {b.shape}, expected {(W.shape[0], 1)}")
            n_prev = W.shape[0]
        if n_prev != 10:
            _fail("shape", f"the last layer has {n_prev} units; the digits have 10 classes")
        d = datasets.load_digits()
        A, _ = matrix.forward(list(weights), list(biases), d.X_test, list(acts))
        acc = float(np.mean(np.argmax(A, axis=0) == d.y_test))
        if acc < 0.2:
            _fail("known", f"train_digits ({case.label}): {self.hint('chance')} ({acc:.1%})")
        if acc < self.BAR:
            _fail("entries", f"train_digits ({case.label}): test accuracy {acc:.1%} is below the bar of "
                             f"{self.BAR:.0%}")
