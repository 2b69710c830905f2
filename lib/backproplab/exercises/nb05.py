r"""Checks of notebook 05 (backprop neuron by neuron).

The notebook teaches loops over neurons; the references come from other routes: the forward
pass from the library's matrix route (:func:`backproplab.matrix.forward`), the deltas and
gradients from SymPy's exact derivatives (:func:`backproplab.symbolic.backprop`; for one example
$\partial \ell/\partial b^l = \delta^l$), the update from plain array arithmetic.

Edge inputs in the hidden cases: inputs, weights and gradients of exactly 0, arrays passed as
non-contiguous views (a transposed C array, a strided 1-D slice), and saturated sigmoids
(net inputs of several tens).
"""

from __future__ import annotations

import numpy as np

from .. import matrix, symbolic
from ..grading import check_array, type_name
from ._core import Case, Exercise, call
from ._judging import fail as _fail
from ._judging import field as _field
from ._judging import stable_sigmoid as _sigmoid

__all__ = ["BackwardPass", "ForwardPass", "UpdateWeights"]

EXAMPLE_W = [np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([[0.40, 0.45], [0.50, 0.55]])]
EXAMPLE_B = [np.array([[0.35], [0.35]]), np.array([[0.60], [0.60]])]
EXAMPLE_X = np.array([0.05, 0.10])
EXAMPLE_Y = np.array([0.01, 0.99])


def _view(a: np.ndarray) -> np.ndarray:
    """The same numbers in a non-contiguous array: the transpose of a C array (2-D), a
    strided slice (1-D)."""
    a = np.asarray(a)
    if a.ndim >= 2:
        return np.ascontiguousarray(a.T).T
    return np.repeat(a, 2)[::2]


def _views(arrays: list, on: bool) -> list:
    return [_view(a) for a in arrays] if on else list(arrays)


def _same(a, b) -> bool:
    return isinstance(a, np.ndarray) and a.shape == np.shape(b) and np.array_equal(a, b)


def _close(a, b) -> bool:
    """``a`` is an array equal to ``b`` (never raises)."""
    return isinstance(a, np.ndarray) and b is not None and a.shape == np.shape(b) and np.issubdtype(a.dtype, np.number) \
        and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=1e-7, atol=1e-12))


def _network(rng, sizes, scale: float = 1.0) -> tuple[list, list]:
    """Random weights (clipped at 2.5 scale, so even saturated nets keep |z| in the tens) and biases."""
    Ws = [np.clip(rng.normal(0, scale, (sizes[k + 1], sizes[k])), -2.5 * scale, 2.5 * scale)
          for k in range(len(sizes) - 1)]
    bs = [rng.normal(0, 1, (sizes[k + 1], 1)) for k in range(len(sizes) - 1)]
    return Ws, bs


def _label(sizes) -> str:
    return f"a {'-'.join(map(str, sizes))} network"


def reference_forward(weights, biases, x) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every layer's net inputs z^l (n_l,) and outputs a^l (n_l,), a^0 = x, by the matrix route."""
    A, caches = matrix.forward(list(weights), list(biases), np.asarray(x, dtype=np.float64).reshape(-1, 1),
                               ["sigmoid"] * len(weights))
    return [Z.ravel() for _, Z in caches], [A_prev.ravel() for A_prev, _ in caches] + [A.ravel()]


