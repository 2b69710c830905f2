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
