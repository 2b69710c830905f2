"""Sensitivity variants of 04-one-neuron: common mistakes that must lose points, and
one differently written correct answer per exercise that must keep full marks."""

WRONG = {
    "ex04_linear_grad": {
        # the sum over the batch instead of the mean: off by a factor of m
        "summed_not_averaged": '''
def linear_neuron_grad(W, b, X, Y):
    error = W @ X + b - Y
    return error @ X.T, error.sum(axis=1, keepdims=True)
''',
        # y - a instead of a - y: this is the direction of steepest ascent
        "sign_flipped": '''
def linear_neuron_grad(W, b, X, Y):
    m = X.shape[1]
    error = Y - (W @ X + b)
    return error @ X.T / m, error.sum(axis=1, keepdims=True) / m
''',
        # X (A - Y)^T: the right numbers in an (n, 1) column
        "transposed": '''
def linear_neuron_grad(W, b, X, Y):
    m = X.shape[1]
    error = W @ X + b - Y
    return X @ error.T / m, error.sum(axis=1, keepdims=True) / m
''',
        # the bias left out of the forward pass
        "forgot_bias_in_output": '''
def linear_neuron_grad(W, b, X, Y):
    m = X.shape[1]
    error = W @ X - Y
    return error @ X.T / m, error.sum(axis=1, keepdims=True) / m
''',
        # db left per example: (1, m) instead of (1, 1)
        "db_not_reduced": '''
def linear_neuron_grad(W, b, X, Y):
    m = X.shape[1]
    error = W @ X + b - Y
    return error @ X.T / m, error / m
''',
    },
    "ex04_descent_step": {
        "gradient_ascent": '''
def descent_step(params, grads, lr):
    return [p + lr * g for p, g in zip(params, grads)]


def descent_path(params, grad_fn, lr, n_steps):
    path = [list(params)]
    for _ in range(n_steps):
        path.append(descent_step(path[-1], grad_fn(path[-1]), lr))
    return path
''',
        # p -= ... changes the caller's arrays, and every entry of the path is the same array
        "updates_in_place": '''
def descent_step(params, grads, lr):
    for p, g in zip(params, grads):
        p -= lr * g
    return params


def descent_path(params, grad_fn, lr, n_steps):
    path = [params]
    for _ in range(n_steps):
        params = descent_step(params, grad_fn(params), lr)
        path.append(params)
    return path
''',
        "path_without_the_start": '''
def descent_step(params, grads, lr):
    return [p - lr * g for p, g in zip(params, grads)]


def descent_path(params, grad_fn, lr, n_steps):
    path, current = [], params
    for _ in range(n_steps):
        current = descent_step(current, grad_fn(current), lr)
        path.append(current)
    return path
''',
        # the gradient of the starting point used for every step
        "gradient_only_at_the_start": '''
def descent_step(params, grads, lr):
    return [p - lr * g for p, g in zip(params, grads)]


def descent_path(params, grad_fn, lr, n_steps):
    grads = grad_fn(params)
    path = [list(params)]
    for _ in range(n_steps):
        path.append(descent_step(path[-1], grads, lr))
    return path
''',
        # the step divided by the learning rate instead of multiplied
        "divides_by_lr": '''
def descent_step(params, grads, lr):
    return [p - g / lr for p, g in zip(params, grads)]


def descent_path(params, grad_fn, lr, n_steps):
    path = [list(params)]
    for _ in range(n_steps):
        path.append(descent_step(path[-1], grad_fn(path[-1]), lr))
    return path
''',
    },
    "ex04_logistic_grad": {
        # the linear neuron's rule: no sigmoid slope
        "missing_sigmoid_derivative": '''
def logistic_neuron_grad(W, b, X, Y):
    m = X.shape[1]
    A = sigmoid(W @ X + b)
    delta = A - Y
    return delta @ X.T / m, delta.sum(axis=1, keepdims=True) / m
''',
        # the slope written with z instead of a
        "slope_of_z_not_a": '''
def logistic_neuron_grad(W, b, X, Y):
    m = X.shape[1]
    Z = W @ X + b
    A = sigmoid(Z)
    delta = (A - Y) * Z * (1 - Z)
    return delta @ X.T / m, delta.sum(axis=1, keepdims=True) / m
''',
        # sigmoid'(a) instead of sigmoid'(z)
        "sigmoid_prime_of_the_output": '''
def logistic_neuron_grad(W, b, X, Y):
    m = X.shape[1]
    A = sigmoid(W @ X + b)
    delta = (A - Y) * sigmoid_prime(A)
    return delta @ X.T / m, delta.sum(axis=1, keepdims=True) / m
''',
        "summed_not_averaged": '''
def logistic_neuron_grad(W, b, X, Y):
    A = sigmoid(W @ X + b)
    delta = (A - Y) * A * (1 - A)
    return delta @ X.T, delta.sum(axis=1, keepdims=True)
''',
        "sign_flipped": '''
def logistic_neuron_grad(W, b, X, Y):
    m = X.shape[1]
    A = sigmoid(W @ X + b)
    delta = (Y - A) * A * (1 - A)
    return delta @ X.T / m, delta.sum(axis=1, keepdims=True) / m
''',
        # a(1 + a) instead of a(1 - a)
        "slope_a_one_plus_a": '''
def logistic_neuron_grad(W, b, X, Y):
    m = X.shape[1]
    A = sigmoid(W @ X + b)
    delta = (A - Y) * A * (1 + A)
    return delta @ X.T / m, delta.sum(axis=1, keepdims=True) / m
''',
        # db left per example: (1, m) instead of (1, 1)
        "db_not_reduced": '''
def logistic_neuron_grad(W, b, X, Y):
    m = X.shape[1]
    A = sigmoid(W @ X + b)
    delta = (A - Y) * A * (1 - A)
    return delta @ X.T / m, delta / m
''',
        # the slope as exp(-z) / (1 + exp(-z))**2: right, except that it is inf / inf = NaN for z << 0
        "unstable_slope_formula": '''
def logistic_neuron_grad(W, b, X, Y):
    m = X.shape[1]
    Z = W @ X + b
    A = 1 / (1 + np.exp(-Z))
    delta = (A - Y) * np.exp(-Z) / (1 + np.exp(-Z)) ** 2
    return delta @ X.T / m, delta.sum(axis=1, keepdims=True) / m
''',
    },
}

