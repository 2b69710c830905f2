"""Sensitivity variants of 10-beyond-backprop: common mistakes that must lose points, one
differently written correct answer per exercise that must keep full marks, and the wrong variant
on which each hint must fire."""


def _fa(back: str, slope: str = "activation(activations[l - 2]).df(Z)") -> str:
    return f'''
def fa_backward(weights, feedback, caches, activations, delta_L):
    L = len(weights)
    dW, db = [None] * L, [None] * L
    delta = delta_L
    for l in range(L, 0, -1):
        A_prev, _ = caches[l - 1]
        m = delta.shape[1]
        dW[l - 1] = delta @ A_prev.T / m
        db[l - 1] = delta.sum(axis=1, keepdims=True) / m
        if l > 1:
            Z = caches[l - 2][1]
            delta = {slope} * ({back} @ delta)
    return dW, db
'''


def _jacobian(flatten_W: str = "(delta.T[:, :, None] * A_prev.T[:, None, :]).reshape(m, -1)",
              scale: str = "1.0", biases_first: bool = False) -> str:
    blocks = "blocks_b + blocks_W" if biases_first else "blocks_W + blocks_b"
    return f'''
def residual_jacobian(weights, biases, X, activations):
    _, caches = matrix.forward(weights, biases, X, activations)
    L, m = len(weights), X.shape[1]
    delta = activation(activations[-1]).df(caches[-1][1]) * {scale}
    blocks_W, blocks_b = [None] * L, [None] * L
    for l in range(L, 0, -1):
        A_prev = caches[l - 1][0]
        blocks_W[l - 1] = {flatten_W}
        blocks_b[l - 1] = delta.T
        if l > 1:
            delta = activation(activations[l - 2]).df(caches[l - 2][1]) * (weights[l - 1].T @ delta)
    return np.hstack({blocks})
'''


def _step(body: str) -> str:
    return f'''
def lm_step(J, r, theta, lam):
    return {body}
'''


_JACOBIAN = _jacobian()
_STEP = _step("theta - np.linalg.solve(J.T @ J + lam * np.eye(theta.size), J.T @ r)")


def _quantize(body: str) -> str:
    return f'''
def quantize(W, bits, alpha):
    q = 2 ** (bits - 1) - 1
    s = alpha / q
    return {body}
'''


_SWEEP = '''
def hidden_size_sweep(sizes, seeds, fit):
    train_losses = np.zeros((len(sizes), len(seeds)))
    val_losses = np.zeros((len(sizes), len(seeds)))
    for i, n in enumerate(sizes):
        for k, seed in enumerate(seeds):
            train_losses[i, k], val_losses[i, k] = fit(n, seed)
    return train_losses, val_losses
'''


def _choose(body: str) -> str:
    return f'''
def choose_hidden_size(sizes, train_losses, val_losses):
    return {body}
'''


WRONG = {
    "ex10_feedback_alignment": {
        "still_uses_W_transposed": _fa("weights[l - 1].T"),
        "feedback_transposed": _fa("feedback[l - 2].T"),
        "no_activation_slope": _fa("feedback[l - 2]", slope="1.0"),
        "slope_at_the_activation": _fa("feedback[l - 2]", slope="activation(activations[l - 2]).df(A_prev)"),
    },
    "ex10_levenberg_marquardt": {
        "jacobian_divided_by_m": _jacobian(scale="(1 / X.shape[1])") + _STEP,
        "jacobian_biases_first": _jacobian(biases_first=True) + _STEP,
        "jacobian_column_major": _jacobian(
            flatten_W="(A_prev.T[:, :, None] * delta.T[:, None, :]).reshape(m, -1)") + _STEP,
        "damping_subtracted": _JACOBIAN + _step(
            "theta - np.linalg.solve(J.T @ J - lam * np.eye(theta.size), J.T @ r)"),
        "step_uphill": _JACOBIAN + _step("theta + np.linalg.solve(J.T @ J + lam * np.eye(theta.size), J.T @ r)"),
        "damping_ignored": _JACOBIAN + _step("theta - np.linalg.solve(J.T @ J, J.T @ r)"),
    },
    "ex10_quantize": {
        "clips_without_rounding": _quantize("np.clip(W, -alpha, alpha)"),
        "rounds_without_clipping": _quantize("s * np.round(W / s)"),
        "one_level_too_many": '''
def quantize(W, bits, alpha):
    q = 2 ** (bits - 1)
    s = alpha / q
    return s * np.clip(np.round(W / s), -q, q)
''',
        "floor_instead_of_round": _quantize("s * np.clip(np.floor(W / s), -q, q)"),
        "changes_W_in_place": '''
def quantize(W, bits, alpha):
    q = 2 ** (bits - 1) - 1
    s = alpha / q
    W /= s
    np.round(W, out=W)
    np.clip(W, -q, q, out=W)
    W *= s
    return W
''',
    },
    "ex10_hidden_size": {
        "sweep_returns_swapped": '''
def hidden_size_sweep(sizes, seeds, fit):
    table = np.array([[fit(n, seed) for seed in seeds] for n in sizes])   # (S, K, 2)
    return table[..., 1], table[..., 0]
''' + _choose("sizes[int(np.argmin(val_losses.mean(axis=1)))]"),
        "chooses_by_training_loss": _SWEEP + _choose("sizes[int(np.argmin(train_losses.mean(axis=1)))]"),
        "chooses_the_luckiest_seed": _SWEEP + _choose("sizes[int(np.argmin(val_losses.min(axis=1)))]"),
        "returns_the_index": _SWEEP + _choose("int(np.argmin(val_losses.mean(axis=1)))"),
        "ties_to_the_larger_size": _SWEEP + _choose(
            "max(n for n, v in zip(sizes, val_losses.mean(axis=1)) if v == val_losses.mean(axis=1).min())"),
    },
}