# ------------------------------------------------------------------------------------------
class ForwardPass(Exercise):
    id = "ex05_forward"
    names = ("forward_pass",)
    parts = {"outs": 2, "nets": 1}
    routes = ("backproplab.layerwise.forward", "backproplab.layerwise.backprop", "backproplab.matrix.forward",
              "backproplab.matrix.linear_forward", "backproplab.matrix.activation_forward",
              "backproplab.matrix.backprop")
    hints = {
        "outs_no_input": "outs[0] is the input x itself and outs[l] the outputs of layer l: L + 1 arrays in all",
        "nets_hold_outputs": "nets[l-1] should hold the net inputs of layer l, before the sigmoid, not its outputs",
        "bias_missing": "the bias b_j is missing from net_j",
        "indices_swapped": "w_ji = W[j, i] is the weight from input i to neuron j: row j, column i",
        "reads_x": "layer l is fed the outputs of layer l-1, outs[l-1], not the inputs x",
        "inputs_changed": "forward_pass changed an array passed to it (weights, biases or x): leave them as "
                          "they are (a view such as b[:, 0] shares the bias's memory)",
    }

    def _cases(self, problems) -> list[Case]:
        out = []
        for Ws, bs, x, views, label in problems:
            ref = reference_forward(Ws, bs, x)
            out += [Case(part, (Ws, bs, x, views), label, ref=ref) for part in self.parts]
        return out

    def cases(self, rng):
        if rng is None:
            return self._cases([(EXAMPLE_W, EXAMPLE_B, EXAMPLE_X, False, "the 2-2-2 example")])
        problems = []
        for k, sizes in enumerate([[3, 4, 2], [2, 3, 3, 1], [1, 1], [4, 2, 5], [2, 5, 3, 4, 2], [2, 2, 2]]):
            Ws, bs = _network(rng, sizes)
            problems.append((Ws, bs, rng.normal(0, 1, sizes[0]), k % 2 == 1, _label(sizes)))
        Ws, bs = _network(rng, [3, 3, 2])
        Ws[0][:, 1] = 0.0
        bs[1][0, 0] = 0.0
        problems.append((Ws, bs, np.array([0.0, 1.5, -0.5]), True, "a 3-3-2 network with inputs and weights of 0"))
        Ws, bs = _network(rng, [2, 3, 2], scale=15.0)
        problems.append((Ws, bs, np.clip(rng.normal(0, 2, 2), -4, 4), False, "a 2-3-2 network with saturated sigmoids"))
        return self._cases(problems)

    def run(self, args, forward_pass):
        Ws, bs, x, views = args
        Ws, bs = _views(Ws, views), _views(bs, views)
        x = _view(x) if views else x
        got = call(forward_pass, Ws, bs, x)
        return {"got": got, "after": [*Ws, *bs, x]}

    def judge(self, case, out):
        Ws, bs, x, _ = case.args
        nets_ref, outs_ref = case.ref
        L = len(Ws)
        where = case.label
        got = _field(out, "got")
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            _fail("type", f"forward_pass should return the pair (nets, outs), got {type_name(got)}")
        after = _field(out, "after")
        if not (isinstance(after, list) and len(after) == 2 * L + 1
                and all(_same(a, b) for a, b in zip(after, [*Ws, *bs, x]))):
            _fail("in_place", f"{where}: {self.hint('inputs_changed')}")
        nets, outs = got
        if case.part == "outs":
            if not isinstance(outs, list):
                _fail("type", f"{where}: outs should be a list of L + 1 = {L + 1} arrays, got {type_name(outs)}")
            if len(outs) != L + 1:
                hint = f": {self.hint('outs_no_input')}" if len(outs) == L else ""
                _fail("shape", f"{where}: outs should have L + 1 = {L + 1} entries, got {len(outs)}{hint}")
            check_array(outs[0], outs_ref[0], f"{where}: outs[0] (the input x)")
            for l in range(1, len(Ws) + 1):
                wrong = [(_sigmoid(z), h) for z, h in self._wrong_nets(Ws, bs, outs_ref, l)]
                check_array(outs[l], outs_ref[l], f"{where}: outs[{l}] (the outputs of layer {l})", atol=1e-12,
                            mistakes=wrong)
            return
        if not isinstance(nets, list):
            _fail("type", f"{where}: nets should be a list of L = {L} arrays, got {type_name(nets)}")
        if len(nets) != L:
            _fail("shape", f"{where}: nets should have L = {L} entries (nets[l-1] for layer l), got {len(nets)}")
        for l in range(1, len(Ws) + 1):
            wrong = [(outs_ref[l], self.hint("nets_hold_outputs")), *self._wrong_nets(Ws, bs, outs_ref, l)]
            check_array(nets[l - 1], nets_ref[l - 1], f"{where}: nets[{l - 1}] (the net inputs of layer {l})",
                        atol=1e-12, mistakes=wrong)

    def _wrong_nets(self, Ws, bs, outs_ref, l) -> list[tuple[np.ndarray, str]]:
        """Net inputs of layer l that the classic slips give, the layers below being right."""
        W, b, o = Ws[l - 1], bs[l - 1].ravel(), outs_ref[l - 1]
        out = [(W @ o, self.hint("bias_missing"))]
        if W.shape[0] == W.shape[1]:
            out.append((W.T @ o + b, self.hint("indices_swapped")))
        if l > 1 and W.shape[1] == outs_ref[0].size:
            out.append((W @ outs_ref[0] + b, self.hint("reads_x")))
        return out


