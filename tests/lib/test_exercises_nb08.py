"""Notebook 08's checks without a kernel: the solution passes the hidden cases for several seeds,
every hint fires on the mistake it names, a wrong answer loses only its own part, and the
library's routes are refused while the student's code runs."""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import init, matrix, optim, train
from backproplab.exercises import check, evaluate, get
from backproplab.grading import GradingError

from . import exercise_harness as harness


# -- the solution, as the notebook writes it ---------------------------------------------------
def sgd_update(params, grads, lr):
    return [p - lr * g for p, g in zip(params, grads)]


def momentum_update(params, grads, velocity, lr, beta):
    velocity = [beta * v - lr * g for v, g in zip(velocity, grads)]
    return [p + v for p, v in zip(params, velocity)], velocity


def adam_update(params, grads, u, s, t, lr, beta1, beta2, eps):
    u = [beta1 * ui + (1 - beta1) * g for ui, g in zip(u, grads)]
    s = [beta2 * si + (1 - beta2) * g**2 for si, g in zip(s, grads)]
    new = [p - lr * (ui / (1 - beta1**t)) / (np.sqrt(si / (1 - beta2**t)) + eps) for p, ui, si in zip(params, u, s)]
    return new, u, s


def train_loop(params, grad_fn, step, X, Y, epochs, batch_size, rng):
    m = X.shape[1]
    losses = []
    for _ in range(epochs):
        order = rng.permutation(m)
        total = 0.0
        for start in range(0, m, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = grad_fn(params, X[:, idx], Y[:, idx])
            params = step(params, grads)
            total += loss * idx.size
        losses.append(total / m)
    return params, losses


def train_digits(X, Y, rng):
    mu = X.mean(axis=1, keepdims=True)
    s = X.std(axis=1, keepdims=True) + 0.1
    W, b = init.init_network([64, 64, 10], rng, "he")
    acts = ["relu", "softmax"]

    def grad_fn(params, X_batch, Y_batch):
        loss, dW, db = matrix.backprop(params[:2], params[2:], X_batch, Y_batch, acts, "cross_entropy")
        return loss, dW + db

    params, _ = train_loop(W + b, grad_fn, optim.Adam(5e-3).step, (X - mu) / s, Y, 10, 32, rng)
    W, b = params[:2], params[2:]
    W1 = W[0] / s.T
    b1 = b[0] - W1 @ mu
    return [W1, W[1]], [b1, b[1]], acts


RULES = (sgd_update, momentum_update, adam_update)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_solution_passes_visible_and_hidden_cases(seed):
    ex = get("ex08_update_rules")
    assert evaluate(ex, RULES, ex.all_cases(np.random.default_rng(seed))).passed
    ex = get("ex08_train_loop")
    assert evaluate(ex, (train_loop,), ex.all_cases(np.random.default_rng(seed))).passed


def test_digits_solution_passes_both_fixed_seeds():
    check("ex08_digits", train_digits)
    check("ex08_digits", train_digits, hidden=True)


def test_parts_sum_to_the_points():
    assert get("ex08_update_rules").points == 6
    assert get("ex08_train_loop").points == 4
    assert get("ex08_digits").points == 3


# -- each hint on its mistake ---------------------------------------------------------------------
def sgd_climbs(params, grads, lr):
    return [p + lr * g for p, g in zip(params, grads)]


def momentum_climbs(params, grads, velocity, lr, beta):
    velocity = [beta * v + lr * g for v, g in zip(velocity, grads)]
    return [p + v for p, v in zip(params, velocity)], velocity


def momentum_forgets(params, grads, velocity, lr, beta):
    velocity = [-lr * g for g in grads]
    return [p + v for p, v in zip(params, velocity)], velocity


def adam_variant(kind):
    def adam(params, grads, m, v, t, lr, beta1, beta2, eps):
        m = [beta1 * mi + (1 - beta1) * g for mi, g in zip(m, grads)]
        v = [beta2 * vi + (1 - beta2) * g**2 for vi, g in zip(v, grads)]
        c1 = 1 - beta1**t if kind != "adam_no_bias_correction" else 1.0
        c2 = 1 - beta2**t if kind == "adam_no_sqrt" else 1.0
        root = (lambda x: x) if kind == "adam_no_sqrt" else np.sqrt
        return [p - lr * (mi / c1) / (root(vi / c2) + eps) for p, mi, vi in zip(params, m, v)], m, v
    return adam


@pytest.mark.parametrize("objs, key, part", [
    ((sgd_climbs, momentum_update, adam_update), "sgd_sign", "sgd"),
    ((sgd_update, momentum_climbs, adam_update), "momentum_sign", "momentum"),
    ((sgd_update, momentum_forgets, adam_update), "momentum_forgets", "momentum"),
    ((sgd_update, momentum_update, adam_variant("adam_no_bias_correction")), "adam_no_bias_correction", "adam"),
    ((sgd_update, momentum_update, adam_variant("adam_no_sqrt")), "adam_no_sqrt", "adam"),
    ((sgd_update, momentum_update, adam_variant("adam_only_u_corrected")), "adam_only_u_corrected", "adam"),
])
def test_update_rule_hints_fire_and_cost_only_their_part(objs, key, part):
    ex = get("ex08_update_rules")
    v, msg = harness.failing("ex08_update_rules", objs)
    assert ex.hint(key) in msg
    assert [p.name for p in v.parts if p.earned == 0] == [part]


def test_changing_the_inputs_in_place_is_caught():
    def sgd_in_place(params, grads, lr):
        for p, g in zip(params, grads):
            p -= lr * g
        return params

    _, msg = harness.failing("ex08_update_rules", (sgd_in_place, momentum_update, adam_update))
    assert "changed the params" in msg


def loop_variant(kind):
    def loop(params, grad_fn, step, X, Y, epochs, batch_size, rng):
        m = X.shape[1]
        losses = []
        for _ in range(epochs):
            order = np.arange(m) if kind == "never_shuffles" else rng.permutation(m)
            values, sizes = [], []
            for start in range(0, m, batch_size):
                idx = order[start:start + batch_size]
                if kind == "drops_last" and idx.size < batch_size:
                    continue
                loss, grads = grad_fn(params, X[:, idx], Y[:, idx])
                params = step(params, grads)
                values.append(loss)
                sizes.append(idx.size)
            if kind == "unweighted_mean":
                losses.append(float(np.mean(values)))
            elif kind == "last_batch_loss":
                losses.append(values[-1])
            else:
                losses.append(float(np.dot(values, sizes) / sum(sizes)))
        return params, losses
    return loop


@pytest.mark.parametrize("key", ["never_shuffles", "drops_last", "unweighted_mean", "last_batch_loss"])
def test_train_loop_hints_fire(key):
    _, msg = harness.failing("ex08_train_loop", (loop_variant(key),))
    assert get("ex08_train_loop").hint(key) in msg


def test_shuffling_once_is_named():
    # this variant draws its one permutation before the loop: the judge recognises the repeated order
    def loop(params, grad_fn, step, X, Y, epochs, batch_size, rng):
        m = X.shape[1]
        order = rng.permutation(m)
        losses = []
        for _ in range(epochs):
            total = 0.0
            for start in range(0, m, batch_size):
                idx = order[start:start + batch_size]
                loss, grads = grad_fn(params, X[:, idx], Y[:, idx])
                params = step(params, grads)
                total += loss * idx.size
            losses.append(total / m)
        return params, losses

    _, msg = harness.failing("ex08_train_loop", (loop,))
    assert get("ex08_train_loop").hint("shuffles_once") in msg


def test_unweighted_mean_costs_only_the_losses_part():
    v, _ = harness.failing("ex08_train_loop", (loop_variant("unweighted_mean"),))
    assert [p.name for p in v.parts if p.earned == 0] == ["losses"]


def test_the_library_loop_is_refused_in_the_digits_too():
    def delegate(X, Y, rng):
        W, b = init.init_network([64, 16, 10], rng, "he")
        W, b, _ = train.train(W, b, X, Y, ["relu", "softmax"], "cross_entropy", epochs=1, batch_size=64, rng=rng)
        return W, b, ["relu", "softmax"]

    with pytest.raises(GradingError, match="switched off"):
        check("ex08_digits", delegate)


def test_the_library_loop_is_refused():
    def delegate(params, grad_fn, step, X, Y, epochs, batch_size, rng):
        return train.train(params[:2], params[2:], X, Y, ["tanh", "identity"], epochs=epochs,
                           batch_size=batch_size, rng=rng)

    _, msg = harness.failing("ex08_train_loop", (delegate,))
    assert "switched off" in msg


def test_digits_hints_fire():
    def untrained(X, Y, rng):
        W, b = init.init_network([64, 16, 10], rng, "he")
        return W, b, ["relu", "softmax"]

    def batch_first(X, Y, rng):
        W, b, acts = train_digits(X, Y, rng)
        return [w.T for w in W], b, acts

    ex = get("ex08_digits")
    with pytest.raises(GradingError, match="near chance"):
        check("ex08_digits", untrained)
    with pytest.raises(GradingError) as info:
        check("ex08_digits", batch_first)
    assert ex.hint("batch_first") in str(info.value)
