r"""The Elman recurrent network, unrolled in time, and backpropagation through time (BPTT).

A batch of m sequences of T steps, one sequence per column. For $t = 1, \dots, T$:

- $z_t = W_{xh} x_t + W_{hh} h_{t-1} + b_h$, $h_t = \tanh(z_t)$, $\hat y_t = W_{hy} h_t + b_y$;
- one sequence's loss $\ell = \sum_t \tfrac12 \lVert \hat y_t - y_t \rVert^2$ (a target at every
  step), or $\ell = \tfrac12 \lVert \hat y_T - y_T \rVert^2$ (a target at the last step only);
  the batch cost $C$ is the mean of $\ell$ over the m sequences.

BPTT is the delta recursion of a feedforward network run over the unrolled time steps, with
$e_t = \hat y_t - y_t$ and $\delta_{T+1} = 0$:

- $\delta_t = (1 - h_t^2) \odot (W_{hy}^\top e_t + W_{hh}^\top \delta_{t+1})$ (per example);
- the weights are shared by every step, so their gradients **sum over the steps**:
  $\partial C/\partial W_{hh} = \frac1m \sum_t \delta_t h_{t-1}^\top$,
  $\partial C/\partial W_{xh} = \frac1m \sum_t \delta_t x_t^\top$,
  $\partial C/\partial b_h = \frac1m \sum_t \delta_t \mathbf 1$,
  $\partial C/\partial W_{hy} = \frac1m \sum_t e_t h_t^\top$,
  $\partial C/\partial b_y = \frac1m \sum_t e_t \mathbf 1$.

Arrays (time first): ``X`` (T, n_x, m) with ``X[t-1]`` $= x_t$; ``H`` (T+1, n_h, m) with
``H[0]`` $= h_0$ and ``H[t]`` $= h_t$; ``Yhat`` (T, n_y, m) with ``Yhat[t-1]`` $= \hat y_t$;
``Y`` (T, n_y, m), or (n_y, m) for a target at the last step only. Parameters and gradients
are dicts with the keys of :data:`PARAM_NAMES`. Every pass is a loop over time (never
recursion), so sequences of any length run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ._guard import protected

__all__ = [
    "PARAM_NAMES",
    "Params",
    "backward",
    "bptt",
    "clip_by_norm",
    "cost",
    "delayed_sum_task",
    "forward",
    "global_norm",
    "hidden_gradients",
    "init_elman",
    "step_contributions",
    "train",
]

PARAM_NAMES = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")
Params = dict[str, np.ndarray]
"""``{"W_xh": (n_h, n_x), "W_hh": (n_h, n_h), "b_h": (n_h, 1), "W_hy": (n_y, n_h), "b_y": (n_y, 1)}``."""


# ------------------------------------------------------------------------------------------
# checks
def _params(params: Mapping[str, np.ndarray]) -> Params:
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict with keys {', '.join(PARAM_NAMES)}, got {type(params).__name__}")
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"params is missing {', '.join(missing)} (keys: {', '.join(PARAM_NAMES)})")
    p = {k: np.asarray(params[k], dtype=np.float64) for k in PARAM_NAMES}
    n_h, n_x = p["W_xh"].shape if p["W_xh"].ndim == 2 else (None, None)
    n_y = p["W_hy"].shape[0] if p["W_hy"].ndim == 2 else None
    want = {"W_xh": (n_h, n_x), "W_hh": (n_h, n_h), "b_h": (n_h, 1), "W_hy": (n_y, n_h), "b_y": (n_y, 1)}
    for k, shape in want.items():
        if p[k].shape != shape:
            raise ValueError(f"params[{k!r}] has shape {p[k].shape}, expected {shape} "
                             f"(n_x={n_x}, n_h={n_h}, n_y={n_y} from W_xh and W_hy)")
    return p


def _sequence(X, p: Params) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    n_x = p["W_xh"].shape[1]
    if X.ndim != 3 or X.shape[1] != n_x or X.shape[0] < 1:
        raise ValueError(f"X must be (T, n_x, m) = (T, {n_x}, m) with T >= 1, one sequence per column; got {X.shape}")
    return X


def _h0(h0, p: Params, m: int) -> np.ndarray:
    n_h = p["W_hh"].shape[0]
    if h0 is None:
        return np.zeros((n_h, m))
    h0 = np.asarray(h0, dtype=np.float64)
    if h0.shape != (n_h, m):
        raise ValueError(f"h0 must be (n_h, m) = ({n_h}, {m}), got {h0.shape}")
    return h0


def _errors(Yhat: np.ndarray, Y) -> np.ndarray:
    """e_t = yhat_t - y_t for every step (zeros where there is no target): (T, n_y, m)."""
    Y = np.asarray(Y, dtype=np.float64)
    if Y.shape == Yhat.shape:
        return Yhat - Y
    if Y.shape == Yhat.shape[1:]:
        E = np.zeros_like(Yhat)
        E[-1] = Yhat[-1] - Y
        return E
    raise ValueError(f"Y must be (T, n_y, m) = {Yhat.shape} (a target at every step) or (n_y, m) = "
                     f"{Yhat.shape[1:]} (the last step only); got {Y.shape}")


# ------------------------------------------------------------------------------------------
# the network
def init_elman(n_x: int, n_h: int, n_y: int, rng: np.random.Generator, radius: float = 0.9,
               input_scale: float = 1.0) -> Params:
    r"""Parameters of an Elman network: $W_{hh} = \rho Q$ with $Q$ a random orthogonal matrix,
    so every singular value of $W_{hh}$ is the ``radius`` $\rho$; $W_{xh} \sim \mathcal N(0, s^2/n_x)$
    ($s$ = ``input_scale``), $W_{hy} \sim \mathcal N(0, 1/n_h)$, zero biases.

    -> params: W_xh (n_h, n_x), W_hh (n_h, n_h), b_h (n_h, 1), W_hy (n_y, n_h), b_y (n_y, 1).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be an np.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    if min(n_x, n_h, n_y) < 1:
        raise ValueError(f"sizes must be positive, got n_x={n_x}, n_h={n_h}, n_y={n_y}")
    Q, R = np.linalg.qr(rng.normal(size=(n_h, n_h)))
    Q = Q * np.sign(np.diag(R))            # a uniformly random orthogonal matrix
    return {
        "W_xh": rng.normal(0.0, input_scale / np.sqrt(n_x), size=(n_h, n_x)),
        "W_hh": radius * Q,
        "b_h": np.zeros((n_h, 1)),
        "W_hy": rng.normal(0.0, 1.0 / np.sqrt(n_h), size=(n_y, n_h)),
        "b_y": np.zeros((n_y, 1)),
    }


