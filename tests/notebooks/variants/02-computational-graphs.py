"""Sensitivity variants of 02-computational-graphs: common mistakes that must lose points, and
one differently written correct answer per exercise that must keep full marks."""

WRONG = {
    "ex02_mul_backward": {
        # = instead of +=: a reused operand (x * x) or an earlier path loses its contribution
        "assigns_instead_of_adding": '''
def mul_backward(a, b, out):
    a.grad = b.data * out.grad
    b.grad = a.data * out.grad
''',
        "own_operand_not_the_other": '''
def mul_backward(a, b, out):
    a.grad += a.data * out.grad
    b.grad += b.data * out.grad
''',
        "forgot_upstream_gradient": '''
def mul_backward(a, b, out):
    a.grad += b.data
    b.grad += a.data
''',
        "uses_output_value": '''
def mul_backward(a, b, out):
    a.grad += out.data * out.grad
    b.grad += out.data * out.grad
''',
        # resets the upstream gradient after use: a side effect that breaks every later rule
        "clears_out_grad": '''
def mul_backward(a, b, out):
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad
    out.grad = 0.0
''',
    },
    "ex02_exp_tanh_backward": {
        "tanh_prime_from_input": '''
def exp_backward(a, out):
    a.grad += out.data * out.grad

def tanh_backward(a, out):
    a.grad += (1 - a.data ** 2) * out.grad
''',
        "tanh_output_not_squared": '''
def exp_backward(a, out):
    a.grad += out.data * out.grad

def tanh_backward(a, out):
    a.grad += (1 - out.data) * out.grad
''',
        "exp_prime_is_input": '''
def exp_backward(a, out):
    a.grad += a.data * out.grad

def tanh_backward(a, out):
    a.grad += (1 - out.data ** 2) * out.grad
''',
        "assigns_instead_of_adding": '''
def exp_backward(a, out):
    a.grad = out.data * out.grad

def tanh_backward(a, out):
    a.grad = (1 - out.data ** 2) * out.grad
''',
        "forgot_upstream_gradient": '''
def exp_backward(a, out):
    a.grad += out.data

def tanh_backward(a, out):
    a.grad += 1 - out.data ** 2
''',
        # changes the node it reads: out.data now holds the derivative
        "overwrites_out_data": '''
def exp_backward(a, out):
    a.grad += out.data * out.grad

def tanh_backward(a, out):
    out.data = 1 - out.data ** 2
    a.grad += out.data * out.grad
''',
    },
    "ex02_topological_sort": {
        "root_first": '''
def topological_sort(root):
    order, visited = [], set()
    def visit(v):
        if v not in visited:
            visited.add(v)
            order.append(v)
            for p in v.prev:
                visit(p)
    visit(root)
    return order
''',
        "no_visited_set": '''
def topological_sort(root):
    order = []
    def visit(v):
        for p in v.prev:
            visit(p)
        order.append(v)
    visit(root)
    return order
''',
        "only_direct_parents": '''
def topological_sort(root):
    return list(root.prev) + [root]
''',
        # the depth-first search written with recursion: right on small graphs, a RecursionError on deep ones
        "recursive": '''
def topological_sort(root):
    order, visited = [], set()
    def visit(v):
        if v not in visited:
            visited.add(v)
            for p in v.prev:
                visit(p)
            order.append(v)
    visit(root)
    return order
''',
        # a visited set that survives between calls: the second call returns an empty order
        "visited_set_kept_between_calls": '''
_seen = set()

def topological_sort(root, order=None):
    order = []
    stack = [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
        elif v not in _seen:
            _seen.add(v)
            stack.append((v, True))
            stack.extend((p, False) for p in v.prev)
    return order
''',
        "breadth_first_reversed": '''
def topological_sort(root):
    order, seen, queue = [], {root}, [root]
    while queue:
        v = queue.pop(0)
        order.append(v)
        for p in v.prev:
            if p not in seen:
                seen.add(p)
                queue.append(p)
    return order[::-1]
''',
    },
    "ex02_backward": {
        "forward_order": '''
def backward(root):
    order = topological_sort(root)
    for v in order:
        if v.prev:
            v.grad = 0.0
    root.grad += 1.0
    for v in order:
        v._backward()
''',
        "never_resets_interior": '''
def backward(root):
    root.grad += 1.0
    for v in reversed(topological_sort(root)):
        v._backward()
''',
        "resets_the_inputs_too": '''
def backward(root):
    order = topological_sort(root)
    for v in order:
        v.grad = 0.0
    root.grad = 1.0
    for v in reversed(order):
        v._backward()
''',
        "depth_first_without_order": '''
def backward(root):
    for v in topological_sort(root):
        if v.prev:
            v.grad = 0.0
    root.grad += 1.0
    def push(v):
        v._backward()
        for p in v.prev:
            push(p)
    push(root)
''',
        # root.grad = 1 instead of += 1: right unless the root is an input that already held a gradient
        "sets_the_seed": '''
def backward(root):
    order = topological_sort(root)
    for v in order:
        if v.prev:
            v.grad = 0.0
    root.grad = 1.0
    for v in reversed(order):
        v._backward()
''',
        "no_seed": '''
def backward(root):
    order = topological_sort(root)
    for v in order:
        if v.prev:
            v.grad = 0.0
    for v in reversed(order):
        v._backward()
''',
    },
}

