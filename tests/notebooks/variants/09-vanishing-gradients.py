"""Sensitivity variants of 09-vanishing-gradients: common mistakes that must lose points, and
one differently written correct answer per exercise that must keep full marks."""

WRONG = {
    "ex09_grad_norms": {
        # the norms of the weights, not of their gradients
        "norms_of_the_weights": '''
def gradient_norms(weights, biases, X, Y, activations):
    m = X.shape[1]
    A_L, caches = forward(weights, biases, X, activations)
    delta = output_delta(A_L, caches[-1][1], Y, activations[-1], "squared_error")
    dZ = [None] * len(weights)
    for l in range(len(weights), 0, -1):
        dZ[l - 1] = np.linalg.norm(delta) / m
        if l > 1:
            delta = hidden_delta(weights[l - 1], delta, caches[l - 2][1], activations[l - 2])
    return np.array([np.linalg.norm(W) for W in weights]), np.array(dZ)
''',
        # dC/db^l instead of dC/dW^l
        "bias_gradient_norms": '''
def gradient_norms(weights, biases, X, Y, activations):
    m = X.shape[1]
    _, dW, db = backprop(weights, biases, X, Y, activations)
    A_L, caches = forward(weights, biases, X, activations)
    delta = output_delta(A_L, caches[-1][1], Y, activations[-1], "squared_error")
    dZ = [None] * len(weights)
    for l in range(len(weights), 0, -1):
        dZ[l - 1] = np.linalg.norm(delta) / m
        if l > 1:
            delta = hidden_delta(weights[l - 1], delta, caches[l - 2][1], activations[l - 2])
    return np.array([np.linalg.norm(g) for g in db]), np.array(dZ)
''',
        # the sum of squares, without the square root
        "squared_norms": '''
def gradient_norms(weights, biases, X, Y, activations):
    m = X.shape[1]
    A_L, caches = forward(weights, biases, X, activations)
    delta = output_delta(A_L, caches[-1][1], Y, activations[-1], "squared_error")
    dW, dZ = np.zeros(len(weights)), np.zeros(len(weights))
    for l in range(len(weights), 0, -1):
        dW[l - 1] = np.sum((delta @ caches[l - 1][0].T / m) ** 2)
        dZ[l - 1] = np.sum((delta / m) ** 2)
        if l > 1:
            delta = hidden_delta(weights[l - 1], delta, caches[l - 2][1], activations[l - 2])
    return dW, dZ
''',
        # appended while walking down from the output: the last layer comes first
        "reversed_layer_order": '''
def gradient_norms(weights, biases, X, Y, activations):
    m = X.shape[1]
    A_L, caches = forward(weights, biases, X, activations)
    delta = output_delta(A_L, caches[-1][1], Y, activations[-1], "squared_error")
    dW, dZ = [], []
    for l in range(len(weights), 0, -1):
        dW.append(np.linalg.norm(delta @ caches[l - 1][0].T) / m)
        dZ.append(np.linalg.norm(delta) / m)
        if l > 1:
            delta = hidden_delta(weights[l - 1], delta, caches[l - 2][1], activations[l - 2])
    return np.array(dW), np.array(dZ)
''',
        # ||delta^l|| without the 1/m of the batch mean
        "dZ_without_batch_mean": '''
def gradient_norms(weights, biases, X, Y, activations):
    m = X.shape[1]
    A_L, caches = forward(weights, biases, X, activations)
    delta = output_delta(A_L, caches[-1][1], Y, activations[-1], "squared_error")
    dW, dZ = np.zeros(len(weights)), np.zeros(len(weights))
    for l in range(len(weights), 0, -1):
        dW[l - 1] = np.linalg.norm(delta @ caches[l - 1][0].T) / m
        dZ[l - 1] = np.linalg.norm(delta)
        if l > 1:
            delta = hidden_delta(weights[l - 1], delta, caches[l - 2][1], activations[l - 2])
    return dW, dZ
''',
        # dC/dA^l (before the activation's slope) where dC/dZ^l belongs
        "dZ_without_slope": '''
def gradient_norms(weights, biases, X, Y, activations):
    m = X.shape[1]
    A_L, caches = forward(weights, biases, X, activations)
    delta = output_delta(A_L, caches[-1][1], Y, activations[-1], "squared_error")
    dW, dZ = np.zeros(len(weights)), np.zeros(len(weights))
    dZ[-1] = np.linalg.norm(A_L - Y) / m
    for l in range(len(weights), 0, -1):
        dW[l - 1] = np.linalg.norm(delta @ caches[l - 1][0].T) / m
        if l > 1:
            dZ[l - 2] = np.linalg.norm(weights[l - 1].T @ delta) / m
            delta = hidden_delta(weights[l - 1], delta, caches[l - 2][1], activations[l - 2])
    return dW, dZ
''',
    },
    "ex09_init": {
        # Glorot's variance with the fan-in only (LeCun's)
        "glorot_fan_in_only": '''
def xavier_init(n_out, n_in, rng):
    return rng.normal(0.0, np.sqrt(1.0 / n_in), size=(n_out, n_in))


def he_init(n_out, n_in, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
''',
        # the variance passed as the standard deviation
        "std_instead_of_variance": '''
def xavier_init(n_out, n_in, rng):
    return rng.normal(0.0, 2.0 / (n_in + n_out), size=(n_out, n_in))


def he_init(n_out, n_in, rng):
    return rng.normal(0.0, 2.0 / n_in, size=(n_out, n_in))
''',
        # He without the factor 2
        "he_without_factor_2": '''
def xavier_init(n_out, n_in, rng):
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_out, n_in))


def he_init(n_out, n_in, rng):
    return rng.normal(0.0, np.sqrt(1.0 / n_in), size=(n_out, n_in))
''',
        # He with the fan-out
        "he_with_fan_out": '''
def xavier_init(n_out, n_in, rng):
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_out, n_in))


def he_init(n_out, n_in, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_out), size=(n_out, n_in))
''',
        # the two formulas swapped
        "formulas_swapped": '''
def xavier_init(n_out, n_in, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))


def he_init(n_out, n_in, rng):
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_out, n_in))
''',
        # numpy's global random state instead of the generator passed in
        "global_random_state": '''
def xavier_init(n_out, n_in, rng):
    return np.random.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_out, n_in))


def he_init(n_out, n_in, rng):
    return np.random.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
''',
        # (n_in, n_out): the transpose of W^l's shape
        "transposed_shape": '''
def xavier_init(n_out, n_in, rng):
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))


def he_init(n_out, n_in, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
''',
    },
    "ex09_which_trains": {
        "sigmoid_trains": '''
def which_trains():
    return {"sigmoid-xavier": "trains", "tanh-small": "vanishing", "tanh-xavier": "trains",
            "tanh-large": "exploding", "relu-xavier": "vanishing", "relu-he": "trains", "relu-large": "exploding"}
''',
        "relu_with_xavier_trains": '''
def which_trains():
    return {"sigmoid-xavier": "vanishing", "tanh-small": "vanishing", "tanh-xavier": "trains",
            "tanh-large": "exploding", "relu-xavier": "trains", "relu-he": "trains", "relu-large": "exploding"}
''',
        "large_weights_train": '''
def which_trains():
    return {"sigmoid-xavier": "vanishing", "tanh-small": "vanishing", "tanh-xavier": "trains",
            "tanh-large": "trains", "relu-xavier": "vanishing", "relu-he": "trains", "relu-large": "exploding"}
''',
        "he_does_not_train": '''
def which_trains():
    return {"sigmoid-xavier": "vanishing", "tanh-small": "vanishing", "tanh-xavier": "trains",
            "tanh-large": "exploding", "relu-xavier": "vanishing", "relu-he": "vanishing", "relu-large": "exploding"}
''',
        "causes_swapped": '''
def which_trains():
    return {"sigmoid-xavier": "exploding", "tanh-small": "exploding", "tanh-xavier": "trains",
            "tanh-large": "vanishing", "relu-xavier": "exploding", "relu-he": "trains", "relu-large": "vanishing"}
''',
    },
}