CORRECT = {
    # one example at a time, as the per-example derivation reads
    "ex04_linear_grad": '''
def linear_neuron_grad(W, b, X, Y):
    n, m = X.shape
    dW, db = np.zeros((1, n)), np.zeros((1, 1))
    for mu in range(m):
        x, y = X[:, mu:mu + 1], Y[:, mu:mu + 1]
        e = W @ x + b - y
        dW += e * x.T
        db += e
    return dW / m, db / m
''',
    # a while loop that copies explicitly, and np.subtract
    "ex04_descent_step": '''
def descent_step(params, grads, lr):
    out = []
    for p, g in zip(params, grads):
        out.append(np.subtract(p, np.multiply(lr, g)))
    return out


def descent_path(params, grad_fn, lr, n_steps):
    current = [p.copy() for p in params]
    visited = [current]
    while len(visited) <= n_steps:
        current = descent_step(current, grad_fn(current), lr)
        visited.append(current)
    return visited
''',
    # the library's sigmoid_prime of z, and means via np.mean
    "ex04_logistic_grad": '''
def logistic_neuron_grad(W, b, X, Y):
    Z = W @ X + b
    delta = (sigmoid(Z) - Y) * sigmoid_prime(Z)
    dW = np.mean(delta[:, None, :] * X[None, :, :], axis=2)
    db = np.mean(delta, axis=1, keepdims=True)
    return dW, db
''',
}

# Every hint of every exercise, and the wrong variant on which it must fire.
FIRES = {
    "ex04_linear_grad": {"bias_missing": "forgot_bias_in_output", "db_per_example": "db_not_reduced"},
    "ex04_descent_step": {"step_in_place": "updates_in_place", "ascent": "gradient_ascent",
                          "divides_by_lr": "divides_by_lr", "path_in_place": "updates_in_place",
                          "no_start": "path_without_the_start", "frozen_gradient": "gradient_only_at_the_start"},
    "ex04_logistic_grad": {"slope_missing": "missing_sigmoid_derivative", "slope_of_z": "slope_of_z_not_a",
                           "sigmoid_prime_of_a": "sigmoid_prime_of_the_output", "slope_plus": "slope_a_one_plus_a",
                           "db_per_example": "db_not_reduced"},
}
