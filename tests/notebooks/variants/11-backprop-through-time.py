"""Sensitivity variants of 11-backprop-through-time: common mistakes that must lose points, and
one differently written correct answer per exercise that must keep full marks."""

_FORWARD = '''
def elman_forward(params, X, h0):
    T = X.shape[0]
    H = np.zeros((T + 1,) + h0.shape)
    H[0] = h0
    Yhat = np.zeros((T, params["W_hy"].shape[0], X.shape[2]))
    for t in range(1, T + 1):
        H[t] = np.tanh(params["W_xh"] @ X[t - 1] + {prev} + params["b_h"])
        Yhat[t - 1] = params["W_hy"] @ {out} + params["b_y"]
    return {ret}
'''


def _forward(prev='params["W_hh"] @ H[t - 1]', out="H[t]", ret="H, Yhat"):
    return _FORWARD.format(prev=prev, out=out, ret=ret)


_BPTT = '''
def elman_bptt(params, X, Y, H):
    T, _, m = X.shape
    W_hh, W_hy = params["W_hh"], params["W_hy"]
    grads = {{name: np.zeros_like(value) for name, value in params.items()}}
    back = np.zeros_like(H[0])
    for t in range({stop}):
        e = W_hy @ H[t] + params["b_y"] - Y[t - 1]
        delta = {delta}
        grads["W_xh"] += delta @ X[t - 1].T
        grads["W_hh"] += delta @ {prev}.T
        grads["b_h"] += delta.sum(axis=1, keepdims=True)
        grads["W_hy"] += e @ {out}.T
        grads["b_y"] += e.sum(axis=1, keepdims=True)
        back = W_hh.T @ delta
    return {{name: g {scale} for name, g in grads.items()}}
'''


def _bptt(stop="T, 0, -1", delta="(1 - H[t] ** 2) * (W_hy.T @ e + back)", prev="H[t - 1]", out="H[t]", scale="/ m"):
    return _BPTT.format(stop=stop, delta=delta, prev=prev, out=out, scale=scale)


WRONG = {
    "ex11_forward": {
        "no_recurrent_term": _forward(prev="0"),
        "always_h0": _forward(prev='params["W_hh"] @ h0'),
        "W_hh_transposed": _forward(prev='params["W_hh"].T @ H[t - 1]'),
        "H_without_h0": _forward(ret="H[1:], Yhat"),
        "output_from_previous_state": _forward(out="H[t - 1]"),
        "output_before_tanh": '''
def elman_forward(params, X, h0):
    T = X.shape[0]
    H = np.zeros((T + 1,) + h0.shape)
    H[0] = h0
    Yhat = np.zeros((T, params["W_hy"].shape[0], X.shape[2]))
    for t in range(1, T + 1):
        z = params["W_xh"] @ X[t - 1] + params["W_hh"] @ H[t - 1] + params["b_h"]
        H[t] = np.tanh(z)
        Yhat[t - 1] = params["W_hy"] @ z + params["b_y"]
    return H, Yhat
''',
        # correct for short sequences, but one Python frame per step: the 1,500-step test fails
        "recursive": '''
def elman_forward(params, X, h0):
    def states(t):
        if t == 0:
            return [h0]
        H = states(t - 1)
        return H + [np.tanh(params["W_xh"] @ X[t - 1] + params["W_hh"] @ H[-1] + params["b_h"])]
    H = np.array(states(X.shape[0]))
    return H, np.array([params["W_hy"] @ h + params["b_y"] for h in H[1:]])
''',
    },
    "ex11_bptt": {
        "drops_recurrent_term": _bptt(delta="(1 - H[t] ** 2) * (W_hy.T @ e)"),
        "forgets_tanh_slope": _bptt(delta="W_hy.T @ e + back"),
        "pairs_delta_with_h_t": _bptt(prev="H[t]"),
        "skips_first_step": _bptt(stop="T, 1, -1"),
        "output_from_previous_state": _bptt(out="H[t - 1]"),
        "sums_over_the_batch": _bptt(scale="* 1"),
        # correct for short sequences, but one Python frame per step: the 1,500-step test fails
        "recursive": '''
def elman_bptt(params, X, Y, H):
    T, _, m = X.shape
    grads = {name: np.zeros_like(value) for name, value in params.items()}

    def step(t, back):
        if t == 0:
            return
        e = params["W_hy"] @ H[t] + params["b_y"] - Y[t - 1]
        delta = (1 - H[t] ** 2) * (params["W_hy"].T @ e + back)
        grads["W_xh"] += delta @ X[t - 1].T
        grads["W_hh"] += delta @ H[t - 1].T
        grads["b_h"] += delta.sum(axis=1, keepdims=True)
        grads["W_hy"] += e @ H[t].T
        grads["b_y"] += e.sum(axis=1, keepdims=True)
        step(t - 1, params["W_hh"].T @ delta)

    step(T, np.zeros_like(H[0]))
    return {name: g / m for name, g in grads.items()}
''',
    },
    "ex11_clip": {
        "per_array_clipping": '''
def clip_gradients(grads, max_norm):
    out = {}
    for name, g in grads.items():
        n = np.linalg.norm(g)
        out[name] = g * (max_norm / n) if n > max_norm else g.copy()
    return out
''',
        "value_clipping": '''
def clip_gradients(grads, max_norm):
    return {name: np.clip(g, -max_norm, max_norm) for name, g in grads.items()}
''',
        "always_rescales": '''
def clip_gradients(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    return {name: g * (max_norm / norm) for name, g in grads.items()}
''',
        "scales_in_place": '''
def clip_gradients(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return grads
''',
    },
}

