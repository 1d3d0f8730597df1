"""Figures the notebooks share: pairs, image grids, training history, ROC, distance histograms.

Every function builds its own figure and returns it, so it works headless (Agg) in tests and
papermill runs and shows inline in Jupyter.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .labels import NAMES


def _show(ax, image: np.ndarray, title: str | None = None) -> None:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 1)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0,
              vmax=255 if image.dtype == np.uint8 else 1)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def show_images(images: Sequence[np.ndarray], titles: Sequence[str] | None = None,
                ncols: int = 8, size: float = 1.6, title: str | None = None) -> Figure:
    """Draw images in a grid with optional per-image titles."""
    n = len(images)
    if n == 0:
        raise ValueError("no images to show")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.4),
                             squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for i, ax in enumerate(axes.ravel()[:n]):
        _show(ax, images[i], titles[i] if titles is not None else None)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_pairs(left: Sequence[np.ndarray], right: Sequence[np.ndarray],
               labels: Sequence[int] | None = None, scores: Sequence[float] | None = None,
               names: Mapping[int, str] = NAMES, title: str | None = None,
               size: float = 1.8) -> Figure:
    """Draw pairs as columns (left image above right image), captioned by label and score."""
    n = len(left)
    if n == 0 or n != len(right):
        raise ValueError(f"need the same, non-zero number of left and right images, got "
                         f"{len(left)} and {len(right)}")
    fig, axes = plt.subplots(2, n, figsize=(size * n, 2 * size + 0.6), squeeze=False)
    for i in range(n):
        caption = []
        if labels is not None:
            caption.append(names.get(int(labels[i]), str(labels[i])))
        if scores is not None:
            caption.append(f"{scores[i]:.3f}")
        _show(axes[0, i], left[i], " ".join(caption) or None)
        _show(axes[1, i], right[i])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(history: Mapping[str, Sequence[float]], title: str = "Training history") -> Figure:
    """Plot every metric of a Keras ``History.history`` against epochs, train and val together."""
    history = getattr(history, "history", history)
    names = [k for k in history if not k.startswith("val_")]
    if not names:
        raise ValueError("the history holds no metric")
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], marker="o", label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_roc(curves: Mapping[str, tuple[Sequence[float], Sequence[bool]]],
             title: str = "ROC curve (similar = positive)") -> Figure:
    """Plot ROC curves of distance scores, one per model: {name: (distances, is_similar)}."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for name, (distances, is_similar) in curves.items():
        scores = -np.asarray(distances, dtype=float)
        fpr, tpr, _ = roc_curve(is_similar, scores)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(is_similar, scores):.3f})")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_distance_histogram(distances: Sequence[float], is_similar: Sequence[bool],
                            threshold: float | None = None,
                            title: str = "Distances by pair label") -> Figure:
    """Plot the distance distribution of similar and dissimilar pairs, with the threshold."""
    import seaborn as sns

    distances = np.asarray(distances, dtype=float)
    is_similar = np.asarray(is_similar, dtype=bool)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    kinds = np.where(is_similar, "similar", "dissimilar")
    sns.histplot(x=distances, hue=kinds, hue_order=["similar", "dissimilar"], bins=40,
                 element="step", stat="density", common_norm=False, ax=ax)
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
        ax.text(threshold, ax.get_ylim()[1] * 0.95, f" threshold {threshold:.3f}", fontsize=8,
                va="top")
    ax.set_xlabel("distance")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_confusion(matrix: np.ndarray, labels: Sequence[str], title: str = "Confusion matrix",
                   normalize: bool = False) -> Figure:
    """Draw a confusion matrix (rows: truth, columns: prediction) as an annotated heat map."""
    import seaborn as sns

    matrix = np.asarray(matrix, dtype=float)
    if normalize:
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    side = max(3.5, 0.45 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(side, side * 0.85))
    sns.heatmap(matrix, annot=True, fmt=".2f" if normalize else ".0f", cmap="Blues",
                xticklabels=labels, yticklabels=labels, cbar=False, ax=ax)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    return fig


# Okabe-Ito blue and orange: told apart with every common colour-vision deficiency.
HIT_COLOUR, MISS_COLOUR = "#0072B2", "#E69F00"
HIT_MARK, MISS_MARK = "\u2713", "\u2717"


