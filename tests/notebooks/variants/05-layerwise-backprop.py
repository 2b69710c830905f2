"""Sensitivity variants of 05-layerwise-backprop: common mistakes that must lose points, and
one differently written correct answer per exercise that must keep full marks."""

WRONG = {
    "ex05_forward": {
        # outs without the input: outs[l-1] is layer l, an off-by-one for every later index
        "outs_without_the_input": '''
def forward_pass(weights, biases, x):
    o = np.asarray(x, dtype=np.float64).reshape(-1)
    nets, outs = [], []
    for W, b in zip(weights, biases):
        net = np.array([sum(W[j, i] * o[i] for i in range(W.shape[1])) + b[j, 0] for j in range(W.shape[0])])
        o = sigmoid(net)
        nets.append(net)
        outs.append(o)
    return nets, outs
''',
        # the sigmoid's output stored as the net input
        "nets_hold_outputs": '''
def forward_pass(weights, biases, x):
    outs = [np.asarray(x, dtype=np.float64).reshape(-1)]
    nets = []
    for W, b in zip(weights, biases):
        net = np.array([sum(W[j, i] * outs[-1][i] for i in range(W.shape[1])) + b[j, 0] for j in range(W.shape[0])])
        nets.append(sigmoid(net))
        outs.append(sigmoid(net))
    return nets, outs
''',
        # every layer fed with the inputs x instead of the previous layer's outputs
        "every_layer_reads_x": '''
def forward_pass(weights, biases, x):
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    outs, nets = [x], []
    for W, b in zip(weights, biases):
        src = x if x.size == W.shape[1] else outs[-1]
        net = np.array([sum(W[j, i] * src[i] for i in range(W.shape[1])) + b[j, 0] for j in range(W.shape[0])])
        nets.append(net)
        outs.append(sigmoid(net))
    return nets, outs
''',
        # W[i, j] instead of W[j, i] (only runs for square layers)
        "weight_indices_swapped": '''
def forward_pass(weights, biases, x):
    outs = [np.asarray(x, dtype=np.float64).reshape(-1)]
    nets = []
    for W, b in zip(weights, biases):
        WT = W.T if W.shape[0] == W.shape[1] else W
        net = np.array([sum(WT[j, i] * outs[-1][i] for i in range(W.shape[1])) + b[j, 0] for j in range(W.shape[0])])
        nets.append(net)
        outs.append(sigmoid(net))
    return nets, outs
''',
        "forgot_the_bias": '''
def forward_pass(weights, biases, x):
    outs = [np.asarray(x, dtype=np.float64).reshape(-1)]
    nets = []
    for W, b in zip(weights, biases):
        net = np.array([sum(W[j, i] * outs[-1][i] for i in range(W.shape[1])) for j in range(W.shape[0])])
        nets.append(net)
        outs.append(sigmoid(net))
    return nets, outs
''',        # net = b[:, 0] is a view of the bias column: += then adds the weighted inputs into the bias itself
        "net_accumulates_into_the_bias_view": '''
def forward_pass(weights, biases, x):
    outs = [np.asarray(x, dtype=np.float64).reshape(-1)]
    nets = []
    for W, b in zip(weights, biases):
        net = b[:, 0]
        for j in range(W.shape[0]):
            for i in range(W.shape[1]):
                net[j] += W[j, i] * outs[-1][i]
        nets.append(net.copy())
        outs.append(sigmoid(net))
    return nets, outs
''',
    },
    "ex05_backward": {
        "missing_output_slope": '''
def backward_pass(weights, nets, outs, y):
    L = len(weights)
    deltas = [None] * L
    deltas[L - 1] = np.array([outs[L][k] - y[k] for k in range(len(y))])
    for l in range(L - 1, 0, -1):
        o = outs[l]
        deltas[l - 1] = np.array([o[j] * (1 - o[j]) * sum(weights[l][k, j] * deltas[l][k] for k in range(len(deltas[l])))
                                  for j in range(len(o))])
    dW = [np.array([[deltas[l][j] * outs[l][i] for i in range(len(outs[l]))] for j in range(len(deltas[l]))]) for l in range(L)]
    db = [deltas[l].reshape(-1, 1).copy() for l in range(L)]
    return deltas, dW, db
''',
        "missing_hidden_slope": '''
def backward_pass(weights, nets, outs, y):
    L = len(weights)
    deltas = [None] * L
    o = outs[L]
    deltas[L - 1] = np.array([(o[k] - y[k]) * o[k] * (1 - o[k]) for k in range(len(y))])
    for l in range(L - 1, 0, -1):
        deltas[l - 1] = np.array([sum(weights[l][k, j] * deltas[l][k] for k in range(len(deltas[l])))
                                  for j in range(len(outs[l]))])
    dW = [np.array([[deltas[l][j] * outs[l][i] for i in range(len(outs[l]))] for j in range(len(deltas[l]))]) for l in range(L)]
    db = [deltas[l].reshape(-1, 1).copy() for l in range(L)]
    return deltas, dW, db
''',
        # sum_k w_jk delta_k: W instead of W^T (crashes unless the layers are square)
        "hidden_delta_uses_W_not_W_transpose": '''
def backward_pass(weights, nets, outs, y):
    L = len(weights)
    deltas = [None] * L
    o = outs[L]
    deltas[L - 1] = np.array([(o[k] - y[k]) * o[k] * (1 - o[k]) for k in range(len(y))])
    for l in range(L - 1, 0, -1):
        h = outs[l]
        deltas[l - 1] = np.array([h[j] * (1 - h[j]) * sum(weights[l][j, k] * deltas[l][k] for k in range(len(deltas[l])))
                                  for j in range(len(h))])
    dW = [np.array([[deltas[l][j] * outs[l][i] for i in range(len(outs[l]))] for j in range(len(deltas[l]))]) for l in range(L)]
    db = [deltas[l].reshape(-1, 1).copy() for l in range(L)]
    return deltas, dW, db
''',
        # back = ... instead of back += ...: only the last neuron of the next layer counts
        "assigned_instead_of_accumulated": '''
def backward_pass(weights, nets, outs, y):
    L = len(weights)
    deltas = [None] * L
    o = outs[L]
    deltas[L - 1] = np.array([(o[k] - y[k]) * o[k] * (1 - o[k]) for k in range(len(y))])
    for l in range(L - 1, 0, -1):
        h = outs[l]
        delta = np.zeros(len(h))
        for j in range(len(h)):
            back = 0.0
            for k in range(len(deltas[l])):
                back = weights[l][k, j] * deltas[l][k]
            delta[j] = h[j] * (1 - h[j]) * back
        deltas[l - 1] = delta
    dW = [np.array([[deltas[l][j] * outs[l][i] for i in range(len(outs[l]))] for j in range(len(deltas[l]))]) for l in range(L)]
    db = [deltas[l].reshape(-1, 1).copy() for l in range(L)]
    return deltas, dW, db
''',
        # dW of layer l built from the layer's own outputs outs[l] (off by one layer)
        "dW_uses_the_wrong_layer_outputs": '''
def backward_pass(weights, nets, outs, y):
    L = len(weights)
    deltas = [None] * L
    o = outs[L]
    deltas[L - 1] = np.array([(o[k] - y[k]) * o[k] * (1 - o[k]) for k in range(len(y))])
    for l in range(L - 1, 0, -1):
        h = outs[l]
        deltas[l - 1] = np.array([h[j] * (1 - h[j]) * sum(weights[l][k, j] * deltas[l][k] for k in range(len(deltas[l])))
                                  for j in range(len(h))])
    dW = []
    for l in range(L):
        src = outs[l + 1] if outs[l + 1].size == weights[l].shape[1] else outs[l]
        dW.append(np.array([[deltas[l][j] * src[i] for i in range(len(src))] for j in range(len(deltas[l]))]))
    db = [deltas[l].reshape(-1, 1).copy() for l in range(L)]
    return deltas, dW, db
''',
        # y - o: every delta and gradient has the wrong sign
        "sign_flipped": '''
def backward_pass(weights, nets, outs, y):
    L = len(weights)
    deltas = [None] * L
    o = outs[L]
    deltas[L - 1] = np.array([(y[k] - o[k]) * o[k] * (1 - o[k]) for k in range(len(y))])
    for l in range(L - 1, 0, -1):
        h = outs[l]
        deltas[l - 1] = np.array([h[j] * (1 - h[j]) * sum(weights[l][k, j] * deltas[l][k] for k in range(len(deltas[l])))
                                  for j in range(len(h))])
    dW = [np.array([[deltas[l][j] * outs[l][i] for i in range(len(outs[l]))] for j in range(len(deltas[l]))]) for l in range(L)]
    db = [deltas[l].reshape(-1, 1).copy() for l in range(L)]
    return deltas, dW, db
''',
        # the hidden delta computed from the weights below it (weights[l-1] instead of weights[l])
        "hidden_delta_from_the_wrong_layer": '''
def backward_pass(weights, nets, outs, y):
    L = len(weights)
    deltas = [None] * L
    o = outs[L]
    deltas[L - 1] = np.array([(o[k] - y[k]) * o[k] * (1 - o[k]) for k in range(len(y))])
    for l in range(L - 1, 0, -1):
        h = outs[l]
        Wb = weights[l - 1] if weights[l - 1].shape == weights[l].T.shape else weights[l]
        Wb = weights[l - 1].T if weights[l - 1].shape == weights[l].shape else Wb
        deltas[l - 1] = np.array([h[j] * (1 - h[j]) * sum(Wb[k, j] * deltas[l][k] for k in range(len(deltas[l])))
                                  for j in range(len(h))])
    dW = [np.array([[deltas[l][j] * outs[l][i] for i in range(len(outs[l]))] for j in range(len(deltas[l]))]) for l in range(L)]
    db = [deltas[l].reshape(-1, 1).copy() for l in range(L)]
    return deltas, dW, db
''',
        # db[l-1] left 1-D, shape (n_l,), instead of a column (n_l, 1)
        "db_one_dimensional": '''
def backward_pass(weights, nets, outs, y):
    L = len(weights)
    deltas = [None] * L
    o = outs[L]
    deltas[L - 1] = np.array([(o[k] - y[k]) * o[k] * (1 - o[k]) for k in range(len(y))])
    for l in range(L - 1, 0, -1):
        h = outs[l]
        deltas[l - 1] = np.array([h[j] * (1 - h[j]) * sum(weights[l][k, j] * deltas[l][k] for k in range(len(deltas[l])))
                                  for j in range(len(h))])
    dW = [np.array([[deltas[l][j] * outs[l][i] for i in range(len(outs[l]))] for j in range(len(deltas[l]))]) for l in range(L)]
    db = [deltas[l].copy() for l in range(L)]
    return deltas, dW, db
''',
        # the output error computed in place: outs[L] -= y changes the caller's outputs
        "error_computed_in_place": '''
def backward_pass(weights, nets, outs, y):
    L = len(weights)
    deltas = [None] * L
    o = sigmoid(nets[L - 1])
    err = outs[L]
    err -= y
    deltas[L - 1] = err * o * (1 - o)
    for l in range(L - 1, 0, -1):
        h = outs[l]
        deltas[l - 1] = np.array([h[j] * (1 - h[j]) * sum(weights[l][k, j] * deltas[l][k] for k in range(len(deltas[l])))
                                  for j in range(len(h))])
    dW = [np.array([[deltas[l][j] * outs[l][i] for i in range(len(outs[l]))] for j in range(len(deltas[l]))]) for l in range(L)]
    db = [deltas[l].reshape(-1, 1).copy() for l in range(L)]
    return deltas, dW, db
''',
    },
    "ex05_update": {
        "gradient_ascent": '''
def update_weights(weights, biases, dW, db, lr):
    return [W + lr * g for W, g in zip(weights, dW)], [b + lr * g for b, g in zip(biases, db)]
''',
        "updates_in_place": '''
def update_weights(weights, biases, dW, db, lr):
    for W, g in zip(weights, dW):
        W -= lr * g
    for b, g in zip(biases, db):
        b -= lr * g
    return weights, biases
''',
        "biases_not_updated": '''
def update_weights(weights, biases, dW, db, lr):
    return [W - lr * g for W, g in zip(weights, dW)], [b.copy() for b in biases]
''',
        # the gradients paired with the wrong layers (reversed lists; runs when the shapes allow)
        "gradients_of_the_wrong_layer": '''
def update_weights(weights, biases, dW, db, lr):
    gW = dW[::-1] if all(a.shape == g.shape for a, g in zip(weights, dW[::-1])) else dW
    gb = db[::-1] if all(a.shape == g.shape for a, g in zip(biases, db[::-1])) else db
    return [W - lr * g for W, g in zip(weights, gW)], [b - lr * g for b, g in zip(biases, gb)]
''',
    },
}

