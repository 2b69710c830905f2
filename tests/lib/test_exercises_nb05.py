"""The checks of notebook 05 (backproplab.exercises.nb05), without a kernel.

The solution (written here, vectorised within a layer) passes every case for several seeds;
every hint fires on the mistake it names; partial credit follows the parts; behavioural checks
are judged from what ``run`` records; edge inputs reach the student's code; malformed outputs
never pass.
"""

from __future__ import annotations

import numpy as np
from backproplab import wire
from backproplab.activations import sigmoid
from backproplab.exercises import get, run_case

from . import exercise_harness as harness

AID = "05-layerwise-backprop"
SEEDS = (0, 1, 7)


# -- the solution --------------------------------------------------------------------------------
def forward_pass(weights, biases, x):
    outs = [np.array(x, dtype=np.float64).ravel()]
    nets = []
    for W, b in zip(weights, biases):
        nets.append(W @ outs[-1] + b[:, 0])
        outs.append(sigmoid(nets[-1]))
    return nets, outs


def _deltas(weights, outs, y, output_slope=True, hidden=None):
    L = len(weights)
    o = outs[L]
    deltas = [None] * L
    deltas[L - 1] = (o - y) * (o * (1 - o) if output_slope else 1.0)
    for l in range(L - 1, 0, -1):
        h = outs[l]
        back = (hidden or (lambda W_next, W_this, d: W_next.T @ d))(weights[l], weights[l - 1], deltas[l])
        deltas[l - 1] = h * (1 - h) * back
    return deltas


def backward_pass(weights, nets, outs, y):
    deltas = _deltas(weights, outs, y)
    return deltas, [np.outer(d, o) for d, o in zip(deltas, outs)], [d[:, None].copy() for d in deltas]


def update_weights(weights, biases, dW, db, lr):
    return [W - lr * g for W, g in zip(weights, dW)], [b - lr * g for b, g in zip(biases, db)]


SOLUTION = {"ex05_forward": forward_pass, "ex05_backward": backward_pass, "ex05_update": update_weights}


# -- common mistakes, each named by the hint it must draw ---------------------------------------
def _fwd(net_fn, outs_with_input=True):
    def forward(weights, biases, x):
        x = np.array(x, dtype=np.float64).ravel()
        outs, nets = [x], []
        for W, b in zip(weights, biases):
            nets.append(net_fn(W, b[:, 0], outs[-1], x))
            outs.append(sigmoid(nets[-1]))
        return (nets, outs) if outs_with_input else (nets, outs[1:])
    return forward


def _nets_hold_outputs(weights, biases, x):
    _, outs = forward_pass(weights, biases, x)
    return outs[1:], outs


def _bias_view(weights, biases, x):
    outs, nets = [np.array(x, dtype=np.float64).ravel()], []
    for W, b in zip(weights, biases):
        net = b[:, 0]
        net += W @ outs[-1]
        nets.append(net.copy())
        outs.append(sigmoid(net))
    return nets, outs


def _bwd(deltas_fn, dW_fn=None, db_fn=None):
    def backward(weights, nets, outs, y):
        deltas = deltas_fn(weights, outs, y)
        dW = [(dW_fn or (lambda d, o_in, o_out: np.outer(d, o_in)))(d, outs[l], outs[l + 1])
              for l, d in enumerate(deltas)]
        db = [(db_fn or (lambda d: d[:, None].copy()))(d) for d in deltas]
        return deltas, dW, db
    return backward


def _last_term_only(W_next, W_this, d):
    return W_next[-1, :] * d[-1]


def _in_place_error(weights, nets, outs, y):
    err = outs[-1]
    err -= y
    return backward_pass(weights, nets, outs, y)


MISTAKES = {
    "ex05_forward": {
        "outs_no_input": _fwd(lambda W, b, o, x: W @ o + b, outs_with_input=False),
        "nets_hold_outputs": _nets_hold_outputs,
        "bias_missing": _fwd(lambda W, b, o, x: W @ o),
        "indices_swapped": _fwd(lambda W, b, o, x: (W.T if W.shape[0] == W.shape[1] else W) @ o + b),
        "reads_x": _fwd(lambda W, b, o, x: W @ (x if x.size == W.shape[1] else o) + b),
        "inputs_changed": _bias_view,
    },
    "ex05_backward": {
        "output_slope": _bwd(lambda Ws, outs, y: _deltas(Ws, outs, y, output_slope=False)),
        "hidden_slope": _bwd(lambda Ws, outs, y: [d if l == len(Ws) - 1 else
                                                   Ws[l + 1].T @ _deltas(Ws, outs, y)[l + 1]
                                                   for l, d in enumerate(_deltas(Ws, outs, y))]),
        "last_term_only": _bwd(lambda Ws, outs, y: _deltas(Ws, outs, y, hidden=_last_term_only)),
        "wrong_layer_weights": _bwd(lambda Ws, outs, y: _deltas(
            Ws, outs, y, hidden=lambda Wn, Wt, d: (Wt if Wt.shape == Wn.shape else Wn).T @ d)),
        "W_not_WT": _bwd(lambda Ws, outs, y: _deltas(
            Ws, outs, y, hidden=lambda Wn, Wt, d: (Wn if Wn.shape[0] == Wn.shape[1] else Wn.T) @ d)),
        "dW_own_outputs": _bwd(lambda Ws, outs, y: _deltas(Ws, outs, y),
                               dW_fn=lambda d, o_in, o_out: np.outer(d, o_out if o_out.size == o_in.size else o_in)),
        "db_column": _bwd(lambda Ws, outs, y: _deltas(Ws, outs, y), db_fn=lambda d: d.copy()),
        "inputs_changed": _in_place_error,
    },
}


