r"""The course's figures, in one style: loss curves, decision boundaries, digit grids,
per-layer gradient norms, confusion matrices.

Every function draws on ``ax`` when given one (so figures can be composed), otherwise
on a new figure, and returns the matplotlib ``Axes`` (or ``Figure`` for a grid). Nothing
here calls ``plt.show()``; it works with the Agg backend (headless) as in a notebook.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "COLORS",
    "STYLE",
    "confusion_matrix",
    "decision_boundary",
    "digit_grid",
    "gradient_norms",
    "loss_curves",
    "new_axes",
]

COLORS = ("#1f5fa8", "#d1495b", "#2e9d5b", "#edae49", "#6c4f9c", "#00798c", "#7a7a7a")
STYLE = {
    "axes.prop_cycle": plt.cycler(color=COLORS),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 10,
    "figure.dpi": 100,
    "legend.frameon": False,
}


def new_axes(ax: Axes | None = None, figsize: tuple[float, float] = (5.0, 3.5)) -> Axes:
    """``ax`` itself, or the axes of a new figure in the course style."""
    if ax is not None:
        return ax
    with plt.rc_context(STYLE):
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    _style(ax)
    return ax


def _style(ax: Axes) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(True, alpha=0.3)


def loss_curves(curves: Mapping[str, Sequence[float]] | Sequence[float] | object, ax: Axes | None = None,
                log: bool = True, xlabel: str = "epoch", ylabel: str = "loss") -> Axes:
    """Loss against epoch (or step). ``curves``: a dict ``{label: values}``, one sequence, or a
    :class:`backproplab.train.History` (its loss and test loss). ``log`` uses a log y-axis."""
    ax = new_axes(ax)
    if hasattr(curves, "loss") and hasattr(curves, "test_loss"):
        data = {"train": curves.loss}
        if curves.test_loss:
            data["test"] = curves.test_loss
    elif isinstance(curves, Mapping):
        data = dict(curves)
    else:
        data = {"": curves}
    for i, (label, values) in enumerate(data.items()):
        v = np.asarray(values, dtype=np.float64)
        ax.plot(np.arange(1, v.size + 1), v, label=label or None, color=COLORS[i % len(COLORS)], lw=1.8)
    if log and all(np.all(np.asarray(v, dtype=np.float64) > 0) for v in data.values()):
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if any(data):
        ax.legend()
    return ax


def decision_boundary(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, Y: np.ndarray | None = None,
                      ax: Axes | None = None, resolution: int = 200, margin: float = 0.3) -> Axes:
    """The classifier's regions over the plane, with the examples on top.

    predict: (2, k) points -> (1, k) probabilities or (K, k) class scores; X (2, m);
    Y (1, m) 0/1 labels or (K, m) one-hot (optional).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] != 2:
        raise ValueError(f"decision_boundary needs 2-D inputs, X (2, m); got {X.shape}")
    ax = new_axes(ax, figsize=(4.5, 4.0))
    lo, hi = X.min(axis=1) - margin, X.max(axis=1) + margin
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    out = np.asarray(predict(np.vstack([g0.ravel(), g1.ravel()])))
    if out.shape[0] == 1:
        ax.contourf(g0, g1, out.reshape(g0.shape), levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
        ax.contour(g0, g1, out.reshape(g0.shape), levels=[0.5], colors="k", linewidths=1.0)
    else:
        cls = np.argmax(out, axis=0).reshape(g0.shape)
        ax.contourf(g0, g1, cls, levels=np.arange(out.shape[0] + 1) - 0.5, cmap="tab10", alpha=0.25)
    if Y is not None:
        Y = np.asarray(Y)
        labels = (Y[0] > 0.5).astype(int) if Y.shape[0] == 1 else np.argmax(Y, axis=0)
        for k in np.unique(labels):
            sel = labels == k
            ax.scatter(X[0, sel], X[1, sel], s=14, color=COLORS[int(k) % len(COLORS)], edgecolor="white",
                       linewidth=0.4, label=f"class {k}")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.grid(False)
    return ax


def digit_grid(images: np.ndarray, labels: Sequence[int] | None = None, predictions: Sequence[int] | None = None,
               ncols: int = 10, scale: float = 0.9) -> Figure:
    """A grid of 8x8 digit images with their labels (and predictions: wrong ones in red).

    images (k, 8, 8) or columns X (64, k) -> Figure.
    """
    imgs = np.asarray(images)
    if imgs.ndim == 2 and imgs.shape[0] == 64:
        imgs = imgs.T.reshape(-1, 8, 8)
    if imgs.ndim != 3:
        raise ValueError(f"images must be (k, 8, 8) or (64, k), got {np.shape(images)}")
    k = imgs.shape[0]
    ncols = max(1, min(ncols, k))
    nrows = max(1, -(-k // ncols))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= k:
            continue
        ax.imshow(imgs[i], cmap="gray_r", interpolation="nearest")
        title, color = "", "black"
        if labels is not None:
            title = str(labels[i])
        if predictions is not None:
            title = f"{title}→{predictions[i]}" if title else str(predictions[i])
            if labels is not None and predictions[i] != labels[i]:
                color = COLORS[1]
        if title:
            ax.set_title(title, fontsize=8, color=color, pad=2)
    return fig


def gradient_norms(norms: Mapping[str, Sequence[float]] | Sequence[float], ax: Axes | None = None,
                   log: bool = True) -> Axes:
    r"""Per-layer gradient norms $\lVert \partial C/\partial W^l \rVert$ against the layer l = 1..L.

    norms: one sequence (L,) or a dict ``{label: (L,)}`` to compare configurations.
    """
    ax = new_axes(ax)
    data = dict(norms) if isinstance(norms, Mapping) else {"": norms}
    for i, (label, v) in enumerate(data.items()):
        v = np.asarray(v, dtype=np.float64)
        ax.plot(np.arange(1, v.size + 1), v, marker="o", label=label or None, color=COLORS[i % len(COLORS)])
    if log and all(np.all(np.asarray(v, dtype=np.float64) > 0) for v in data.values()):
        ax.set_yscale("log")
    ax.set_xlabel("layer l")
    ax.set_ylabel(r"$\|\partial C / \partial W^l\|$")
    if any(data):
        ax.legend()
    return ax


def confusion_matrix(C: np.ndarray, ax: Axes | None = None, class_names: Sequence[str] | None = None) -> Axes:
    """A confusion matrix (rows: true class, columns: predicted), counts written in the cells. C (K, K)."""
    C = np.asarray(C)
    ax = new_axes(ax, figsize=(4.5, 4.0))
    ax.imshow(C, cmap="Blues")
    K = C.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(K)]
    ax.set_xticks(range(K), names)
    ax.set_yticks(range(K), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = C.max() if C.size else 0
    for i in range(K):
        for j in range(K):
            if C[i, j]:
                ax.text(j, i, str(C[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if C[i, j] > top / 2 else "black")
    ax.grid(False)
    return ax


# ------------------------------------------------------------------------------------------
# notebook 09 (vanishing and exploding gradients)
def _finite(v) -> np.ndarray:
    """float64 values with inf replaced by NaN (a gap in the line, not a warning)."""
    a = np.asarray(v, dtype=np.float64).copy()
    a[~np.isfinite(a)] = np.nan
    return a


def layer_profile(values: Mapping[str, Sequence[float]] | Sequence[float], ax: Axes | None = None, log: bool = True,
                  ylabel: str = "", xlabel: str = "layer l") -> Axes:
    r"""Any per-layer quantity (a gradient norm, $\mathrm{Var}(z^l)$, a Jacobian product's norm) against l = 1..L.

    values: one sequence (L,) or a dict ``{label: (L,)}``; non-finite values leave a gap.
    """
    ax = new_axes(ax)
    data = dict(values) if isinstance(values, Mapping) else {"": values}
    for i, (label, v) in enumerate(data.items()):
        v = _finite(v)
        ax.plot(np.arange(1, v.size + 1), v, marker="o", ms=3.5, label=label or None, color=COLORS[i % len(COLORS)])
    if log and all(np.all(_finite(v)[~np.isnan(_finite(v))] > 0) for v in data.values()):
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if any(data):
        ax.legend(fontsize=8)
    return ax


def gradient_panel(norms: Mapping[str, Sequence[float]], losses: Mapping[str, Sequence[float]],
                   title: str = "", baseline: float | None = None) -> Figure:
    r"""Two panels: per-layer gradient norms at initialisation (left, ``{label: (L,)}``) and the cost
    during training (right, ``{label: (steps+1,)}``, log scale; ``baseline``: a dashed reference line).
    """
    with plt.rc_context(STYLE):
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    for ax in (left, right):
        _style(ax)
    layer_profile(norms, ax=left, ylabel="gradient norm")
    left.set_title("per-layer gradient norms at the start")
    for i, (label, v) in enumerate(losses.items()):
        v = _finite(v)
        right.plot(np.arange(v.size), v, label=label or None, color=COLORS[i % len(COLORS)], lw=1.6)
    if baseline is not None:
        right.axhline(baseline, color="black", alpha=0.6, ls="--", lw=1, label="predict the mean")
        right.set_ylim(top=30 * baseline)
    right.set_yscale("log")
    right.set_xlabel("gradient-descent step")
    right.set_ylabel("cost C")
    right.set_title("training")
    right.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


# ------------------------------------------------------------------------------------------
# notebook 11 (backprop through time)
def time_profile(values: Mapping[str, Sequence[float]] | Sequence[float], ax: Axes | None = None, log: bool = True,
                 ylabel: str = "", xlabel: str = "time step t", start: int = 1) -> Axes:
    r"""A quantity per time step (e.g. $\lVert \partial C/\partial h_t \rVert$) against t = start, start+1, ...

    values: one sequence (T,) or a dict ``{label: (T,)}``; non-finite values leave a gap.
    """
    ax = new_axes(ax, figsize=(6.0, 3.6))
    data = dict(values) if isinstance(values, Mapping) else {"": values}
    for i, (label, v) in enumerate(data.items()):
        v = _finite(v)
        ax.plot(np.arange(start, start + v.size), v, label=label or None, color=COLORS[i % len(COLORS)], lw=1.6)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if any(data):
        ax.legend(fontsize=8)
    return ax


def unrolled_rnn(T: int = 4, ax: Axes | None = None) -> Axes:
    r"""A diagram of an Elman network unrolled over T steps: $x_t \to h_t \to \hat y_t$, $h_{t-1} \to h_t$."""
    ax = new_axes(ax, figsize=(1.7 * T + 1.6, 2.8))
    ax.grid(False)
    ax.axis("off")

    def box(x, y, text, color):
        ax.text(x, y, text, ha="center", va="center", fontsize=11,
                bbox={"boxstyle": "round,pad=0.35", "fc": color, "ec": "0.3", "lw": 0.8})

    def arrow(x0, y0, x1, y1, label=""):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->", "color": "0.25", "lw": 1.1})
        if label:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, label, ha="center", fontsize=8, color="0.3")

    box(0, 1, "$h_0$", "#e8eef7")
    for t in range(1, T + 1):
        x = 1.7 * t
        box(x, 0, f"$x_{t}$", "#f3f3f3")
        box(x, 1, f"$h_{t}$", "#e8eef7")
        box(x, 2, rf"$\hat y_{t}$", "#fbeaea")
        arrow(x, 0.25, x, 0.75, "")
        arrow(x, 1.25, x, 1.75, "")
        arrow(x - 1.7 + 0.3, 1, x - 0.3, 1, "$W_{hh}$")
    ax.text(1.7 + 0.15, 0.5, "$W_{xh}$", fontsize=8, color="0.3")
    ax.text(1.7 + 0.15, 1.5, "$W_{hy}$", fontsize=8, color="0.3")
    ax.set_xlim(-0.6, 1.7 * T + 0.6)
    ax.set_ylim(-0.5, 2.5)
    return ax


__all__ += ["gradient_panel", "layer_profile", "time_profile", "unrolled_rnn"]


# -- notebook 06 (backprop in matrix form): how the work grows --------------------------------
from matplotlib.ticker import NullLocator

__all__ += ["scaling"]


def scaling(x: Sequence[float], series: Mapping[str, Sequence[float]], ax: Axes | None = None,
            xlabel: str = "n", ylabel: str = "seconds", slopes: Sequence[int] | Mapping[int, str] = (),
            var: str = "n", logx: bool = True, title: str | None = None) -> Axes:
    r"""Cost against size on log-log axes: one line with markers per series, and a dotted guide line
    $\propto$ ``var``$^k$ for each k in ``slopes``, through the last point of the first series, or
    of the series that ``slopes`` maps k to (``{2: "reverse", 3: "forward"}``).

    x (k,) sizes, series: ``{label: (k,) positive values}`` -> Axes. The sizes are the x ticks.
    """
    ax = new_axes(ax)
    xs = np.asarray(x, dtype=np.float64)
    data = {label: np.asarray(v, dtype=np.float64) for label, v in series.items()}
    for label, v in data.items():
        if v.shape != xs.shape:
            raise ValueError(f"series {label!r} has {v.size} values for {xs.size} sizes")
    markers = "osD^v<>"
    for i, (label, v) in enumerate(data.items()):
        ax.plot(xs, v, marker=markers[i % len(markers)], label=label, color=COLORS[i % len(COLORS)], lw=1.6)
    anchors = dict(slopes) if isinstance(slopes, Mapping) else {k: next(iter(data), None) for k in slopes}
    for k, label in anchors.items():
        if label not in data:
            raise ValueError(f"no series {label!r} to draw the guide of slope {k} through")
        v = data[label]
        power = var if k == 1 else f"{var}^{{{k}}}"
        ax.plot(xs, v[-1] * (xs / xs[-1]) ** k, ":", color=COLORS[-1], lw=1.2, label=rf"$\propto {power}$ (guide)")
    ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
        ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


# ------------------------------------------------------------------------------------------
# notebook 08 (training): optimisers' paths on a cost surface, decision boundaries as training goes on
__all__ += ["boundary_snapshots", "contour_paths"]


def contour_paths(f: Callable[[np.ndarray], np.ndarray], paths: Mapping[str, Sequence], xlim: tuple[float, float],
                  ylim: tuple[float, float], ax: Axes | None = None, levels: int | Sequence[float] = 14,
                  minimum: Sequence[float] | None = None) -> Axes:
    r"""Contours of a cost $f(\theta_1, \theta_2)$ with optimisers' paths drawn on them.

    f: (2, k) points -> (k,) costs; paths: ``{label: (steps + 1, 2) points}``; minimum: (2,) marked by a star.
    """
    ax = new_axes(ax, figsize=(5.0, 4.2))
    g0, g1 = np.meshgrid(np.linspace(*xlim, 160), np.linspace(*ylim, 160))
    F = np.asarray(f(np.vstack([g0.ravel(), g1.ravel()]))).reshape(g0.shape)
    if isinstance(levels, int):
        lo, hi = float(F.min()), float(np.quantile(F, 0.9))
        levels = lo + (hi - lo) * np.linspace(0.0, 1.0, levels) ** 2
    ax.contour(g0, g1, F, levels=levels, colors="0.75", linewidths=0.8)
    for i, (label, P) in enumerate(paths.items()):
        P = np.asarray(P, dtype=np.float64)
        ax.plot(P[:, 0], P[:, 1], "o-", ms=2.5, lw=1.3, color=COLORS[i % len(COLORS)], label=label)
    if minimum is not None:
        ax.plot(*minimum, "k*", ms=11)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.grid(False)
    if paths:
        ax.legend(fontsize=8, loc="upper right")
    return ax


def boundary_snapshots(predicts: Mapping[str, Callable[[np.ndarray], np.ndarray]], X: np.ndarray,
                       Y: np.ndarray | None = None, ncols: int = 4, size: float = 2.8, resolution: int = 120) -> Figure:
    """One :func:`decision_boundary` panel per snapshot, titled by its key (e.g. "epoch 10").

    predicts: ``{title: predict}`` with predict (2, k) -> (1, k) or (K, k); X (2, m), Y as for
    :func:`decision_boundary` -> Figure.
    """
    k = len(predicts)
    ncols = max(1, min(ncols, k))
    nrows = -(-k // ncols)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False,
                                 layout="constrained")
    for ax, (title, predict) in zip(axes.flat, predicts.items()):
        decision_boundary(predict, X, Y, ax=ax, resolution=resolution)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[k:]:
        ax.axis("off")
    return fig


# ------------------------------------------------------------------------------------------
# notebook 10 (beyond plain backprop): accuracy against bits, the hidden-size sweep
__all__ += ["accuracy_vs_bits", "size_sweep"]


def accuracy_vs_bits(bits: Sequence[int], accuracies: Mapping[str, Sequence[float]], reference: float | None = None,
                     ax: Axes | None = None) -> Axes:
    """Test accuracy against the number of bits per weight, one line per calibration.

    bits (k,); accuracies ``{label: (k,) in [0, 1]}``; reference: the float network's accuracy (dashed).
    """
    ax = new_axes(ax)
    for i, (label, acc) in enumerate(accuracies.items()):
        ax.plot(bits, 100 * np.asarray(acc, dtype=np.float64), "o-", color=COLORS[i % len(COLORS)], label=label)
    if reference is not None:
        ax.axhline(100 * reference, color="0.4", ls="--", lw=1, label="float64 weights")
    ax.set_xlabel("bits per weight")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xticks(list(bits))
    if min(bits) < max(bits):
        ax.set_xlim(max(bits) + 0.3, min(bits) - 0.3)      # fewer bits to the right
    ax.legend(fontsize=8)
    return ax


def size_sweep(sizes: Sequence[int], train: np.ndarray, val: np.ndarray, chosen: int | None = None,
               ax: Axes | None = None, log: bool = True) -> Axes:
    """Training and validation cost against the hidden size: each seed a dot, the mean over seeds a line.

    sizes (S,), train (S, K), val (S, K); chosen: the selected size (marked).
    """
    ax = new_axes(ax)
    sizes_arr = np.asarray(sizes, dtype=np.float64)
    for i, (label, T) in enumerate((("training", train), ("validation", val))):
        T = np.asarray(T, dtype=np.float64)
        c = COLORS[i]
        ax.plot(np.repeat(sizes_arr, T.shape[1]), T.ravel(), ".", color=c, alpha=0.45, ms=5)
        ax.plot(sizes_arr, T.mean(axis=1), "-", color=c, lw=1.8, label=f"{label} (mean over seeds)")
    if chosen is not None:
        ax.axvline(chosen, color="0.3", ls=":", lw=1.2, label=f"chosen: {chosen}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(sizes), [str(n) for n in sizes])
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("hidden units")
    ax.set_ylabel("cost $C$")
    ax.legend(fontsize=8)
    return ax


# ---- notebook 02: computational graphs -------------------------------------------------------
__all__ += ["draw_graph"]  # appended here, so each notebook's additions stay in its own block


def _graph_nodes(root) -> list:
    """Every node of ``root``'s graph once, parents before children (an iterative search, so a
    deep graph does not reach Python's recursion limit)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            order.append(v)
        elif id(v) not in seen:
            seen.add(id(v))
            stack.append((v, True))
            stack.extend((p, False) for p in reversed(tuple(v.prev)) if id(p) not in seen)
    return order


def draw_graph(root, ax: Axes | None = None, title: str | None = None, max_nodes: int = 60) -> Axes:
    """Draw the computational graph that ends at ``root``: inputs (leaves, green) on the left,
    the root on the right. A box is a node (its label, ``data`` and ``grad``); a circle is the
    operation that made the box it points to.

    root: any node with ``data``, ``grad``, ``prev`` (its parents), ``op`` and ``label``, such as
    notebook 02's ``Value`` or :class:`backproplab.autodiff.Value`. Graphs of more than
    ``max_nodes`` nodes are refused (a drawing that size is unreadable).
    """
    nodes = _graph_nodes(root)
    if len(nodes) > max_nodes:
        raise ValueError(f"draw_graph: {len(nodes)} nodes is more than the {max_nodes} a drawing can show")
    depth: dict[int, int] = {}
    for v in nodes:                    # column = the longest path from an input
        depth[id(v)] = 1 + max((depth[id(p)] for p in v.prev), default=-1)
    for v in nodes:                    # an input sits just left of its first use
        if not v.prev:
            uses = [depth[id(c)] for c in nodes if any(p is v for p in c.prev)]
            depth[id(v)] = min(uses, default=1) - 1
    columns: dict[int, list] = {}
    for v in nodes:
        columns.setdefault(depth[id(v)], []).append(v)
    pos = {id(v): (3.0 * d, 1.15 * ((len(vs) - 1) / 2 - k)) for d, vs in columns.items() for k, v in enumerate(vs)}
    if ax is None:
        with plt.rc_context(STYLE):
            _, ax = plt.subplots(figsize=(1.75 * len(columns) + 0.6, 0.95 * max(map(len, columns.values())) + 0.9),
                                 layout="constrained")
    arrow = {"arrowstyle": "-|>", "color": "0.4", "lw": 1.0, "mutation_scale": 10}
    for v in nodes:
        x, y = pos[id(v)]
        if v.prev:
            ox = x - 1.25
            for k, p in enumerate(v.prev):
                px, py = pos[id(p)]
                skip = depth[id(v)] - depth[id(p)] > 1            # an edge that jumps a column: curve it
                bend = 0.3 * k if sum(q is p for q in v.prev) > 1 else (-0.3 if skip else 0.0)
                ax.annotate("", xy=(ox, y), xytext=(px + 0.5, py), zorder=1,
                            arrowprops={**arrow, "shrinkB": 11, "connectionstyle": f"arc3,rad={bend}"})
            ax.annotate("", xy=(x - 0.52, y), xytext=(ox, y), zorder=1, arrowprops={**arrow, "shrinkA": 11})
            ax.scatter([ox], [y], s=560, c="#fde9c9", edgecolors="#d08a1d", zorder=3)
            ax.text(ox, y, v.op, ha="center", va="center", fontsize=10 if len(v.op) < 3 else 7.5, zorder=4)
        head = f"{v.label}\n" if v.label else ""
        ax.text(x, y, f"{head}data {v.data:.3g}\ngrad {v.grad:.3g}", ha="center", va="center", fontsize=8.5,
                zorder=3, bbox={"boxstyle": "round,pad=0.35", "fc": "#e8f0fb" if v.prev else "#eaf6e6",
                      "ec": "#4a78b5" if v.prev else "#4c9a3f"})
    xs, ys = zip(*pos.values())
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 0.75, max(ys) + 0.75)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
