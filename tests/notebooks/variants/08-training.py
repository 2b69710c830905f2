"""Sensitivity variants of 08-training: common mistakes that must lose points, one differently
written correct answer per exercise that must keep full marks, and the wrong variant on which
each hint must fire."""

_SGD = '''
def sgd_update(params, grads, lr):
    return [p - lr * g for p, g in zip(params, grads)]
'''
_MOMENTUM = '''
def momentum_update(params, grads, velocity, lr, beta):
    velocity = [beta * v - lr * g for v, g in zip(velocity, grads)]
    return [p + v for p, v in zip(params, velocity)], velocity
'''
_ADAM = '''
def adam_update(params, grads, u, s, t, lr, beta1, beta2, eps):
    u = [beta1 * a + (1 - beta1) * g for a, g in zip(u, grads)]
    s = [beta2 * c + (1 - beta2) * g * g for c, g in zip(s, grads)]
    return [p - lr * (a / (1 - beta1**t)) / (np.sqrt(c / (1 - beta2**t)) + eps) for p, a, c in zip(params, u, s)], u, s
'''


def _adam(step):
    return f'''
def adam_update(params, grads, u, s, t, lr, beta1, beta2, eps):
    u = [beta1 * a + (1 - beta1) * g for a, g in zip(u, grads)]
    s = [beta2 * c + (1 - beta2) * g * g for c, g in zip(s, grads)]
    return [{step} for p, a, c in zip(params, u, s)], u, s
'''


_LOOP_HEAD = '''
def train_loop(params, grad_fn, step, X, Y, epochs, batch_size, rng):
    N = X.shape[1]
    losses = []
'''


def _digits(epochs=10, optimizer="optim.Adam(5e-3)", standardise=True, hidden=64,
            ret="[W1, W[1]], [b1, b[1]], acts") -> str:
    scale = "(X - x_mean) / x_sd" if standardise else "X"
    return f'''
def train_digits(X, Y, rng):
    x_mean = X.mean(axis=1, keepdims=True)
    x_sd = X.std(axis=1, keepdims=True) + 0.1
    X_in = {scale}
    acts = ["relu", "softmax"]
    W, b = init.init_network([64, {hidden}, 10], rng, "he")
    opt = {optimizer}
    N = X.shape[1]
    for epoch in range({epochs}):
        order = rng.permutation(N)
        for start in range(0, N, 32):
            idx = order[start:start + 32]
            _, dW, db = matrix.backprop(W, b, X_in[:, idx], Y[:, idx], acts, "cross_entropy")
            params = opt.step(W + b, dW + db)
            W, b = params[:2], params[2:]
    W1 = W[0] / x_sd.T
    b1 = b[0] - W1 @ x_mean
    return {ret}
'''

WRONG = {
    "ex08_update_rules": {
        "sgd_climbs": '''
def sgd_update(params, grads, lr):
    return [p + lr * g for p, g in zip(params, grads)]
''' + _MOMENTUM + _ADAM,
        "momentum_wrong_sign": _SGD + '''
def momentum_update(params, grads, velocity, lr, beta):
    velocity = [beta * v + lr * g for v, g in zip(velocity, grads)]
    return [p + v for p, v in zip(params, velocity)], velocity
''' + _ADAM,
        "momentum_forgets_velocity": _SGD + '''
def momentum_update(params, grads, velocity, lr, beta):
    velocity = [-lr * g for g in grads]
    return [p + v for p, v in zip(params, velocity)], velocity
''' + _ADAM,
        "adam_without_bias_correction": _SGD + _MOMENTUM + _adam("p - lr * a / (np.sqrt(c) + eps)"),
        "adam_without_square_root": _SGD + _MOMENTUM + _adam(
            "p - lr * (a / (1 - beta1**t)) / (c / (1 - beta2**t) + eps)"),
        "adam_corrects_only_u": _SGD + _MOMENTUM + _adam("p - lr * (a / (1 - beta1**t)) / (np.sqrt(c) + eps)"),
        "momentum_in_place": _SGD + '''
def momentum_update(params, grads, velocity, lr, beta):
    for v, g in zip(velocity, grads):
        v *= beta
        v -= lr * g
    return [p + v for p, v in zip(params, velocity)], velocity
''' + _ADAM,
    },
    "ex08_train_loop": {
        "never_shuffles": _LOOP_HEAD + '''
    for _ in range(epochs):
        total = 0.0
        for start in range(0, N, batch_size):
            idx = np.arange(start, min(start + batch_size, N))
            loss, grads = grad_fn(params, X[:, idx], Y[:, idx])
            params = step(params, grads)
            total += loss * idx.size
        losses.append(total / N)
    return params, losses
''',
        "shuffles_once": _LOOP_HEAD + '''
    order = rng.permutation(N)
    for _ in range(epochs):
        total = 0.0
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = grad_fn(params, X[:, idx], Y[:, idx])
            params = step(params, grads)
            total += loss * idx.size
        losses.append(total / N)
    return params, losses
''',
        "drops_last_batch": _LOOP_HEAD + '''
    for _ in range(epochs):
        order = rng.permutation(N)
        total, seen = 0.0, 0
        for k in range(N // batch_size):
            idx = order[k * batch_size:(k + 1) * batch_size]
            loss, grads = grad_fn(params, X[:, idx], Y[:, idx])
            params = step(params, grads)
            total += loss * idx.size
            seen += idx.size
        losses.append(total / seen)
    return params, losses
''',
        "unweighted_mean_of_batch_losses": _LOOP_HEAD + '''
    for _ in range(epochs):
        order = rng.permutation(N)
        batch_losses = []
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = grad_fn(params, X[:, idx], Y[:, idx])
            params = step(params, grads)
            batch_losses.append(loss)
        losses.append(np.mean(batch_losses))
    return params, losses
''',
        "last_batch_loss_only": _LOOP_HEAD + '''
    for _ in range(epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = grad_fn(params, X[:, idx], Y[:, idx])
            params = step(params, grads)
        losses.append(loss)
    return params, losses
''',
    },
    "ex08_digits": {
        "untrained": '''
def train_digits(X, Y, rng):
    W, b = init.init_network([64, 32, 10], rng, "he")
    return W, b, ["relu", "softmax"]
''',
        "far_too_little_training": _digits(epochs=1, optimizer="optim.SGD(0.05)", standardise=False, hidden=32),
        "batch_first_layout": _digits(ret="[W1.T, W[1].T], [b1, b[1]], acts"),
        "standardised_but_not_folded": _digits(ret="W, b, acts"),
    },
}