@protected
def forward(params: Mapping[str, np.ndarray], X: np.ndarray, h0: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    r"""The unrolled forward pass $h_t = \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h)$, $\hat y_t = W_{hy} h_t + b_y$.

    params (see :data:`Params`), X (T, n_x, m), h0 (n_h, m) or None for zeros
    -> H (T+1, n_h, m) with H[0] = h0, and Yhat (T, n_y, m).
    """
    p = _params(params)
    X = _sequence(X, p)
    return _forward(p, X, _h0(h0, p, X.shape[2]))


def _forward(p: Params, X: np.ndarray, h0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    T, _, m = X.shape
    H = np.empty((T + 1, p["W_hh"].shape[0], m))
    H[0] = h0
    for t in range(1, T + 1):
        H[t] = np.tanh(p["W_xh"] @ X[t - 1] + p["W_hh"] @ H[t - 1] + p["b_h"])
    Yhat = np.einsum("yh,thm->tym", p["W_hy"], H[1:]) + p["b_y"]
    return H, Yhat


@protected
def cost(params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, h0: np.ndarray | None = None) -> float:
    r"""$C = \frac1m \sum_j \sum_t \tfrac12 \lVert \hat y_{t,j} - y_{t,j} \rVert^2$ (the sum over the steps that have a target).

    params, X (T, n_x, m), Y (T, n_y, m) or (n_y, m), h0 (n_h, m) or None -> float.
    """
    p = _params(params)
    X = _sequence(X, p)
    _, Yhat = _forward(p, X, _h0(h0, p, X.shape[2]))
    E = _errors(Yhat, Y)
    return float(0.5 * np.sum(E * E) / X.shape[2])


@protected
def backward(params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, H: np.ndarray,
             truncate: int | None = None) -> Params:
    r"""BPTT from the forward cache: $\delta_t = (1 - h_t^2) \odot (W_{hy}^\top e_t + W_{hh}^\top \delta_{t+1})$,
    each weight's gradient summed over the steps (see the module docstring).

    params, X (T, n_x, m), Y (T, n_y, m) or (n_y, m), H (T+1, n_h, m) from :func:`forward`;
    ``truncate`` = k cuts the sequence into chunks of k steps (steps 1..k, k+1..2k, ...) and lets no
    gradient flow from one chunk back into the previous one (truncated BPTT); None is full BPTT
    -> grads: dict like params, $\partial C/\partial W_{xh}$ (n_h, n_x), ... (batch mean over m).
    """
    p = _params(params)
    X = _sequence(X, p)
    H = np.asarray(H, dtype=np.float64)
    T, _, m = X.shape
    if H.shape != (T + 1, p["W_hh"].shape[0], m):
        raise ValueError(f"H must be (T+1, n_h, m) = {(T + 1, p['W_hh'].shape[0], m)} from forward, got {H.shape}")
    if truncate is not None and int(truncate) < 1:
        raise ValueError(f"truncate must be a positive number of steps (or None), got {truncate}")
    Yhat = np.einsum("yh,thm->tym", p["W_hy"], H[1:]) + p["b_y"]
    return _backward(p, X, _errors(Yhat, Y), H, truncate)[0]


def _backward(p: Params, X: np.ndarray, E: np.ndarray, H: np.ndarray, truncate: int | None
              ) -> tuple[Params, np.ndarray]:
    """Gradients (batch mean) and dL/dh_t per example for t = 0..T, (T+1, n_h, m)."""
    T, _, m = X.shape
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dH = np.zeros_like(H)
    carry = np.zeros_like(H[0])              # W_hh^T delta_{t+1}: what step t+1 sends back to h_t
    for t in range(T, 0, -1):
        if truncate is not None and t % truncate == 0:
            carry = np.zeros_like(carry)     # a chunk ends at t: nothing flows back from t+1
        e = E[t - 1]
        dH[t] = p["W_hy"].T @ e + carry      # dl/dh_t
        delta = (1.0 - H[t] * H[t]) * dH[t]  # dl/dz_t, tanh' = 1 - h_t^2
        g["W_xh"] += delta @ X[t - 1].T
        g["W_hh"] += delta @ H[t - 1].T
        g["b_h"] += delta.sum(axis=1, keepdims=True)
        g["W_hy"] += e @ H[t].T
        g["b_y"] += e.sum(axis=1, keepdims=True)
        carry = p["W_hh"].T @ delta
    dH[0] = carry
    for k in g:
        g[k] /= m
    return g, dH


@protected
def bptt(params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, h0: np.ndarray | None = None,
         truncate: int | None = None) -> tuple[float, Params]:
    r"""The cost $C$ and its gradients by backpropagation through time (forward, then :func:`backward`).

    params, X (T, n_x, m), Y (T, n_y, m) or (n_y, m), h0 (n_h, m) or None, truncate: k or None
    -> (C: float, grads: dict like params).
    """
    p = _params(params)
    X = _sequence(X, p)
    H, Yhat = _forward(p, X, _h0(h0, p, X.shape[2]))
    E = _errors(Yhat, Y)
    if truncate is not None and int(truncate) < 1:
        raise ValueError(f"truncate must be a positive number of steps (or None), got {truncate}")
    grads, _ = _backward(p, X, E, H, truncate)
    return float(0.5 * np.sum(E * E) / X.shape[2]), grads


@protected
def hidden_gradients(params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray,
                     h0: np.ndarray | None = None) -> np.ndarray:
    r"""$\partial C/\partial h_t$ for $t = 0, \dots, T$: how much the cost depends on each hidden state,
    through every later step ($\frac1m (W_{hy}^\top e_t + W_{hh}^\top \delta_{t+1})$).

    params, X (T, n_x, m), Y (T, n_y, m) or (n_y, m), h0 (n_h, m) or None -> G (T+1, n_h, m), G[t] = dC/dh_t.
    """
    p = _params(params)
    X = _sequence(X, p)
    H, Yhat = _forward(p, X, _h0(h0, p, X.shape[2]))
    _, dH = _backward(p, X, _errors(Yhat, Y), H, None)
    return dH / X.shape[2]


def step_contributions(params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray,
                       h0: np.ndarray | None = None) -> np.ndarray:
    r"""$\lVert \frac1m \delta_t h_{t-1}^\top \rVert_F$ for $t = 1, \dots, T$: the size of each step's term in
    $\partial C/\partial W_{hh}$.

    params, X (T, n_x, m), Y (T, n_y, m) or (n_y, m), h0 (n_h, m) or None -> (T,).
    """
    p = _params(params)
    X = _sequence(X, p)
    H, Yhat = _forward(p, X, _h0(h0, p, X.shape[2]))
    _, dH = _backward(p, X, _errors(Yhat, Y), H, None)
    m = X.shape[2]
    deltas = (1.0 - H[1:] ** 2) * dH[1:]
    return np.array([np.linalg.norm(deltas[t] @ H[t].T) / m for t in range(X.shape[0])])


# ------------------------------------------------------------------------------------------
# exploding gradients: clipping
@protected
def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    r"""$\lVert g \rVert = \sqrt{\sum_k \lVert g_k \rVert_F^2}$ over every array of ``grads`` (a dict) -> float."""
    return float(np.sqrt(sum(float(np.sum(np.square(np.asarray(g, dtype=np.float64)))) for g in grads.values())))


@protected
def clip_by_norm(grads: Mapping[str, np.ndarray], max_norm: float) -> dict[str, np.ndarray]:
    r"""Gradient clipping by the global norm (Pascanu et al. 2013): $g \leftarrow g \cdot \tau / \lVert g \rVert$
    when $\lVert g \rVert > \tau$ = ``max_norm``, else unchanged; the direction is kept.

    grads: dict of arrays -> a new dict of new arrays (the input is not modified).
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    norm = global_norm(grads)
    factor = max_norm / norm if norm > max_norm else 1.0
    return {k: np.asarray(g, dtype=np.float64) * factor for k, g in grads.items()}


# ------------------------------------------------------------------------------------------
# a task and a training loop for the demonstrations
def delayed_sum_task(T: int, m: int, rng: np.random.Generator, delay: int = 3) -> tuple[np.ndarray, np.ndarray]:
    r"""A memory task: $x_t \sim \mathcal N(0, 1)$ and the target $y_t = \frac12 (x_{t-\text{delay}} + x_t)$
    ($x_s = 0$ for $s < 1$), so the network must remember an input for ``delay`` steps.

    -> X (T, 1, m), Y (T, 1, m).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be an np.random.Generator, got {type(rng).__name__}")
    X = rng.normal(size=(T, 1, m))
    past = np.zeros_like(X)
    past[delay:] = X[:-delay] if delay else X
    return X, 0.5 * (past + X)


def train(params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, lr: float, steps: int,
          h0: np.ndarray | None = None, max_norm: float | None = None, truncate: int | None = None,
          clip: Callable | None = None) -> tuple[Params, np.ndarray, np.ndarray]:
    r"""Full-batch gradient descent $\theta \leftarrow \theta - \eta\, g$ with BPTT gradients $g$, clipped to the
    global norm ``max_norm`` when given (by ``clip(grads, max_norm)``, default :func:`clip_by_norm`).

    params, X (T, n_x, m), Y (T, n_y, m) or (n_y, m) -> (final params, costs (steps+1,), gradient norms
    before clipping (steps,)). A run whose cost stops being finite is cut short: the rest is inf.
    """
    p = {k: np.array(v, dtype=np.float64) for k, v in _params(params).items()}
    clip = clip or clip_by_norm
    costs = np.full(steps + 1, np.inf)
    norms = np.full(steps, np.inf)
    with np.errstate(all="ignore"):
        for i in range(steps):
            c, g = bptt(p, X, Y, h0, truncate)
            costs[i] = c
            n = global_norm(g)
            norms[i] = n
            if not (np.isfinite(c) and np.isfinite(n)):
                costs[i] = np.inf
                break
            if max_norm is not None:
                g = clip(g, max_norm)
            p = {k: p[k] - lr * g[k] for k in PARAM_NAMES}
            if not all(np.all(np.isfinite(v)) for v in p.values()):
                break
        else:
            costs[steps] = cost(p, X, Y, h0)
    return p, costs, norms
