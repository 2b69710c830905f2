"""Sensitivity variants of 03-gradient-checking: common mistakes that must lose points, and
one differently written correct answer per exercise that must keep full marks."""

_FIND_BUG_OK = '''
def find_bug(loss_fn, grad_fn, params, tol=1e-5):
    analytic = grad_fn(params)
    worst, where = 0.0, None
    for name, p in params.items():
        numeric = numerical_gradient(lambda _: loss_fn(params), p)
        a = np.asarray(analytic[name], dtype=np.float64)
        err = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), 1e-12)
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
def relative_error(a, b, eps=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.max((a - b) / np.maximum(np.abs(a) + np.abs(b), eps)))
''',
        "divides_by_abs_b": '''
def relative_error(a, b, eps=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), eps)))
''',
        "absolute_error": '''
def relative_error(a, b, eps=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)))
''',
        "norms_not_entries": '''
def relative_error(a, b, eps=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), eps))
''',
        "no_eps_floor": '''
def relative_error(a, b, eps=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.nanmax(np.abs(a - b) / (np.abs(a) + np.abs(b))))
''',
    },
    "ex03_find_bug": {
        "never_returns_none": '''
def find_bug(loss_fn, grad_fn, params, tol=1e-5):
    analytic = grad_fn(params)
    worst, where = -1.0, None
    for name, p in params.items():
        numeric = numerical_gradient(lambda _: loss_fn(params), p)
        a = np.asarray(analytic[name], dtype=np.float64)
        err = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), 1e-12)
        i = np.unravel_index(np.argmax(err), err.shape)
        if err[i] > worst:
            worst, where = float(err[i]), (name, tuple(int(k) for k in i))
    return where
''',
        "absolute_error_with_tol": '''
def find_bug(loss_fn, grad_fn, params, tol=1e-5):
    analytic = grad_fn(params)
    worst, where = 0.0, None
    for name, p in params.items():
        numeric = numerical_gradient(lambda _: loss_fn(params), p)
        err = np.abs(analytic[name] - numeric)
        i = np.unravel_index(np.argmax(err), err.shape)
        if err[i] > worst:
            worst, where = float(err[i]), (name, tuple(int(k) for k in i))
    return where if worst > tol else None
''',
        "flat_index": '''
def find_bug(loss_fn, grad_fn, params, tol=1e-5):
    analytic = grad_fn(params)
    worst, where = 0.0, None
    for name, p in params.items():
        numeric = numerical_gradient(lambda _: loss_fn(params), p)
        a = analytic[name]
        err = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), 1e-12)
        i = int(np.argmax(err))
        if err.flat[i] > worst:
            worst, where = float(err.flat[i]), (name, i)
    return where if worst > tol else None
''',
        "checks_a_copy": '''
def find_bug(loss_fn, grad_fn, params, tol=1e-5):
    analytic = grad_fn(params)
    worst, where = 0.0, None
    for name, p in params.items():
        numeric = numerical_gradient(lambda _: loss_fn(params), p.copy())
        a = analytic[name]
        err = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), 1e-12)
        i = np.unravel_index(np.argmax(err), err.shape)
        if err[i] > worst:
            worst, where = float(err[i]), (name, tuple(int(k) for k in i))
    return where if worst > tol else None
''',
        "first_failing_not_worst": '''
def find_bug(loss_fn, grad_fn, params, tol=1e-5):
    analytic = grad_fn(params)
    for name, p in params.items():
        numeric = numerical_gradient(lambda _: loss_fn(params), p)
        a = analytic[name]
        err = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), 1e-12)
        for i in np.ndindex(err.shape):
            if err[i] > tol:
                return name, i
    return None
''',
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
    flat = x.reshape(-1)          # a view: writing into it changes x
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
    "ex03_relative_error": '''
def relative_error(a, b, eps=1e-12):
    a = np.atleast_1d(np.array(a, dtype=float))
    b = np.atleast_1d(np.array(b, dtype=float))
    worst = 0.0
    for p, q in zip(a.ravel(), b.ravel()):
        worst = max(worst, abs(p - q) / max(abs(p) + abs(q), eps))
    return float(worst)
''',
    "ex03_find_bug": '''
def find_bug(loss_fn, grad_fn, params, tol=1e-5):
    analytic = grad_fn(params)
    candidates = []
    for name in params:
        numeric = numerical_gradient(lambda _: loss_fn(params), params[name])
        for idx in np.ndindex(numeric.shape):
            r = relative_error(analytic[name][idx], numeric[idx])
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