CORRECT = {
    "ex02_mul_backward": '''
def mul_backward(a, b, out):
    g = out.grad
    da, db = b.data * g, a.data * g      # both read before either is changed
    a.grad = a.grad + da
    b.grad = b.grad + db
''',
    "ex02_exp_tanh_backward": '''
import math

def exp_backward(a, out):
    a.grad += math.exp(a.data) * out.grad

def tanh_backward(a, out):
    a.grad += out.grad / math.cosh(a.data) ** 2
''',
    "ex02_topological_sort": '''
def topological_sort(root):
    # iterative depth-first search with an explicit stack (no recursion limit)
    order, done, stack = [], set(), [(root, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            order.append(v)
        elif id(v) not in done:
            done.add(id(v))
            stack.append((v, True))
            for p in reversed(v.prev):
                if id(p) not in done:
                    stack.append((p, False))
    return order
''',
    "ex02_backward": '''
def backward(root):
    nodes = topological_sort(root)
    interior = [v for v in nodes if len(v.prev) > 0]
    for v in interior:
        v.grad = 0
    root.grad = root.grad + 1
    for k in range(len(nodes) - 1, -1, -1):
        nodes[k]._backward()
''',
}

FIRES = {
    "ex02_mul_backward": {"own_operand": "own_operand_not_the_other", "out_data": "uses_output_value",
                          "upstream": "forgot_upstream_gradient", "accumulate": "assigns_instead_of_adding",
                          "reuse": "assigns_instead_of_adding"},
    "ex02_exp_tanh_backward": {"exp_input": "exp_prime_is_input", "exp_upstream": "forgot_upstream_gradient",
                               "exp_accumulate": "assigns_instead_of_adding", "tanh_input": "tanh_prime_from_input",
                               "tanh_not_squared": "tanh_output_not_squared",
                               "tanh_upstream": "forgot_upstream_gradient",
                               "tanh_accumulate": "assigns_instead_of_adding"},
    "ex02_topological_sort": {"duplicate": "no_visited_set", "missing": "only_direct_parents",
                              "reversed": "root_first", "parent_after": "breadth_first_reversed",
                              "recursion": "recursive", "fresh_state": "visited_set_kept_between_calls"},
    "ex02_backward": {"seed": "no_seed", "order": "forward_order", "once": "depth_first_without_order",
                      "interior_reset": "never_resets_interior", "leaves_accumulate": "resets_the_inputs_too",
                      "seed_add": "sets_the_seed"},
}