CORRECT = {
    # a list of states, the outputs of all steps at once
    "ex11_forward": '''
def elman_forward(params, X, h0):
    states = [h0]
    for x_t in X:
        states.append(np.tanh(params["W_xh"] @ x_t + params["W_hh"] @ states[-1] + params["b_h"]))
    H = np.stack(states)
    Yhat = np.einsum("yh,thm->tym", params["W_hy"], H[1:]) + params["b_y"]
    return H, Yhat
''',
    # all output errors first, the deltas in a list, then every sum over time at once
    "ex11_bptt": '''
def elman_bptt(params, X, Y, H):
    T, _, m = X.shape
    E = np.einsum("yh,thm->tym", params["W_hy"], H[1:]) + params["b_y"] - Y
    D = np.zeros_like(H[1:])
    for t in reversed(range(T)):
        dh = params["W_hy"].T @ E[t]
        if t + 1 < T:
            dh = dh + params["W_hh"].T @ D[t + 1]
        D[t] = (1 - H[t + 1] ** 2) * dh
    return {
        "W_xh": np.einsum("thm,tim->hi", D, X) / m,
        "W_hh": np.einsum("thm,tim->hi", D, H[:-1]) / m,
        "b_h": D.sum(axis=(0, 2))[:, None] / m,
        "W_hy": np.einsum("tym,thm->yh", E, H[1:]) / m,
        "b_y": E.sum(axis=(0, 2))[:, None] / m,
    }
''',
    # the global norm of everything flattened into one vector; min() instead of an if
    "ex11_clip": '''
def clip_gradients(grads, max_norm):
    flat = np.concatenate([np.ravel(g) for g in grads.values()])
    factor = min(1.0, max_norm / max(np.linalg.norm(flat), 1e-300))
    return {name: factor * g for name, g in grads.items()}
''',
}

# Every hint of every exercise, and the wrong variant on which it must fire.
FIRES = {
    "ex11_forward": {"no_recurrence": "no_recurrent_term", "stale_state": "always_h0",
                     "whh_transposed": "W_hh_transposed", "h0_missing": "H_without_h0",
                     "yhat_prev": "output_from_previous_state", "yhat_from_z": "output_before_tanh"},
    "ex11_bptt": {"no_recurrent": "drops_recurrent_term", "no_slope": "forgets_tanh_slope",
                  "pairs_h_t": "pairs_delta_with_h_t", "skips_step": "skips_first_step",
                  "output_prev": "output_from_previous_state"},
    "ex11_clip": {"per_array": "per_array_clipping", "elementwise": "value_clipping", "always": "always_rescales",
                  "in_place": "scales_in_place"},
}