CORRECT = {
    # deltas first, then every gradient with einsum
    "ex10_feedback_alignment": '''
def fa_backward(weights, feedback, caches, activations, delta_L):
    L = len(weights)
    deltas = {L: delta_L}
    for l in range(L - 1, 0, -1):
        Z = caches[l - 1][1]
        deltas[l] = activation(activations[l - 1]).df(Z) * np.einsum("ij,jk->ik", feedback[l - 1], deltas[l + 1])
    m = delta_L.shape[1]
    dW = [np.einsum("ik,jk->ij", deltas[l], caches[l - 1][0]) / m for l in range(1, L + 1)]
    db = [np.mean(deltas[l], axis=1, keepdims=True) for l in range(1, L + 1)]
    return dW, db
''',
    # one backprop call per example (residual a - y with y = a - 1 has gradient d a / d theta), and a
    # least-squares solve of the augmented system
    "ex10_levenberg_marquardt": '''
def residual_jacobian(weights, biases, X, activations):
    A, _ = matrix.forward(weights, biases, X, activations)
    rows = []
    for j in range(X.shape[1]):
        _, dW, db = matrix.backprop(weights, biases, X[:, [j]], A[:, [j]] - 1.0, activations, "squared_error")
        rows.append(flatten_params(list(dW) + list(db)))
    return np.array(rows)


def lm_step(J, r, theta, lam):
    P = theta.size
    A = np.vstack([J, np.sqrt(lam) * np.eye(P)])
    delta, *_ = np.linalg.lstsq(A, np.concatenate([-r, np.zeros(P)]), rcond=None)
    return theta + delta
''',
    "ex10_quantize": '''
def quantize(W, bits, alpha):
    levels = 2 ** (bits - 1) - 1
    step = alpha / levels
    codes = np.rint(np.asarray(W, dtype=float) / step)
    return step * np.minimum(np.maximum(codes, -levels), levels)
''',
    "ex10_hidden_size": '''
def hidden_size_sweep(sizes, seeds, fit):
    results = np.array([[fit(n, seed) for seed in seeds] for n in sizes])   # (S, K, 2)
    return results[:, :, 0], results[:, :, 1]


def choose_hidden_size(sizes, train_losses, val_losses):
    means = {n: float(np.mean(v)) for n, v in zip(sizes, val_losses)}
    return min(sizes, key=lambda n: (means[n], n))
''',
}

FIRES = {
    "ex10_feedback_alignment": {
        "used_WT": "still_uses_W_transposed",
        "B_transposed": "feedback_transposed",
        "missing_slope": "no_activation_slope",
    },
    "ex10_levenberg_marquardt": {
        "jac_mean": "jacobian_divided_by_m",
        "jac_biases_first": "jacobian_biases_first",
        "jac_column_major": "jacobian_column_major",
        "lm_damping_sign": "damping_subtracted",
        "lm_step_sign": "step_uphill",
        "lm_no_damping": "damping_ignored",
    },
    "ex10_quantize": {
        "no_rounding": "clips_without_rounding",
        "no_clipping": "rounds_without_clipping",
        "levels": "one_level_too_many",
        "floor": "floor_instead_of_round",
    },
    "ex10_hidden_size": {
        "sweep_swapped": "sweep_returns_swapped",
        "choose_by_train": "chooses_by_training_loss",
        "choose_best_seed": "chooses_the_luckiest_seed",
        "choose_index": "returns_the_index",
    },
}