def show_retrieval(queries: Sequence[np.ndarray], results: Sequence[Sequence[np.ndarray]],
                   hits: Sequence[Sequence[bool]] | None = None,
                   query_titles: Sequence[str] | None = None, size: float = 1.3,
                   title: str | None = None) -> Figure:
    """Draw one row per query and its ranked results: hits solid blue and ticked, misses dashed orange."""
    n, k = len(queries), max(len(r) for r in results)
    fig, axes = plt.subplots(n, k + 1, figsize=(size * (k + 1), size * n + 0.4), squeeze=False)
    for row in range(n):
        _show(axes[row, 0], queries[row], query_titles[row] if query_titles else "query")
        for col in range(k):
            ax = axes[row, col + 1]
            if col >= len(results[row]):
                ax.axis("off")
                continue
            if hits is None:
                _show(ax, results[row][col], f"#{col + 1}")
                continue
            hit = bool(hits[row][col])
            _show(ax, results[row][col], f"#{col + 1} {HIT_MARK if hit else MISS_MARK}")
            for spine in ax.spines.values():  # colour, line style and mark: readable without colour
                spine.set_edgecolor(HIT_COLOUR if hit else MISS_COLOUR)
                spine.set_linestyle("solid" if hit else "dashed")
                spine.set_linewidth(3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_bars(values: Mapping[str, float], title: str, xlabel: str = "",
              reference: float | None = None) -> Figure:
    """Draw a horizontal bar per named value, optionally with a reference line."""
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(values) + 1))
    names = list(values)
    ax.barh(names, [values[n] for n in names], color="tab:blue")
    for i, name in enumerate(names):
        ax.text(values[name], i, f" {values[name]:.3g}", va="center", fontsize=8)
    if reference is not None:
        ax.axvline(reference, color="black", linestyle="--")
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_similarity_matrices(matrices: Mapping[str, np.ndarray], title: str | None = None,
                             size: float = 3.4) -> Figure:
    """Draw square similarity matrices side by side as heat maps (cosine: -1 blue to 1 red)."""
    if not matrices:
        raise ValueError("no similarity matrices to show")
    for name, matrix in matrices.items():
        shape = np.shape(matrix)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"similarity matrix {name!r} must be square, got shape {shape}")
    fig, axes = plt.subplots(1, len(matrices), figsize=(size * len(matrices) + 0.8, size),
                             squeeze=False)
    for ax, (name, matrix) in zip(axes[0], matrices.items()):
        shown = ax.imshow(np.asarray(matrix), cmap="coolwarm", vmin=-1, vmax=1)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=list(axes[0]), shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig


def tsne_map(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """Return a 2-d t-SNE map of the rows of ``vectors`` (perplexity capped for small sets)."""
    from sklearn.manifold import TSNE

    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) < 4:
        raise ValueError(f"a map needs at least 4 vectors as rows of a 2-d array, got shape {vectors.shape}")
    perplexity = max(1.0, min(30.0, (len(vectors) - 1) / 3))
    return TSNE(perplexity=perplexity, init="pca", random_state=seed).fit_transform(vectors)


def plot_embedding_maps(points: Mapping[str, np.ndarray], labels: Sequence[int],
                        class_names: Sequence[str], title: str | None = None,
                        size: float = 4.2) -> Figure:
    """Scatter 2-d maps of the same items side by side, one colour per class, one shared legend."""
    if not points:
        raise ValueError("no embedding maps to show")
    labels = np.asarray(labels)
    for name, xy in points.items():
        if np.shape(xy) != (len(labels), 2):
            raise ValueError(f"map {name!r} must be ({len(labels)}, 2) points, got {np.shape(xy)}")
    fig, axes = plt.subplots(1, len(points), figsize=(size * len(points), size + 0.6),
                             squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, (name, xy) in zip(axes[0], points.items()):
        for label in np.unique(labels):
            chosen = labels == label
            ax.scatter(*np.asarray(xy)[chosen].T, s=6, color=colours(int(label) % 10),
                       label=class_names[int(label)])
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, markerscale=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