# ------------------------------------------------------------------------------------------
class BackwardPass(Exercise):
    id = "ex05_backward"
    names = ("backward_pass",)
    parts = {"deltas": 2, "dW": 1, "db": 1}
    routes = ("backproplab.layerwise.backward", "backproplab.layerwise.backprop",
              "backproplab.layerwise.output_error_derivative", "backproplab.matrix.backprop",
              "backproplab.matrix.backward", "backproplab.matrix.output_delta", "backproplab.matrix.hidden_delta",
              "backproplab.matrix.linear_backward", "backproplab.matrix.activation_backward",
              "backproplab.losses.squared_error_grad", "backproplab.gradcheck.numerical_gradient")
    hints = {
        "output_slope": "the output delta needs the sigmoid's slope: (o_k - y_k) o_k (1 - o_k)",
        "hidden_slope": "a hidden delta needs its neuron's slope o_j (1 - o_j)",
        "last_term_only": "the sum over k kept only its last term: accumulate with += inside the loop over k",
        "wrong_layer_weights": "a hidden delta comes back through the weights leaving the layer, those of the "
                               "layer above (weights[l] for deltas[l-1]), not the weights entering it",
        "W_not_WT": "the hidden delta sums over the neurons k that neuron j feeds: w_kj = W[k, j], column j of "
                    "the next layer's weights (W^T delta), not row j",
        "dW_own_outputs": "dE/dw_ji = delta_j o_i, with o_i the outputs feeding the layer, outs[l-1], "
                          "not the layer's own outputs outs[l]",
        "db_column": "db[l-1] is a column of shape (n_l, 1), like biases[l-1]",
        "inputs_changed": "backward_pass changed an array passed to it (weights, nets, outs or y): "
                          "compute new arrays and leave the inputs as they are",
    }

    def _cases(self, problems) -> list[Case]:
        out = []
        for Ws, bs, x, y, views, label in problems:
            L = len(Ws)
            nets, outs = reference_forward(Ws, bs, x)
            _, dW, db = symbolic.backprop(Ws, bs, np.reshape(x, (-1, 1)), np.reshape(y, (-1, 1)), ["sigmoid"] * L)
            ref = ([d.ravel() for d in db], dW, db)
            out += [Case(part, (Ws, nets, outs, y, views), label, ref=ref) for part in self.parts]
        return out

    def cases(self, rng):
        if rng is None:
            return self._cases([(EXAMPLE_W, EXAMPLE_B, EXAMPLE_X, EXAMPLE_Y, False, "the 2-2-2 example")])
        problems = []
        for k, sizes in enumerate([[2, 3, 3], [3, 4, 2], [2, 3, 3, 1], [3, 2, 4], [2, 3, 2, 3], [1, 1], [2, 2, 2, 2]]):
            Ws, bs = _network(rng, sizes)
            problems.append((Ws, bs, rng.normal(0, 1, sizes[0]), rng.uniform(0, 1, sizes[-1]), k % 2 == 1,
                             _label(sizes)))
        Ws, bs = _network(rng, [3, 3, 2])
        Ws[1][:, 2] = 0.0                                    # hidden neuron 2 feeds nothing: its delta is 0
        problems.append((Ws, bs, np.array([0.0, 1.2, -0.7]), np.array([0.0, 1.0]), True,
                         "a 3-3-2 network with an input, weights and a target of 0"))
        Ws, bs = _network(rng, [2, 3, 2], scale=12.0)
        problems.append((Ws, bs, np.clip(rng.normal(0, 2, 2), -4, 4), np.array([1.0, 0.0]), False,
                         "a 2-3-2 network with saturated sigmoids"))
        return self._cases(problems)

    def run(self, args, backward_pass):
        Ws, nets, outs, y, views = args
        Ws, nets, outs = _views(Ws, views), _views(nets, views), _views(outs, views)
        y = _view(y) if views else y
        got = call(backward_pass, Ws, nets, outs, y)
        return {"got": got, "after": [*Ws, *nets, *outs, y]}

    def judge(self, case, out):
        Ws, nets, outs, y, _ = case.args
        deltas_ref, dW_ref, db_ref = case.ref
        L = len(Ws)
        where = case.label
        got = _field(out, "got")
        if not (isinstance(got, (tuple, list)) and len(got) == 3):
            _fail("type", "backward_pass should return the three lists (deltas, dW, db), got " + type_name(got))
        after = _field(out, "after")
        if not (isinstance(after, list) and len(after) == 3 * L + 2
                and all(_same(a, b) for a, b in zip(after, [*Ws, *nets, *outs, y]))):
            _fail("in_place", f"{where}: {self.hint('inputs_changed')}")
        value = dict(zip(("deltas", "dW", "db"), got))[case.part]
        if not isinstance(value, list) or len(value) != L:
            _fail("type", f"{where}: {case.part} should be a list with one entry per layer ({L}), got "
                          + (f"{len(value)} entries" if isinstance(value, list) else type_name(value)))
        if case.part == "deltas":
            for l in range(L, 0, -1):                      # the output layer first, then down
                check_array(value[l - 1], deltas_ref[l - 1], f"{where}: deltas[{l - 1}] (layer {l})", atol=1e-12,
                            mistakes=self._slips(Ws, outs, y, deltas_ref, l))
        elif case.part == "dW":
            for l in range(1, len(Ws) + 1):
                wrong = []
                if outs[l].size == Ws[l - 1].shape[1]:
                    wrong.append((np.outer(deltas_ref[l - 1], outs[l]), self.hint("dW_own_outputs")))
                self._from_wrong_deltas(got[0], value[l - 1], dW_ref[l - 1], l, deltas_ref,
                                        lambda d, l=l: np.outer(d, outs[l - 1]), f"{where}: dW[{l - 1}]")
                check_array(value[l - 1], dW_ref[l - 1], f"{where}: dW[{l - 1}] (layer {l})", atol=1e-12,
                            mistakes=wrong)
        else:
            for l in range(1, len(Ws) + 1):
                g = value[l - 1]
                if isinstance(g, np.ndarray) and g.shape == (Ws[l - 1].shape[0],) != db_ref[l - 1].shape:
                    _fail("shape", f"{where}: db[{l - 1}] has shape {g.shape}, expected {db_ref[l - 1].shape}: "
                                   f"{self.hint('db_column')}")
                self._from_wrong_deltas(got[0], g, db_ref[l - 1], l, deltas_ref, lambda d: d.reshape(-1, 1),
                                        f"{where}: db[{l - 1}]")
                check_array(g, db_ref[l - 1], f"{where}: db[{l - 1}] (layer {l})", atol=1e-12)

    @staticmethod
    def _from_wrong_deltas(deltas, value, ref, l, deltas_ref, build, name) -> None:
        """A gradient that follows correctly from the student's own wrong deltas: say so."""
        if not (isinstance(deltas, list) and len(deltas) == len(deltas_ref)):
            return
        d = deltas[l - 1]
        if not isinstance(d, np.ndarray) or d.shape != deltas_ref[l - 1].shape or _close(d, deltas_ref[l - 1]):
            return
        try:
            mine = build(np.asarray(d, dtype=np.float64))
        except (TypeError, ValueError):
            return
        if _close(value, mine) and not _close(value, ref):
            _fail("entries", f"{name} follows from your deltas[{l - 1}], but those differ from the exact ones: "
                             "fix the deltas (see their test)")

    def _slips(self, Ws, outs, y, deltas_ref, l) -> list[tuple[np.ndarray, str]]:
        """Deltas of layer l that the classic slips give, the layers above being right."""
        L = len(Ws)
        if l == L:
            return [(outs[L] - y, self.hint("output_slope"))]
        Wn, dn, h = Ws[l], deltas_ref[l], outs[l]          # the layer above: weights[l], deltas[l]
        slope = h * (1 - h)
        out = [(Wn.T @ dn, self.hint("hidden_slope"))]
        if Wn.shape[0] > 1:
            out.append((slope * (Wn[-1, :] * dn[-1]), self.hint("last_term_only")))
        if Ws[l - 1].shape == Wn.shape:
            for V in (Ws[l - 1], Ws[l - 1].T):
                out.append((slope * (V.T @ dn), self.hint("wrong_layer_weights")))
        if Wn.shape[0] == Wn.shape[1]:
            out.append((slope * (Wn @ dn), self.hint("W_not_WT")))
        return out