CORRECT = {
    # backprop for dW; the deltas with the activations' derivatives written out
    "ex09_grad_norms": '''
def gradient_norms(weights, biases, X, Y, activations):
    from backproplab.activations import get
    m = X.shape[1]
    _, dW, _ = backprop(weights, biases, X, Y, activations)
    A_L, caches = forward(weights, biases, X, activations)
    deltas = [None] * len(weights)
    deltas[-1] = get(activations[-1]).df(caches[-1][1]) * (A_L - Y)
    for i in range(len(weights) - 2, -1, -1):
        deltas[i] = get(activations[i]).df(caches[i][1]) * (weights[i + 1].T @ deltas[i + 1])
    return np.array([np.sqrt(np.sum(g * g)) for g in dW]), np.array([np.sqrt(np.sum((d / m) ** 2)) for d in deltas])
''',
    # uniform distributions with the same variances
    "ex09_init": '''
def xavier_init(n_out, n_in, rng):
    r = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-r, r, size=(n_out, n_in))


def he_init(n_out, n_in, rng):
    r = np.sqrt(6.0 / n_in)
    return rng.uniform(-r, r, size=(n_out, n_in))
''',
    # computed, not typed: the deltas' ratio first/last layer of each configuration at its start
    "ex09_which_trains": '''
def which_trains():
    e = vanishing.EXPERIMENT
    answer = {}
    for name, (act, init) in vanishing.CONFIGS.items():
        rng = np.random.default_rng(e["seed"])
        Xe, Ye = vanishing.regression_task(e["m"], rng)
        Ws, bs, acts = vanishing.deep_network(e["depth"], e["width"], 2, 1, act, init, rng)
        dZ = vanishing.gradient_norms(Ws, bs, Xe, Ye, acts)[1]
        ratio = dZ[0] / dZ[-1]
        answer[name] = "vanishing" if ratio < 1e-2 else "exploding" if ratio > 1e2 else "trains"
    return answer
''',
}

# Every hint of every exercise, and the wrong variant on which it must fire.
FIRES = {
    "ex09_grad_norms": {"weights": "norms_of_the_weights", "bias": "bias_gradient_norms", "squared": "squared_norms",
                        "reversed": "reversed_layer_order", "dz_sum": "dZ_without_batch_mean",
                        "dz_no_slope": "dZ_without_slope"},
    "ex09_init": {"xavier_fan_in": "glorot_fan_in_only", "xavier_std": "std_instead_of_variance",
                  "xavier_is_he": "formulas_swapped", "he_factor": "he_without_factor_2",
                  "he_fan_out": "he_with_fan_out", "he_std": "std_instead_of_variance"},
    "ex09_which_trains": {"sigmoid": "sigmoid_trains", "relu_xavier": "relu_with_xavier_trains",
                          "large": "large_weights_train", "missing": "he_does_not_train",
                          "swapped": "causes_swapped"},
}
