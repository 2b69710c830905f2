"""Benchmark of the backproplab routes against this machine's own limits (not a timed test).

Run: ``.venv/bin/python -m tests.bench library``. Prints each figure with its target and
PASS or MISS. Timings are best-of-N, measured side by side in the same process.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable

import numpy as np
from backproplab import datasets, init, layerwise, matrix, optim, symbolic, train


def best_of(fn: Callable[[], object], n: int) -> float:
    """Smallest wall time of n calls, in seconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def keep_freed_memory() -> bool:
    """Ask glibc malloc to keep freed memory instead of returning it to the OS (mallopt).

    Without it, every call's fresh ~1-3 MB arrays are new pages, and the page faults cost
    about as much as the elementwise work. Process-wide; the benchmark calls it only after
    the default measurement.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)) and bool(libc.mallopt(M_MMAP_THRESHOLD, 1 << 25))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _big_net(rng):
    sizes = [784, 512, 512, 10]
    W, b = init.init_network(sizes, rng, "he")
    b = [rng.normal(0, 0.1, size=bb.shape) for bb in b]
    m = 256
    X = rng.random((784, m))
    Y = datasets.one_hot(rng.integers(0, 10, m), 10)
    return W, b, X, Y


def _fused_reference(W, b, X, Y):
    """Hand-fused numpy forward + backward of relu-relu-softmax with cross-entropy."""
    W1, W2, W3 = W
    b1, b2, b3 = b
    m = X.shape[1]
    Z1 = W1 @ X
    Z1 += b1
    A1 = np.maximum(Z1, 0.0)
    Z2 = W2 @ A1
    Z2 += b2
    A2 = np.maximum(Z2, 0.0)
    Z3 = W3 @ A2
    Z3 += b3
    Z3 -= Z3.max(axis=0, keepdims=True)
    E = np.exp(Z3)
    S = E.sum(axis=0, keepdims=True)
    loss = float(np.sum(Y * (np.log(S) - Z3)) / m)
    D3 = E / S - Y
    dW3 = D3 @ A2.T / m
    db3 = D3.sum(axis=1, keepdims=True) / m
    D2 = W3.T @ D3
    D2 *= Z2 > 0
    dW2 = D2 @ A1.T / m
    db2 = D2.sum(axis=1, keepdims=True) / m
    D1 = W2.T @ D2
    D1 *= Z1 > 0
    dW1 = D1 @ X.T / m
    db1 = D1.sum(axis=1, keepdims=True) / m
    return loss, [dW1, dW2, dW3], [db1, db2, db3]


def _matmuls_only(W, X):
    """The same matrix products (same shapes and transposes) as one forward + backward."""
    W1, W2, W3 = W
    m = X.shape[1]
    A1 = np.empty((512, m))
    A2 = np.empty((512, m))
    D3 = np.empty((10, m))
    D2 = np.empty((512, m))
    D1 = np.empty((512, m))

    def run():
        np.matmul(W1, X, out=A1)
        np.matmul(W2, A1, out=A2)
        np.matmul(W3, A2, out=D3)
        _ = D3 @ A2.T
        np.matmul(W3.T, D3, out=D2)
        _ = D2 @ A1.T
        np.matmul(W2.T, D2, out=D1)
        _ = D1 @ X.T

    flops = 2 * m * (784 * 512 + 512 * 512 + 512 * 10) * 2 + 2 * m * (512 * 10 + 512 * 512)
    return run, flops


def run() -> None:
    rng = np.random.default_rng(0)
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "default"
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, BLAS threads: {threads}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")

    # 1-2. the big network: matrix route vs BLAS and vs a hand-fused reference
    W, b, X, Y = _big_net(rng)
    acts = ["relu", "relu", "softmax"]
    got, ref = matrix.backprop(W, b, X, Y, acts, "cross_entropy"), _fused_reference(W, b, X, Y)
    agree = max(float(np.max(np.abs(g - r))) for g, r in zip(got[1] + got[2], ref[1] + ref[2]))
    mm, flops = _matmuls_only(W, X)

    def measure(n: int = 60) -> tuple[float, float, float]:
        """Best of n for each, the three timed in strict alternation (one call each per round)."""
        fns = [lambda: matrix.backprop(W, b, X, Y, acts, "cross_entropy"), lambda: _fused_reference(W, b, X, Y), mm]
        best = [float("inf")] * 3
        for f in fns:
            f()
        for _ in range(n):
            for i, f in enumerate(fns):
                t0 = time.perf_counter()
                f()
                best[i] = min(best[i], time.perf_counter() - t0)
        return best[0], best[1], best[2]

    print("\n784-512-512-10 ReLU + softmax cross-entropy, batch 256, float64 (forward + backward):")
    print(f"  ({flops / 1e6:.0f} MFLOP of matrix products; max |matrix - hand-fused| = {agree:.1e})")
    runs = [("default allocator", measure())]
    if keep_freed_memory():
        runs.append(("malloc keeps freed memory", measure()))
    for label, (t_route, t_ref, t_mm) in runs:
        frac = t_mm / t_route
        print(f"  [{label}]")
        print(f"    matrix route                 {1e3 * t_route:8.2f} ms   {flops / t_route / 1e9:6.1f} GFLOP/s")
        print(f"    BLAS matmuls alone           {1e3 * t_mm:8.2f} ms   {flops / t_mm / 1e9:6.1f} GFLOP/s")
        print(f"    hand-fused numpy reference   {1e3 * t_ref:8.2f} ms")
        print(f"    fraction of BLAS throughput  {frac:8.3f}      target >= 0.8   {verdict(frac >= 0.8)}")
        print(f"    matrix / hand-fused          {t_route / t_ref:8.3f}x     target <= 1.1x  "
              f"{verdict(t_route / t_ref <= 1.1)}")

    # 3. layerwise vs matrix on a small net
    sizes = [4, 8, 8, 3]
    Ws, bs = init.init_network(sizes, rng, "glorot")
    Xs = rng.normal(size=(4, 16))
    Ys = datasets.one_hot(rng.integers(0, 3, 16), 3)
    sacts = ["tanh", "tanh", "softmax"]
    t_lw = best_of(lambda: layerwise.backprop(Ws, bs, Xs, Ys, sacts, "cross_entropy"), 5)
    t_mx = best_of(lambda: matrix.backprop(Ws, bs, Xs, Ys, sacts, "cross_entropy"), 200)
    print("\n4-8-8-3 tanh + softmax cross-entropy, batch 16:")
    print(f"  layerwise (loops)            {1e3 * t_lw:8.2f} ms")
    print(f"  matrix                       {1e3 * t_mx:8.3f} ms")
    print(f"  matrix speedup               {t_lw / t_mx:8.0f}x     (no target)")

    # 4. the symbolic oracle from scratch
    W2, b2 = init.init_network([2, 3, 2], rng, "glorot")
    X2, Y2 = rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    cold = []
    for _ in range(3):
        symbolic._compiled.cache_clear()
        t0 = time.perf_counter()
        symbolic.backprop(W2, b2, X2, Y2, ["tanh", "sigmoid"], "squared_error")
        cold.append(time.perf_counter() - t0)
    warm = best_of(lambda: symbolic.backprop(W2, b2, X2, Y2, ["tanh", "sigmoid"], "squared_error"), 20)
    print("\nsymbolic oracle, 2-3-2 tanh/sigmoid, squared error (build expression, diff, cse, lambdify, evaluate):")
    print(f"  first call (cold)            {cold[0]:8.3f} s    target < 2 s    {verdict(cold[0] < 2.0)}")
    print(f"  best cold of 3               {min(cold):8.3f} s")
    print(f"  cached call                  {1e3 * warm:8.3f} ms")

    # 5. digits to 97 %
    def digits_run():
        d = datasets.load_digits()
        g = np.random.default_rng(1)
        Wd, bd = init.init_network([64, 64, 10], g, "he")
        return train.train(Wd, bd, d.X_train, d.Y_train, ["relu", "softmax"], "cross_entropy", optim.Adam(1e-2),
                           epochs=50, batch_size=32, rng=g, X_test=d.X_test, Y_test=d.Y_test, stop_at=0.97)

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        _, _, h = digits_run()
        times.append(time.perf_counter() - t0)
    reached = h.test_accuracy[-1] >= 0.97
    print("\ndigits 64-64-10, Adam(1e-2), batch 32, until 97% test accuracy:")
    print(f"  wall time (best of 3)        {min(times):8.2f} s    target < 10 s   {verdict(reached and min(times) < 10)}")
    print(f"  epochs {h.epoch[-1]}, test accuracy {100 * h.test_accuracy[-1]:.1f}%")


if __name__ == "__main__":
    run()
