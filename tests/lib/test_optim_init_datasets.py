"""Optimisers, initialisers and datasets."""

from __future__ import annotations

from pathlib import Path

import backproplab
import numpy as np
import pytest
from backproplab import datasets, init, optim


# ---- optimisers -------------------------------------------------------------------------
def test_sgd_step_is_theta_minus_lr_g_and_pure():
    p, g = [np.array([1.0, 2.0]), np.array([[3.0]])], [np.array([0.5, -1.0]), np.array([[2.0]])]
    new = optim.sgd_step(p, g, 0.1)
    np.testing.assert_allclose(new[0], [0.95, 2.1])
    np.testing.assert_allclose(new[1], [[2.8]])
    np.testing.assert_array_equal(p[0], [1.0, 2.0])


def test_momentum_on_a_quadratic_follows_its_linear_recurrence():
    """For f = a theta^2 / 2 the (theta, v) pair evolves by a fixed 2x2 matrix."""
    a, lr, beta, steps = 3.0, 0.05, 0.9, 25
    M = np.array([[1 - lr * a, beta], [-lr * a, beta]])  # theta' = theta + v', v' = beta v - lr a theta
    theta, v = [np.array([2.0])], None
    for _ in range(steps):
        theta, v = optim.momentum_step(theta, [a * theta[0]], v, lr, beta)
    expected = np.linalg.matrix_power(M, steps) @ np.array([2.0, 0.0])
    assert theta[0][0] == pytest.approx(expected[0], rel=1e-12)
    assert v[0][0] == pytest.approx(expected[1], rel=1e-12)


def test_adam_first_step_is_lr_times_sign_and_objects_match_functions():
    g = [np.array([1e-3, -50.0, 0.0])]
    new, m, v = optim.adam_step([np.zeros(3)], g, None, None, 1, lr=0.01, eps=1e-8)
    np.testing.assert_allclose(new[0], -0.01 * g[0] / (np.abs(g[0]) + 1e-8), rtol=1e-6)
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(2, 2)), rng.normal(size=(2, 1))]
    opt = optim.Adam(lr=0.1)
    p_obj, p_fn, m, v = params, params, None, None
    for t in range(1, 6):
        grads = [2 * p for p in p_obj]  # gradient of sum p^2
        p_obj = opt.step(p_obj, grads)
        p_fn, m, v = optim.adam_step(p_fn, [2 * p for p in p_fn], m, v, t, lr=0.1)
        for a, b in zip(p_obj, p_fn):
            np.testing.assert_array_equal(a, b)
    assert opt.t == 5


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_every_optimiser_minimises_a_quadratic(name):
    opt = optim.get(name, lr=0.05)
    p = [np.array([3.0, -2.0])]
    for _ in range(500):
        p = opt.step(p, [np.array([1.0, 4.0]) * p[0]])
    assert np.max(np.abs(p[0])) < 1e-2


def test_optimiser_errors():
    with pytest.raises(ValueError, match="unknown optimiser"):
        optim.get("rmsprop")
    with pytest.raises(ValueError, match="shape"):
        optim.sgd_step([np.zeros(2)], [np.zeros(3)], 0.1)
    with pytest.raises(ValueError, match="starts at 1"):
        optim.adam_step([np.zeros(2)], [np.zeros(2)], None, None, 0)


# ---- initialisers ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fn", "var"),
    [
        (init.glorot_normal, lambda n_out, n_in: 2 / (n_in + n_out)),
        (init.glorot_uniform, lambda n_out, n_in: 2 / (n_in + n_out)),
        (init.he_normal, lambda n_out, n_in: 2 / n_in),
        (init.he_uniform, lambda n_out, n_in: 2 / n_in),
        (init.naive_normal, lambda n_out, n_in: 1e-4),
    ],
)
def test_initialiser_shapes_and_variances(fn, var):
    W = fn(300, 200, np.random.default_rng(0))
    assert W.shape == (300, 200)
    assert W.var() == pytest.approx(var(300, 200), rel=0.03)
    assert abs(W.mean()) < 0.05 * np.sqrt(var(300, 200))


def test_initialisers_need_a_generator_and_leave_global_state_alone():
    state = np.random.get_state()[1].copy()
    a = init.he_normal(4, 3, np.random.default_rng(1))
    b = init.he_normal(4, 3, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    with pytest.raises(TypeError, match="Generator"):
        init.glorot_normal(3, 2, 0)
    W, b = init.init_network([5, 4, 2], np.random.default_rng(0), "glorot")
    assert [w.shape for w in W] == [(4, 5), (2, 4)] and [x.shape for x in b] == [(4, 1), (2, 1)]
    with pytest.raises(ValueError, match="unknown initialisation"):
        init.init_network([2, 2], np.random.default_rng(0), "lecun")


# ---- datasets ----------------------------------------------------------------------------
def test_generated_datasets_shapes_labels_and_seeding():
    X, Y = datasets.xor()
    np.testing.assert_array_equal(Y[0], (X[0] != X[1]).astype(float))
    assert X.shape == (2, 4) and Y.shape == (1, 4)
    for make in (datasets.spirals, datasets.moons):
        X1, Y1 = make(50, rng=3)
        X2, Y2 = make(50, rng=np.random.default_rng(3))
        X3, _ = make(50, rng=4)
        assert X1.shape == (2, 100) and Y1.shape == (1, 100)
        np.testing.assert_array_equal(X1, X2)
        np.testing.assert_array_equal(Y1, Y2)
        assert not np.allclose(X1, X3)
        assert set(np.unique(Y1)) == {0.0, 1.0} and Y1.sum() == 50


def test_one_hot():
    Y = datasets.one_hot(np.array([2, 0, 1, 2]), 3)
    assert Y.shape == (3, 4)
    np.testing.assert_array_equal(np.argmax(Y, axis=0), [2, 0, 1, 2])
    np.testing.assert_array_equal(Y.sum(axis=0), 1.0)
    with pytest.raises(ValueError, match="labels must lie"):
        datasets.one_hot(np.array([0, 3]), 3)


def test_digits_ship_with_attribution_and_load_with_a_fixed_split():
    data_dir = Path(backproplab.__file__).parent / "data"
    npz = data_dir / "digits.npz"
    assert npz.stat().st_size < 100_000
    text = (data_dir / "DIGITS.md").read_text()
    assert "Alpaydin" in text and "Kaynak" in text and "CC BY 4.0" in text
    images, labels = datasets.load_digits_raw()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 16
    assert labels.shape == (1797,) and np.bincount(labels).min() >= 170
    d1, d2 = datasets.load_digits(), datasets.load_digits()
    assert d1.X_train.shape == (64, 1347) and d1.X_test.shape == (64, 450)
    assert d1.Y_train.shape == (10, 1347) and d1.Y_test.shape == (10, 450)
    np.testing.assert_array_equal(d1.X_test, d2.X_test)
    assert 0.0 <= d1.X_train.min() and d1.X_train.max() <= 1.0
    np.testing.assert_array_equal(np.argmax(d1.Y_test, axis=0), d1.y_test)
    # train and test are disjoint and together are the whole set
    both = np.concatenate([d1.images_train, d1.images_test]).reshape(1797, -1)
    assert np.array_equal(np.sort(both.view([("", both.dtype)] * 64), axis=0),
                          np.sort(images.reshape(1797, -1).view([("", images.dtype)] * 64), axis=0))
    np.testing.assert_array_equal(d1.X_test[:, 0], d1.images_test[0].ravel() / 16.0)
