"""Sensitivity variants of 06-matrix-backprop: common mistakes that must lose points, and
one differently written correct answer per exercise that must keep full marks."""

WRONG = {
    "ex06_forward": {
        # b.ravel(): a 1-D bias broadcasts along the rows (silently wrong when n_l == m)
        "bias_as_1d_vector": '''
def forward(weights, biases, X, activations):
    A = X
    caches = []
    for W, b, name in zip(weights, biases, activations):
        Z = W @ A + b.ravel()
        caches.append((A, Z))
        A = activation(name).f(Z)
    return A, caches
''',
        "no_bias": '''
def forward(weights, biases, X, activations):
    A = X
    caches = []
    for W, b, name in zip(weights, biases, activations):
        Z = W @ A
        caches.append((A, Z))
        A = activation(name).f(Z)
    return A, caches
''',
        "no_activation_on_the_output_layer": '''
def forward(weights, biases, X, activations):
    A = X
    caches = []
    L = len(weights)
    for l in range(L):
        Z = weights[l] @ A + biases[l]
        caches.append((A, Z))
        A = activation(activations[l]).f(Z) if l < L - 1 else Z
    return A, caches
''',
        "cache_holds_the_layer_output": '''
def forward(weights, biases, X, activations):
    A = X
    caches = []
    for W, b, name in zip(weights, biases, activations):
        Z = W @ A + b
        A = activation(name).f(Z)
        caches.append((A, Z))
    return A, caches
''',
        "cache_holds_A_for_Z": '''
def forward(weights, biases, X, activations):
    A = X
    caches = []
    for W, b, name in zip(weights, biases, activations):
        Z = W @ A + b
        A_new = activation(name).f(Z)
        caches.append((A, A_new))
        A = A_new
    return A, caches
''',
    },
    "ex06_backward": {
        "W_instead_of_W_transpose": '''
def backward(weights, caches, activations, delta_L):
    L = len(weights)
    m = delta_L.shape[1]
    dW, db = [None] * L, [None] * L
    delta = delta_L
    for l in range(L, 0, -1):
        A_prev, Z = caches[l - 1]
        dW[l - 1] = delta @ A_prev.T / m
        db[l - 1] = np.sum(delta, axis=1, keepdims=True) / m
        if l > 1:
            delta = activation(activations[l - 2]).df(caches[l - 2][1]) * (weights[l - 1] @ delta)
    return dW, db
''',
        "sum_instead_of_mean": '''
def backward(weights, caches, activations, delta_L):
    L = len(weights)
    dW, db = [None] * L, [None] * L
    delta = delta_L
    for l in range(L, 0, -1):
        A_prev, Z = caches[l - 1]
        dW[l - 1] = delta @ A_prev.T
        db[l - 1] = np.sum(delta, axis=1, keepdims=True)
        if l > 1:
            delta = activation(activations[l - 2]).df(caches[l - 2][1]) * (weights[l - 1].T @ delta)
    return dW, db
''',
        "bias_gradient_over_the_wrong_axis": '''
def backward(weights, caches, activations, delta_L):
    L = len(weights)
    m = delta_L.shape[1]
    dW, db = [None] * L, [None] * L
    delta = delta_L
    for l in range(L, 0, -1):
        A_prev, Z = caches[l - 1]
        dW[l - 1] = delta @ A_prev.T / m
        db[l - 1] = np.sum(delta, axis=0, keepdims=True) / m
        if l > 1:
            delta = activation(activations[l - 2]).df(caches[l - 2][1]) * (weights[l - 1].T @ delta)
    return dW, db
''',
        "bias_gradient_without_keepdims": '''
def backward(weights, caches, activations, delta_L):
    L = len(weights)
    m = delta_L.shape[1]
    dW, db = [None] * L, [None] * L
    delta = delta_L
    for l in range(L, 0, -1):
        A_prev, Z = caches[l - 1]
        dW[l - 1] = delta @ A_prev.T / m
        db[l - 1] = np.sum(delta, axis=1) / m
        if l > 1:
            delta = activation(activations[l - 2]).df(caches[l - 2][1]) * (weights[l - 1].T @ delta)
    return dW, db
''',
        # f'(A) instead of f'(Z): A^(l) is the input of layer l + 1, caches[l][0]
        "slope_at_A_instead_of_Z": '''
def backward(weights, caches, activations, delta_L):
    L = len(weights)
    m = delta_L.shape[1]
    dW, db = [None] * L, [None] * L
    delta = delta_L
    for l in range(L, 0, -1):
        A_prev, Z = caches[l - 1]
        dW[l - 1] = delta @ A_prev.T / m
        db[l - 1] = np.sum(delta, axis=1, keepdims=True) / m
        if l > 1:
            delta = activation(activations[l - 2]).df(A_prev) * (weights[l - 1].T @ delta)
    return dW, db
''',
        "no_slope_in_the_hidden_deltas": '''
def backward(weights, caches, activations, delta_L):
    L = len(weights)
    m = delta_L.shape[1]
    dW, db = [None] * L, [None] * L
    delta = delta_L
    for l in range(L, 0, -1):
        A_prev, Z = caches[l - 1]
        dW[l - 1] = delta @ A_prev.T / m
        db[l - 1] = np.sum(delta, axis=1, keepdims=True) / m
        if l > 1:
            delta = weights[l - 1].T @ delta
    return dW, db
''',
        # the 1/m put into the delta (allowed), but in place: the caller's delta_L changes
        "divides_delta_L_in_place": '''
def backward(weights, caches, activations, delta_L):
    L = len(weights)
    delta = delta_L
    delta /= delta.shape[1]
    dW, db = [None] * L, [None] * L
    for l in range(L, 0, -1):
        A_prev, Z = caches[l - 1]
        dW[l - 1] = delta @ A_prev.T
        db[l - 1] = np.sum(delta, axis=1, keepdims=True)
        if l > 1:
            delta = activation(activations[l - 2]).df(caches[l - 2][1]) * (weights[l - 1].T @ delta)
    return dW, db
''',
    },
    "ex06_cost_delta": {
        "cost_summed_over_the_batch": '''
def cost_and_delta(A_L, Z_L, Y, activation_name):
    C = 0.5 * np.sum((A_L - Y) ** 2)
    return C, activation(activation_name).df(Z_L) * (A_L - Y)
''',
        "cost_without_the_half": '''
def cost_and_delta(A_L, Z_L, Y, activation_name):
    C = np.sum((A_L - Y) ** 2) / A_L.shape[1]
    return C, activation(activation_name).df(Z_L) * (A_L - Y)
''',
        "delta_without_the_slope": '''
def cost_and_delta(A_L, Z_L, Y, activation_name):
    C = 0.5 * np.sum((A_L - Y) ** 2) / A_L.shape[1]
    return C, A_L - Y
''',
        "target_minus_output": '''
def cost_and_delta(A_L, Z_L, Y, activation_name):
    C = 0.5 * np.sum((A_L - Y) ** 2) / A_L.shape[1]
    return C, activation(activation_name).df(Z_L) * (Y - A_L)
''',
        "slope_at_A": '''
def cost_and_delta(A_L, Z_L, Y, activation_name):
    C = 0.5 * np.sum((A_L - Y) ** 2) / A_L.shape[1]
    return C, activation(activation_name).df(A_L) * (A_L - Y)
''',
        # the batch mean put into the deltas: dW and db would then divide by m twice
        "delta_divided_by_m": '''
def cost_and_delta(A_L, Z_L, Y, activation_name):
    m = A_L.shape[1]
    C = 0.5 * np.sum((A_L - Y) ** 2) / m
    return C, activation(activation_name).df(Z_L) * (A_L - Y) / m
''',
    },
}

