"""Sensitivity variants of 07-losses-and-outputs: common mistakes that must lose points, and
one differently written correct answer per exercise that must keep full marks."""

WRONG = {
    "ex07_softmax": {
        "naive_overflows": '''
def softmax(Z):
    e = np.exp(Z)
    return e / np.sum(e, axis=0, keepdims=True)
''',
        "shift_by_the_global_max": '''
def softmax(Z):
    e = np.exp(Z - np.max(Z))
    return e / np.sum(e, axis=0, keepdims=True)
''',
        "normalised_over_the_rows": '''
def softmax(Z):
    e = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)
''',
        "divided_by_the_sum_of_everything": '''
def softmax(Z):
    e = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return e / np.sum(e)
''',
        # right values, but the first try overflows with numpy warnings
        "naive_first_then_stable": '''
def softmax(Z):
    e = np.exp(Z)
    P = e / np.sum(e, axis=0, keepdims=True)
    if np.all(np.isfinite(P)):
        return P
    e = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)
''',
        "shifts_its_input_in_place": '''
def softmax(Z):
    Z -= np.max(Z, axis=0, keepdims=True)
    e = np.exp(Z)
    return e / np.sum(e, axis=0, keepdims=True)
''',
    },
    "ex07_cross_entropy": {
        "summed_over_the_batch": '''
def cross_entropy(Z, Y):
    top = np.max(Z, axis=0, keepdims=True)
    log_p = Z - top - np.log(np.sum(np.exp(Z - top), axis=0, keepdims=True))
    return float(-np.sum(Y * log_p))
''',
        "mean_over_all_entries": '''
def cross_entropy(Z, Y):
    top = np.max(Z, axis=0, keepdims=True)
    log_p = Z - top - np.log(np.sum(np.exp(Z - top), axis=0, keepdims=True))
    return float(-np.mean(Y * log_p))
''',
        "sign_flipped": '''
def cross_entropy(Z, Y):
    top = np.max(Z, axis=0, keepdims=True)
    log_p = Z - top - np.log(np.sum(np.exp(Z - top), axis=0, keepdims=True))
    return float(np.sum(Y * log_p) / Z.shape[1])
''',
        "naive_softmax_then_log": '''
def cross_entropy(Z, Y):
    e = np.exp(Z)
    return float(-np.sum(Y * np.log(e / np.sum(e, axis=0, keepdims=True))) / Z.shape[1])
''',
        "log_of_the_stable_softmax": '''
def cross_entropy(Z, Y):
    return float(-np.sum(Y * np.log(softmax(Z))) / Z.shape[1])
''',
    },
    "ex07_output_delta": {
        "divided_by_m": '''
def output_delta(Z, Y):
    return (softmax(Z) - Y) / Z.shape[1]
''',
        "target_minus_prediction": '''
def output_delta(Z, Y):
    return Y - softmax(Z)
''',
        "gradient_with_respect_to_p": '''
def output_delta(Z, Y):
    return -Y / softmax(Z)
''',
        "softmax_slope_applied_again": '''
def output_delta(Z, Y):
    P = softmax(Z)
    return P * (1 - P) * (P - Y)
''',
        "naive_softmax": '''
def output_delta(Z, Y):
    e = np.exp(Z)
    return e / np.sum(e, axis=0, keepdims=True) - Y
''',
    },
}

CORRECT = {
    # through log-sum-exp, with np.logaddexp.reduce; no keepdims (broadcasting over the columns)
    "ex07_softmax": '''
def softmax(Z):
    return np.exp(Z - np.logaddexp.reduce(Z, axis=0))
''',
    # one example (column) at a time, with the log-probability of the target only
    "ex07_cross_entropy": '''
def cross_entropy(Z, Y):
    m = Z.shape[1]
    total = 0.0
    for j in range(m):
        z = Z[:, j]
        lse = z.max() + np.log(np.exp(z - z.max()).sum())
        total += float(np.dot(Y[:, j], lse - z))
    return total / m
''',
    # p * sum(y) - y: the same for columns of y that sum to 1; softmax written out again
    "ex07_output_delta": '''
def output_delta(Z, Y):
    e = np.exp(Z - Z.max(axis=0))
    P = e / e.sum(axis=0)
    return P * Y.sum(axis=0) - Y
''',
}

# Every hint of every exercise, and the wrong variant on which it must fire.
FIRES = {
    "ex07_softmax": {"overflow": "naive_overflows", "global_max": "shift_by_the_global_max",
                     "axis": "normalised_over_the_rows", "sum_all": "divided_by_the_sum_of_everything",
                     "warns": "naive_first_then_stable", "in_place": "shifts_its_input_in_place"},
    "ex07_cross_entropy": {"sum_not_mean": "summed_over_the_batch", "mean_all": "mean_over_all_entries",
                           "sign": "sign_flipped", "overflow": "naive_softmax_then_log",
                           "log_zero": "log_of_the_stable_softmax"},
    "ex07_output_delta": {"per_example": "divided_by_m", "sign": "target_minus_prediction",
                          "dl_dp": "gradient_with_respect_to_p", "extra_slope": "softmax_slope_applied_again",
                          "overflow": "naive_softmax"},
}
