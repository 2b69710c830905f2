"""Sensitivity variants of 03-gradient-checking: common mistakes that must lose points, and
one differently written correct answer per exercise that must keep full marks."""

_FIND_BUG = '''
def find_bug(loss_fn, grad_fn, params, tol=1e-6):
    analytic = grad_fn(params)
    floor = noise_floor(loss_fn(params)) / tol
    worst, where = 0.0, None
    for name, p in params.items():
        numeric = numerical_gradient(lambda _: loss_fn(params), p)
        a = np.asarray(analytic[name], dtype=np.float64)
        err = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), floor)
        i = np.unravel_index(np.argmax(err), err.shape)
        if err[i] > worst:
            worst, where = float(err[i]), (name, tuple(int(k) for k in i))
    return where if worst > tol else None
'''

WRONG = {
    "ex03_numerical_gradient": {
        "forward_difference": '''
def numerical_gradient(f, x, h=1e-5):
    g = np.zeros_like(x)
    f0 = float(f(x))
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        g[i] = (float(f(x)) - f0) / h
        x[i] = old
    return g
''',
        "forgot_to_restore": '''
def numerical_gradient(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        fp = float(f(x))
        x[i] -= 2 * h
        fm = float(f(x))
        g[i] = (fp - fm) / (2 * h)
    return g
''',
        "divided_by_h_not_2h": '''
def numerical_gradient(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = float(f(x))
        x[i] = old - h
        fm = float(f(x))
        x[i] = old
        g[i] = (fp - fm) / h
    return g
''',
        "perturbs_a_copy": '''
def numerical_gradient(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (float(f(xp)) - float(f(xm))) / (2 * h)
    return g
''',
        # writes into x.reshape(-1), which is a copy when x is not contiguous (x.T): f never sees the change
        "reshape_is_not_always_a_view": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.empty(x.shape)
    flat = x.reshape(-1)
    for k in range(flat.size):
        saved = flat[k]
        flat[k] = saved + h
        up = f(x)
        flat[k] = saved - h
        down = f(x)
        flat[k] = saved
        grad.reshape(-1)[k] = (up - down) / (2.0 * h)
    return grad
''',
        "only_flat_first_axis": '''
def numerical_gradient(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in range(x.shape[0]):
        old = x[i].copy()
        x[i] = old + h
        fp = float(f(x))
        x[i] = old - h
        fm = float(f(x))
        x[i] = old
        g[i] = (fp - fm) / (2 * h)
    return g
''',
    },
    "ex03_relative_error": {
        "no_abs_in_numerator": '''
def relative_error(a, b, floor=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.max((a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))
''',
        "divides_by_abs_b": '''
def relative_error(a, b, floor=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor)))
''',
        "divides_by_abs_a": '''
def relative_error(a, b, floor=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), floor)))
''',
        "absolute_error": '''
def relative_error(a, b, floor=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)))
''',
        "norms_not_entries": '''
def relative_error(a, b, floor=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), floor))
''',
        "no_floor": '''
def relative_error(a, b, floor=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.nanmax(np.abs(a - b) / (np.abs(a) + np.abs(b))))
''',
        # the floor argument is ignored: 1e-12 always
        "floor_fixed": '''
def relative_error(a, b, floor=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))
''',
    },
    "ex03_find_bug": {
        "never_returns_none": _FIND_BUG.replace("return where if worst > tol else None", "return where")
                                       .replace("worst, where = 0.0, None", "worst, where = -1.0, None"),
        # the rule without the noise floor: a saturated unit's tiny entries raise a false alarm
        "no_noise_floor": _FIND_BUG.replace("floor = noise_floor(loss_fn(params)) / tol", "floor = 1e-12"),
        "absolute_error_with_tol": '''
def find_bug(loss_fn, grad_fn, params, tol=1e-6):
    analytic = grad_fn(params)
    worst, where = 0.0, None
    for name, p in params.items():
        numeric = numerical_gradient(lambda _: loss_fn(params), p)
        err = np.abs(analytic[name] - numeric)
        i = np.unravel_index(np.argmax(err), err.shape)
        if err[i] > worst:
            worst, where = float(err[i]), (name, tuple(int(k) for k in i))
    return where if worst > 1e-5 else None
''',
        "flat_index": '''
def find_bug(loss_fn, grad_fn, params, tol=1e-6):
    analytic = grad_fn(params)
    floor = noise_floor(loss_fn(params)) / tol
    worst, where = 0.0, None
    for name, p in params.items():
        numeric = numerical_gradient(lambda _: loss_fn(params), p)
        a = analytic[name]
        err = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), floor)
        i = int(np.argmax(err))
        if err.flat[i] > worst:
            worst, where = float(err.flat[i]), (name, i)
    return where if worst > tol else None
''',
        "checks_a_copy": _FIND_BUG.replace("numerical_gradient(lambda _: loss_fn(params), p)",
                                           "numerical_gradient(lambda _: loss_fn(params), p.copy())"),
        "first_failing_not_worst": '''
def find_bug(loss_fn, grad_fn, params, tol=1e-6):
    analytic = grad_fn(params)
    floor = noise_floor(loss_fn(params)) / tol
    for name, p in params.items():
        numeric = numerical_gradient(lambda _: loss_fn(params), p)
        a = analytic[name]
        err = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), floor)
        for i in np.ndindex(err.shape):
            if err[i] > tol:
                return name, i
    return None