CORRECT = {
    # one example (column) at a time, with 1-D vectors reshaped into columns
    "ex06_forward": '''
def forward(weights, biases, X, activations):
    m = X.shape[1]
    caches = [(np.empty((W.shape[1], m)), np.empty((W.shape[0], m))) for W in weights]
    out = np.empty((weights[-1].shape[0], m))
    for j in range(m):
        a = X[:, j:j + 1]
        for l, (W, b, name) in enumerate(zip(weights, biases, activations)):
            z = np.einsum("ji,ik->jk", W, a) + b
            caches[l][0][:, j:j + 1] = a
            caches[l][1][:, j:j + 1] = z
            a = activation(name).f(z)
        out[:, j:j + 1] = a
    return out, caches
''',
    # the 1/m placed in the delta (on a copy), einsum for the products, layers by negative index
    "ex06_backward": '''
def backward(weights, caches, activations, delta_L):
    delta = delta_L / delta_L.shape[1]
    dW, db = [], []
    for k in range(1, len(weights) + 1):
        A_prev, Z = caches[-k]
        dW.insert(0, np.einsum("jm,im->ji", delta, A_prev))
        db.insert(0, delta.sum(axis=1).reshape(-1, 1))
        if k < len(weights):
            delta = np.einsum("kj,km->jm", weights[-k], delta) * activation(activations[-k - 1]).df(caches[-k - 1][1])
    return dW, db
''',
    # one example (column) at a time
    "ex06_cost_delta": '''
def cost_and_delta(A_L, Z_L, Y, activation_name):
    m = A_L.shape[1]
    losses, deltas = [], []
    for j in range(m):
        e = A_L[:, j] - Y[:, j]
        losses.append(0.5 * float(e @ e))
        deltas.append(activation(activation_name).df(Z_L[:, j]) * e)
    return sum(losses) / m, np.stack(deltas, axis=1)
''',
}

# Every hint of every exercise, and the wrong variant on which it must fire.
FIRES = {
    "ex06_forward": {"bias_missing": "no_bias", "bias_rows": "bias_as_1d_vector",
                     "last_activation": "no_activation_on_the_output_layer",
                     "cache_offset": "cache_holds_the_layer_output", "cache_z": "cache_holds_A_for_Z"},
    "ex06_backward": {"transpose": "W_instead_of_W_transpose", "slope_at_A": "slope_at_A_instead_of_Z",
                      "slope_missing": "no_slope_in_the_hidden_deltas", "sum_not_mean": "sum_instead_of_mean",
                      "db_axis": "bias_gradient_over_the_wrong_axis", "db_flat": "bias_gradient_without_keepdims",
                      "in_place": "divides_delta_L_in_place"},
    "ex06_cost_delta": {"cost_sum": "cost_summed_over_the_batch", "cost_half": "cost_without_the_half",
                        "slope_missing": "delta_without_the_slope", "sign": "target_minus_output",
                        "slope_at_A": "slope_at_A", "per_example": "delta_divided_by_m"},
}
