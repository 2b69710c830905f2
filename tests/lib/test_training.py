"""Training: the matrix route with Adam reaches 97% on the digits; the loop's history and bar."""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import datasets, init, optim, train


def test_digits_reach_97_percent_with_adam():
    d = datasets.load_digits()
    rng = np.random.default_rng(0)
    W, b = init.init_network([64, 64, 10], rng, "he")
    W, b, h = train.train(W, b, d.X_train, d.Y_train, ["relu", "softmax"], "cross_entropy", optim.Adam(1e-2),
                          epochs=15, batch_size=32, rng=rng, X_test=d.X_test, Y_test=d.Y_test)
    A = train.predict(W, b, d.X_test, ["relu", "softmax"])
    acc = float(np.mean(np.argmax(A, axis=0) == d.y_test))
    assert acc >= 0.97, f"test accuracy {acc:.3f}"
    assert acc == pytest.approx(h.test_accuracy[-1])
    assert len(h.loss) == len(h.accuracy) == len(h.test_loss) == 15
    assert h.loss[-1] < h.loss[0]
    C = train.confusion_matrix(d.y_test, np.argmax(A, axis=0), 10)
    assert C.sum() == 450 and np.trace(C) == round(acc * 450)


def test_xor_needs_and_learns_with_a_hidden_layer(capsys):
    X, Y = datasets.xor()
    rng = np.random.default_rng(1)
    W, b = init.init_network([2, 8, 1], rng, "glorot")
    W, b, h = train.train(W, b, X, Y, ["tanh", "sigmoid"], "binary_cross_entropy", optim.Adam(0.05),
                          epochs=400, batch_size=4, rng=rng, stop_at=1.0, progress=True)
    assert h.accuracy[-1] == 1.0 and len(h.epoch) < 400
    out = capsys.readouterr()
    assert "epoch" in out.out and "loss" in out.out and out.err == ""


def test_training_is_silent_without_progress_and_leaves_inputs_alone(capsys):
    X, Y = datasets.moons(40, rng=0)
    rng = np.random.default_rng(2)
    W, b = init.init_network([2, 6, 1], rng, "he")
    W0 = [w.copy() for w in W]
    train.train(W, b, X, Y, ["relu", "sigmoid"], "binary_cross_entropy", "sgd", epochs=2, batch_size=16, rng=rng)
    assert capsys.readouterr() == ("", "")
    for a, c in zip(W, W0):
        np.testing.assert_array_equal(a, c)
    with pytest.raises(TypeError, match="rng"):
        train.train(W, b, X, Y, ["relu", "sigmoid"], "binary_cross_entropy", epochs=1, batch_size=8)


def test_accuracy_and_gradient_norms():
    assert train.accuracy(np.array([[0.9, 0.2, 0.6]]), np.array([[1.0, 0.0, 0.0]])) == pytest.approx(2 / 3)
    assert train.accuracy(np.eye(3), np.eye(3)[:, [0, 2, 1]]) == pytest.approx(1 / 3)
    np.testing.assert_allclose(train.gradient_norms([np.ones((2, 2)), np.zeros((1, 3))]), [2.0, 0.0])