# ------------------------------------------------------------------------------------------
class UpdateWeights(Exercise):
    id = "ex05_update"
    names = ("update_weights",)
    parts = {"weights": 1, "biases": 1}
    routes = ("backproplab.layerwise.update", "backproplab.optim.sgd_step")
    hints = {
        "in_place": "update_weights must leave the arrays passed to it unchanged and return new ones "
                    "(W - lr * dW makes a new array; W -= lr * dW changes the caller's)",
        "biases_unchanged": "the biases did not change: update them too, b - lr * db",
        "wrong_layer": "each layer is updated with its own gradient: weights[l-1] with dW[l-1], "
                       "biases[l-1] with db[l-1]",
    }

    def cases(self, rng):
        if rng is None:
            dW = [np.array([[4e-4, 9e-4], [5e-4, 1e-3]]), np.array([[0.08, 0.08], [-0.02, -0.03]])]
            db = [np.array([[9e-3], [1e-2]]), np.array([[0.14], [-0.04]])]
            problems = [(EXAMPLE_W, EXAMPLE_B, dW, db, 0.5, False, "the 2-2-2 example, lr=0.5")]
        else:
            problems = []
            for k, (sizes, lr) in enumerate([([3, 4, 2], 0.1), ([2, 3, 3, 1], 1.5), ([1, 1], 0.01), ([4, 2, 5], 0.7),
                                             ([2, 2, 2], 0.3)]):
                Ws, bs = _network(rng, sizes)
                dW, db = _network(rng, sizes)
                problems.append((Ws, bs, dW, db, lr, k % 2 == 0, f"{_label(sizes)}, lr={lr}"))
            Ws, bs = _network(rng, [3, 2, 2])
            dW, db = _network(rng, [3, 2, 2])
            dW[0][:] = 0.0
            db[0][:] = 0.0
            dW[1][0, 1] = 0.0
            problems.append((Ws, bs, dW, db, 0.25, True, "a 3-2-2 network whose first layer has gradient 0, lr=0.25"))
        return [Case(part, p[:6], p[6]) for p in problems for part in self.parts]

    def run(self, args, update_weights):
        Ws, bs, dW, db, lr, views = args
        Ws, bs, dW, db = (_views(a, views) for a in (Ws, bs, dW, db))
        got = call(update_weights, Ws, bs, dW, db, lr)
        inputs = [*Ws, *bs]
        shared = []
        if isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(v, list) for v in got):
            shared = [[isinstance(a, np.ndarray) and any(np.shares_memory(a, p) for p in inputs) for a in v]
                      for v in got]
        return {"got": got, "after": [*Ws, *bs, *dW, *db], "shared": shared}

    def judge(self, case, out):
        Ws, bs, dW, db, lr, _ = case.args
        L = len(Ws)
        where = case.label
        got = _field(out, "got")
        after = _field(out, "after")
        if not (isinstance(after, list) and len(after) == 4 * L):
            _fail("type", "the test's record of your function's inputs could not be read: run the cell again")
        mine = 0 if case.part == "weights" else 1
        olds, grads, new_name, grad_name = (Ws, dW, "new_weights", "dW") if mine == 0 else (bs, db, "new_biases", "db")
        befores = [*Ws, *bs, *dW, *db]
        span = (range(L), range(2 * L, 3 * L)) if mine == 0 else (range(L, 2 * L), range(3 * L, 4 * L))
        if not all(_same(after[i], befores[i]) for r in span for i in r):
            _fail("in_place", f"{where}: {self.hint('in_place')}")
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            _fail("type", f"update_weights should return the pair (new_weights, new_biases), got {type_name(got)}")
        new = got[mine]
        if not (isinstance(new, list) and len(new) == L):
            _fail("type", f"{where}: {new_name} should be a list of {L} arrays, got "
                          + (f"{len(new)} entries" if isinstance(new, list) else type_name(new)))
        shared = _field(out, "shared")
        if isinstance(shared, list) and len(shared) == 2 and isinstance(shared[mine], list) and any(shared[mine]):
            if mine == 1 and all(_same(n, o) for n, o in zip(new, olds)) and any(np.any(g != 0) for g in grads):
                _fail("known", f"{where}: {self.hint('biases_unchanged')}")
            _fail("in_place", f"{where}: {self.hint('in_place')}")
        for l in range(1, len(Ws) + 1):
            x, old, g = new[l - 1], olds[l - 1], grads[l - 1]
            name = f"{new_name}[{l - 1}]"
            if not (isinstance(x, np.ndarray) and x.shape == old.shape):
                check_array(x, old - lr * g, f"{where}: {name}")
            if mine == 1 and np.any(g != 0) and _same(x, old):
                _fail("known", f"{where}: {self.hint('biases_unchanged')}")
            others = [(grads[k] * lr, self.hint("wrong_layer")) for k in range(L)
                      if k != l - 1 and grads[k].shape == g.shape and not np.allclose(grads[k], g)]
            check_array(old - x, lr * g, f"{where}: the step of {name} (old - new; it should be "
                                         f"lr * {grad_name}[{l - 1}], downhill)", mistakes=others)