''',
        # looks at the weights only: a bug in a bias gradient goes unseen
        "skips_the_biases": _FIND_BUG.replace("for name, p in params.items():",
                                              "for name, p in params.items():\n        if name.startswith('b'):\n"
                                              "            continue"),
        # a numerical gradient that does not restore the entries: find_bug damages the parameters
        "damages_params": _FIND_BUG.replace("numeric = numerical_gradient(lambda _: loss_fn(params), p)",
                                            "numeric = numerical_gradient(lambda _: loss_fn(params), p)\n"
                                            "        p += 1e-3"),
    },
    "ex03_fix_backward": {
        "left_the_bug_in": '''
def backward(params, X, Y):
    return backward_buggy(params, X, Y)
''',
        "tanh_prime_of_Z": '''
def backward(params, X, Y):
    m = X.shape[1]
    Z1 = params["W1"] @ X + params["b1"]
    A1 = np.tanh(Z1)
    delta2 = params["W2"] @ A1 + params["b2"] - Y
    delta1 = (params["W2"].T @ delta2) * (1 - Z1 ** 2)
    return {"W1": delta1 @ X.T / m, "b1": delta1.sum(axis=1, keepdims=True) / m,
            "W2": delta2 @ A1.T / m, "b2": delta2.sum(axis=1, keepdims=True) / m}
''',
        "summed_not_averaged": '''
def backward(params, X, Y):
    Z1 = params["W1"] @ X + params["b1"]
    A1 = np.tanh(Z1)
    delta2 = params["W2"] @ A1 + params["b2"] - Y
    delta1 = (params["W2"].T @ delta2) * (1 - A1 ** 2)
    return {"W1": delta1 @ X.T, "b1": delta1.sum(axis=1, keepdims=True),
            "W2": delta2 @ A1.T, "b2": delta2.sum(axis=1, keepdims=True)}
''',
        "bias_without_keepdims": '''
def backward(params, X, Y):
    m = X.shape[1]
    A1 = np.tanh(params["W1"] @ X + params["b1"])
    delta2 = params["W2"] @ A1 + params["b2"] - Y
    delta1 = (params["W2"].T @ delta2) * (1 - A1 ** 2)
    return {"W1": delta1 @ X.T / m, "b1": delta1.mean(axis=1),
            "W2": delta2 @ A1.T / m, "b2": delta2.mean(axis=1)}
''',
    },
}

CORRECT = {
    "ex03_numerical_gradient": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.empty(x.shape)
    flat = x.flat                 # writing through x.flat changes x, contiguous or not
    for k in range(x.size):
        saved = flat[k]
        flat[k] = saved + h
        up = f(x)
        flat[k] = saved - h
        down = f(x)
        flat[k] = saved
        grad.flat[k] = (up - down) / (2.0 * h)
    return grad
''',
    "ex03_relative_error": '''
def relative_error(a, b, floor=1e-12):
    a = np.atleast_1d(np.array(a, dtype=float))
    b = np.atleast_1d(np.array(b, dtype=float))
    worst = 0.0
    for p, q in zip(a.ravel(), b.ravel()):
        worst = max(worst, abs(p - q) / max(abs(p) + abs(q), floor))
    return float(worst)
''',
    "ex03_find_bug": '''
def find_bug(loss_fn, grad_fn, params, tol=1e-6):
    analytic = grad_fn(params)
    eta = noise_floor(loss_fn(params))
    candidates = []
    for name in params:
        numeric = numerical_gradient(lambda _: loss_fn(params), params[name])
        for idx in np.ndindex(numeric.shape):
            r = relative_error(analytic[name][idx], numeric[idx], floor=eta / tol)
            candidates.append((r, name, idx))
    r, name, idx = max(candidates, key=lambda c: c[0])
    return (name, idx) if r > tol else None
''',
    "ex03_fix_backward": '''
def backward(params, X, Y):
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    m = X.shape[1]
    A1 = np.tanh(W1 @ X + b1)
    D2 = (W2 @ A1 + b2 - Y) / m
    D1 = np.einsum("ki,kj->ij", W2, D2) * (1.0 - A1 * A1)
    return {"W1": np.einsum("im,jm->ij", D1, X), "b1": D1.sum(axis=1)[:, None],
            "W2": np.einsum("im,jm->ij", D2, A1), "b2": D2.sum(axis=1)[:, None]}
''',
}

FIRES = {
    "ex03_numerical_gradient": {"forward": "forward_difference", "twice": "divided_by_h_not_2h",
                                "copy": "reshape_is_not_always_a_view", "restore": "forgot_to_restore"},
    "ex03_relative_error": {"no_abs": "no_abs_in_numerator", "divide_b": "divides_by_abs_b",
                            "divide_a": "divides_by_abs_a", "absolute": "absolute_error",
                            "norms": "norms_not_entries", "floor": "floor_fixed"},
    "ex03_find_bug": {"missed": "skips_the_biases", "worst": "first_failing_not_worst", "flat": "flat_index",
                      "never_none": "never_returns_none", "floor": "no_noise_floor",
                      "relative": "absolute_error_with_tol", "params": "damages_params"},
    "ex03_fix_backward": {"still_buggy": "left_the_bug_in", "tanh_of_z": "tanh_prime_of_Z",
                          "column": "bias_without_keepdims"},
}