def _update_in_place(weights, biases, dW, db, lr):
    for W, g in zip(weights, dW):
        W -= lr * g
    for b, g in zip(biases, db):
        b -= lr * g
    return weights, biases


def _wrong_layer(weights, biases, dW, db, lr):
    gW = dW[::-1] if all(a.shape == g.shape for a, g in zip(weights, dW[::-1])) else dW
    return [W - lr * g for W, g in zip(weights, gW)], [b - lr * g for b, g in zip(biases, db)]


MISTAKES["ex05_update"] = {
    "in_place": _update_in_place,
    "biases_unchanged": lambda weights, biases, dW, db, lr: ([W - lr * g for W, g in zip(weights, dW)], biases),
    "wrong_layer": _wrong_layer,
}


def _verdict(ex_id, fn, seed=0):
    return harness.verdict(ex_id, [fn], seed)


# the common tests (tests/lib/exercise_harness.py): test_solution_passes_visible_and_hidden_cases,
#   test_check_is_quiet_on_the_solution, test_every_hint_fires_on_its_mistake,
#   test_parts_sum_to_the_test_cells_points, test_malformed_outputs_never_pass,
#   test_run_of_all_hidden_cases_is_fast
globals().update(harness.function_tests(AID, {e: [f] for e, f in SOLUTION.items()},
                                        {e: {k: [f] for k, f in ms.items()} for e, ms in MISTAKES.items()}, SEEDS))


def test_partial_credit():
    earned = {p.name: p.earned for p in _verdict("ex05_backward", MISTAKES["ex05_backward"]["db_column"]).parts}
    assert earned == {"deltas": 2.0, "dW": 1.0, "db": 0.0}
    earned = {p.name: p.earned for p in _verdict("ex05_backward", MISTAKES["ex05_backward"]["dW_own_outputs"]).parts}
    assert earned == {"deltas": 2.0, "dW": 0.0, "db": 1.0}
    earned = {p.name: p.earned for p in _verdict("ex05_update", MISTAKES["ex05_update"]["biases_unchanged"]).parts}
    assert earned == {"weights": 1.0, "biases": 0.0}
    earned = {p.name: p.earned for p in _verdict("ex05_forward", _nets_hold_outputs).parts}
    assert earned == {"outs": 2.0, "nets": 0.0}


def test_gradients_from_wrong_deltas_say_so():
    v = _verdict("ex05_backward", MISTAKES["ex05_backward"]["output_slope"])
    dW = next(c for c in v.cases if c.part == "dW" and not c.ok)
    assert "follows from your deltas" in dW.message


def test_edge_inputs_reach_the_students_code():
    seen = []

    def spy(weights, nets, outs, y):
        seen.append((all(W.flags.c_contiguous for W in weights) and all(o.flags.c_contiguous for o in outs),
                     any(np.any(W == 0) for W in weights), max(float(np.max(np.abs(n))) for n in nets)))
        return backward_pass(weights, nets, outs, y)

    ex = get("ex05_backward")
    for case in ex.cases(np.random.default_rng(3)):
        assert "ok" in run_case(ex, wire.loads(wire.dumps(case.args)), [spy])
    assert any(not contiguous for contiguous, _, _ in seen)
    assert any(zero for _, zero, _ in seen)
    assert max(z for _, _, z in seen) > 20


def test_the_update_is_judged_on_new_arrays():
    def same_arrays_when_nothing_moves(weights, biases, dW, db, lr):
        new_W = [W if not np.any(g) else W - lr * g for W, g in zip(weights, dW)]
        return new_W, [b - lr * g for b, g in zip(biases, db)]

    v = _verdict("ex05_update", same_arrays_when_nothing_moves)
    assert not v.passed and get("ex05_update").hint("in_place") in v.message