CORRECT = {
    # neuron by neuron with sigmoid of a dot product, x given as a column
    "ex05_forward": '''
def forward_pass(weights, biases, x):
    o = np.array(x, dtype=np.float64).ravel()
    nets, outs = [], [o]
    for W, b in zip(weights, biases):
        net = np.array([np.dot(W[j], o) + b[j, 0] for j in range(len(W))])
        o = 1.0 / (1.0 + np.exp(-net))
        nets.append(net)
        outs.append(o)
    return nets, outs
''',
    # sigmoid_prime of the stored nets, vectorised within a layer
    "ex05_backward": '''
def backward_pass(weights, nets, outs, y):
    L = len(weights)
    deltas = [None] * L
    deltas[-1] = (outs[-1] - np.asarray(y)) * sigmoid_prime(nets[-1])
    for l in reversed(range(L - 1)):
        deltas[l] = sigmoid_prime(nets[l]) * (weights[l + 1].T @ deltas[l + 1])
    dW = [np.outer(deltas[l], outs[l]) for l in range(L)]
    db = [deltas[l][:, None] for l in range(L)]
    return deltas, dW, db
''',
    # copies updated entry by entry
    "ex05_update": '''
def update_weights(weights, biases, dW, db, lr):
    new_weights = [W.copy() for W in weights]
    new_biases = [b.copy() for b in biases]
    for W, g in zip(new_weights, dW):
        for j in range(W.shape[0]):
            for i in range(W.shape[1]):
                W[j, i] -= lr * g[j, i]
    for b, g in zip(new_biases, db):
        b -= lr * g
    return new_weights, new_biases
''',
}

# Every hint of every exercise, and the wrong variant on which it must fire.
FIRES = {
    "ex05_forward": {"outs_no_input": "outs_without_the_input", "nets_hold_outputs": "nets_hold_outputs",
                     "bias_missing": "forgot_the_bias", "indices_swapped": "weight_indices_swapped",
                     "reads_x": "every_layer_reads_x", "inputs_changed": "net_accumulates_into_the_bias_view"},
    "ex05_backward": {"output_slope": "missing_output_slope", "hidden_slope": "missing_hidden_slope",
                      "last_term_only": "assigned_instead_of_accumulated",
                      "wrong_layer_weights": "hidden_delta_from_the_wrong_layer",
                      "W_not_WT": "hidden_delta_uses_W_not_W_transpose",
                      "dW_own_outputs": "dW_uses_the_wrong_layer_outputs", "db_column": "db_one_dimensional",
                      "inputs_changed": "error_computed_in_place"},
    "ex05_update": {"in_place": "updates_in_place", "biases_unchanged": "biases_not_updated",
                    "wrong_layer": "gradients_of_the_wrong_layer"},
}
