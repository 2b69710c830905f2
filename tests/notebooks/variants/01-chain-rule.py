"""Sensitivity variants of 01-chain-rule: common mistakes that must lose points, and
one differently written correct answer per exercise that must keep full marks."""

WRONG = {
    "ex01_chain": {
        # f_k'(x) instead of f_k'(u_{k-1}): the classic chain-rule slip
        "local_derivative_at_x": '''
def chain_derivative(funcs, x):
    s = sp.Dummy("s")
    d = sp.Integer(1)
    for f in funcs:
        d = d * sp.diff(f(s), s).subs(s, x)
    return d
''',
        "only_outer_derivative": '''
def chain_derivative(funcs, x):
    if not funcs:
        return sp.Integer(1)
    s = sp.Dummy("s")
    u = x
    for f in funcs[:-1]:
        u = f(u)
    return sp.diff(funcs[-1](s), s).subs(s, u)
''',
        "composed_in_reverse_order": '''
def chain_derivative(funcs, x):
    s = sp.Dummy("s")
    u, d = x, sp.Integer(1)
    for f in reversed(funcs):
        d = d * sp.diff(f(s), s).subs(s, u)
        u = f(u)
    return d
''',
        "sum_instead_of_product": '''
def chain_derivative(funcs, x):
    s = sp.Dummy("s")
    u, d = x, sp.Integer(0)
    for f in funcs:
        d = d + sp.diff(f(s), s).subs(s, u)
        u = f(u)
    return d if funcs else sp.Integer(1)
''',
    },
    "ex01_sigmoid_prime": {
        "plus_instead_of_minus": '''
def sigmoid_prime_from_output(a):
    return a * (1 + a)

def tanh_prime_from_output(a):
    return 1 - a**2
''',
        "forgot_the_a_factor": '''
def sigmoid_prime_from_output(a):
    return 1 - a

def tanh_prime_from_output(a):
    return 1 - a**2
''',
        "tanh_not_squared": '''
def sigmoid_prime_from_output(a):
    return a * (1 - a)

def tanh_prime_from_output(a):
    return 1 - a
''',
        "tanh_plus_instead_of_minus": '''
def sigmoid_prime_from_output(a):
    return a * (1 - a)

def tanh_prime_from_output(a):
    return 1 + a**2
''',
        "formula_in_z_not_a": '''
def sigmoid_prime_from_output(a):
    return sp.exp(-a) / (1 + sp.exp(-a)) ** 2

def tanh_prime_from_output(a):
    return 1 - sp.tanh(a) ** 2
''',
    },
    "ex01_layer_jacobian": {
        "missing_activation_derivative": '''
def layer_jacobian(W, b, x):
    return W
''',
        "transposed": '''
def layer_jacobian(W, b, x):
    z = W * x + b
    return (sp.diag(*[sigmoid(zi) * (1 - sigmoid(zi)) for zi in z]) * W).T
''',
        "sigma_instead_of_slope": '''
def layer_jacobian(W, b, x):
    z = W * x + b
    return sp.diag(*[sigmoid(zi) for zi in z]) * W
''',
        "diagonal_on_the_wrong_side": '''
def layer_jacobian(W, b, x):
    z = W.T * W * x
    slopes = [sigmoid(zi) * (1 - sigmoid(zi)) for zi in z]
    return W * sp.diag(*slopes)
''',
    },
    "ex01_network_grad": {
        "missing_sigmoid_derivative": '''
def network_gradients(x, y, w1, b1, w2, b2):
    h = sigmoid(w1 * x + b1)
    e = w2 * h + b2 - y
    return e * w2 * x, e * w2, e * h, e
''',
        "sign_flipped_error": '''
def network_gradients(x, y, w1, b1, w2, b2):
    h = sigmoid(w1 * x + b1)
    e = y - (w2 * h + b2)
    d1 = e * w2 * h * (1 - h)
    return d1 * x, d1, e * h, e
''',
        "forgot_the_input_in_dw1": '''
def network_gradients(x, y, w1, b1, w2, b2):
    h = sigmoid(w1 * x + b1)
    e = w2 * h + b2 - y
    d1 = e * w2 * h * (1 - h)
    return d1, d1, e * h, e
''',
        "w1_instead_of_w2_on_the_path": '''
def network_gradients(x, y, w1, b1, w2, b2):
    h = sigmoid(w1 * x + b1)
    e = w2 * h + b2 - y
    d1 = e * w1 * h * (1 - h)
    return d1 * x, d1, e * h, e
''',
    },
}

CORRECT = {
    # recursion instead of a loop, SymPy's derivative of the Lambda itself
    "ex01_chain": '''
def chain_derivative(funcs, x):
    if not funcs:
        return sp.Integer(1)
    *inner, outer = funcs
    u = x
    for f in inner:
        u = f(u)
    s = sp.Dummy()
    return sp.diff(outer(s), s).subs(s, u) * chain_derivative(inner, x)
''',
    "ex01_sigmoid_prime": '''
def sigmoid_prime_from_output(a):
    return a - a**2

def tanh_prime_from_output(a):
    return (1 - a) * (1 + a)
''',
    # entry by entry, as a Jacobian is defined
    "ex01_layer_jacobian": '''
def layer_jacobian(W, b, x):
    n, k = W.shape
    z = W * x + b
    return sp.Matrix(n, k, lambda i, j: sigmoid(z[i]) * (1 - sigmoid(z[i])) * W[i, j])
''',
    # SymPy's diff of the loss: correct, if less instructive
    "ex01_network_grad": '''
def network_gradients(x, y, w1, b1, w2, b2):
    p = sp.symbols("p1:7")
    L = (p[4] * sigmoid(p[2] * p[0] + p[3]) + p[5] - p[1]) ** 2 / 2
    vals = dict(zip(p, (x, y, w1, b1, w2, b2)))
    return tuple(sp.diff(L, p[i]).subs(vals) for i in (2, 3, 4, 5))
''',
}

# Every hint of every exercise, and the wrong variant on which it must fire.
FIRES = {
    "ex01_chain": {"outer_at_x": "local_derivative_at_x", "inner_missing": "only_outer_derivative",
                   "added": "sum_instead_of_product", "local_at_x": "local_derivative_at_x"},
    "ex01_sigmoid_prime": {"sigmoid_factor_a": "forgot_the_a_factor", "sigmoid_plus": "plus_instead_of_minus",
                           "tanh_not_squared": "tanh_not_squared", "tanh_plus": "tanh_plus_instead_of_minus"},
    "ex01_layer_jacobian": {"w_alone": "missing_activation_derivative", "sigma_not_slope": "sigma_instead_of_slope",
                            "transposed": "transposed"},
    "ex01_network_grad": {"slope_missing": "missing_sigmoid_derivative", "x_missing": "forgot_the_input_in_dw1",
                          "sign": "sign_flipped_error"},
}