CORRECT = {
    # momentum in the other common convention (v <- beta v + g, theta <- theta - lr v), Adam in one loop
    "ex08_update_rules": '''
def sgd_update(params, grads, lr):
    return list(map(lambda p, g: p - lr * g, params, grads))


def momentum_update(params, grads, velocity, lr, beta):
    velocity = [beta * v + g for v, g in zip(velocity, grads)]        # a running sum of gradients
    return [p - lr * v for p, v in zip(params, velocity)], velocity


def adam_update(params, grads, u, s, t, lr, beta1, beta2, eps):
    new_p, new_u, new_s = [], [], []
    for p, g, a, c in zip(params, grads, u, s):
        a = beta1 * a + (1 - beta1) * g
        c = beta2 * c + (1 - beta2) * np.square(g)
        step = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t) * a / (np.sqrt(c) + eps * np.sqrt(1 - beta2**t))
        new_p.append(p - step)
        new_u.append(a)
        new_s.append(c)
    return new_p, new_u, new_s
''',
    # explicit batch counting and a weighted average with np.average
    "ex08_train_loop": '''
def train_loop(params, grad_fn, step, X, Y, epochs, batch_size, rng):
    N = X.shape[1]
    n_batches = -(-N // batch_size)
    losses = np.zeros(epochs)
    for e in range(epochs):
        order = rng.permutation(N)
        values, sizes = [], []
        for k in range(n_batches):
            idx = order[k * batch_size:min(N, (k + 1) * batch_size)]
            value, grads = grad_fn(params, X[:, idx], Y[:, idx])
            params = step(params, grads)
            values.append(value)
            sizes.append(len(idx))
        losses[e] = np.average(values, weights=sizes)
    return params, list(losses)
''',
    # tanh units, momentum, a while loop over batches, a different scale and the fold written with einsum
    "ex08_digits": '''
def train_digits(X, Y, rng):
    centre = np.mean(X, axis=1)[:, None]
    scale = np.sqrt(np.mean((X - centre) ** 2, axis=1))[:, None] + 0.2
    Xs = (X - centre) / scale
    weights, biases = init.init_network([64, 64, 10], rng, "glorot")
    momentum = optim.Momentum(0.05, 0.9)
    for epoch in range(10):
        order = rng.permutation(Xs.shape[1])
        while order.size:
            idx, order = order[:32], order[32:]
            _, dW, db = matrix.backprop(weights, biases, Xs[:, idx], Y[:, idx], ["tanh", "softmax"], "cross_entropy")
            new = momentum.step(weights + biases, dW + db)
            weights, biases = new[:2], new[2:]
    first = np.einsum("ij,j->ij", weights[0], 1 / scale.ravel())
    return [first, weights[1]], [biases[0] - first @ centre, biases[1]], ["tanh", "softmax"]
''',
}

FIRES = {
    "ex08_update_rules": {
        "sgd_sign": "sgd_climbs",
        "momentum_sign": "momentum_wrong_sign",
        "momentum_forgets": "momentum_forgets_velocity",
        "adam_no_bias_correction": "adam_without_bias_correction",
        "adam_no_sqrt": "adam_without_square_root",
        "adam_only_u_corrected": "adam_corrects_only_u",
    },
    "ex08_train_loop": {
        "never_shuffles": "never_shuffles",
        "shuffles_once": "shuffles_once",
        "drops_last": "drops_last_batch",
        "unweighted_mean": "unweighted_mean_of_batch_losses",
        "last_batch_loss": "last_batch_loss_only",
    },
    "ex08_digits": {
        "chance": "untrained",
        "batch_first": "batch_first_layout",
    },
}
