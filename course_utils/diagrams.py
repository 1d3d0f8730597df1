"""Diagrams of the course's models, drawn with matplotlib so they show wherever a notebook runs.

Each function returns its figure (nothing is read from disk, so Colab, Binder and papermill all
render them) and labels every box with the words the notebooks use.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from .plotting import HIT_COLOUR, MISS_COLOUR

BOX = "#DDEBF7"
SHARED = "#FFF2CC"


def _canvas(width: float, height: float, title: str) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    ax.set_title(title, fontsize=11)
    return fig, ax


def _box(ax: Axes, x: float, y: float, w: float, h: float, text: str, colour: str = BOX) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05",
                                facecolor=colour, edgecolor="black", linewidth=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=9)


def _arrow(ax: Axes, start: Sequence[float], end: Sequence[float], text: str = "",
           style: str = "-|>", colour: str = "black") -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=colour,
                                 linewidth=1.2, shrinkA=2, shrinkB=2))
    if text:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.12, text, ha="center",
                fontsize=8, color=colour)


def twin_towers(distance: str = "Euclidean distance", loss: str = "contrastive loss",
                inputs: tuple[str, str] = ("image 1", "image 2")) -> Figure:
    """Draw a Siamese network: two inputs, one tower with shared weights, a distance, a loss."""
    fig, ax = _canvas(9.0, 3.4, "A Siamese network: twin towers, one set of weights")
    for y, name, side in ((2.6, inputs[0], "embedding 1"), (0.8, inputs[1], "embedding 2")):
        _box(ax, 0.9, y, 1.3, 0.6, name)
        _box(ax, 3.0, y, 1.6, 0.7, "tower", SHARED)
        _box(ax, 5.0, y, 1.4, 0.6, side)
        _arrow(ax, (1.6, y), (2.15, y))
        _arrow(ax, (3.85, y), (4.25, y))
        _arrow(ax, (5.75, y), (6.45, 1.7 + (y - 1.7) * 0.35))
    _arrow(ax, (3.0, 2.2), (3.0, 1.2), "same weights", style="<|-|>", colour="#555555")
    _box(ax, 7.0, 1.7, 1.1, 0.7, distance.replace(" ", "\n"))
    _box(ax, 8.4, 1.7, 1.0, 0.7, loss.replace(" ", "\n"), SHARED)
    _arrow(ax, (7.6, 1.7), (7.85, 1.7))
    ax.text(8.4, 0.95, "label y:\n1 similar, 0 dissimilar", ha="center", va="top", fontsize=8)
    return fig


def contrastive_vs_triplet(margin: float = 1.0) -> Figure:
    """Draw what each loss asks of an embedding: pairs against a margin, triplets against each other."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 4.0))
    for ax in (left, right):
        ax.set_xlim(-2.2, 2.2)
        ax.set_ylim(-2.2, 2.2)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    left.set_title("contrastive: one pair at a time", fontsize=10)
    left.add_patch(Circle((0, 0), margin, fill=False, linestyle="--", color="grey"))
    left.text(0, margin + 0.1, f"margin {margin:g}", ha="center", fontsize=8, color="grey")
    left.plot(0, 0, "ko")
    left.text(0, -0.3, "image", ha="center", fontsize=8)
    for (x, y), colour, text in (((0.55, 0.45), HIT_COLOUR, "similar: pulled in"),
                                 ((-0.75, 0.2), MISS_COLOUR, "dissimilar:\npushed out"),
                                 ((1.5, -1.4), MISS_COLOUR, "dissimilar beyond\nthe margin: left alone")):
        left.plot(x, y, "o", color=colour)
        left.text(x, y + 0.18, text, ha="center", fontsize=8, color=colour)
    _arrow(left, (0.55, 0.45), (0.2, 0.16), colour=HIT_COLOUR)
    _arrow(left, (-0.75, 0.2), (-1.25, 0.33), colour=MISS_COLOUR)
    right.set_title("triplet: anchor nearer its positive than its negative", fontsize=10)
    anchor, positive, negative = np.array([0, 0]), np.array([0.9, 0.5]), np.array([-0.7, 0.8])
    for point, colour, text in ((anchor, "black", "anchor"), (positive, HIT_COLOUR, "positive"),
                                (negative, MISS_COLOUR, "negative")):
        right.plot(*point, "o", color=colour)
        right.text(point[0], point[1] + 0.15, text, ha="center", fontsize=8, color=colour)
    right.plot(*zip(anchor, positive), color=HIT_COLOUR)
    right.plot(*zip(anchor, negative), color=MISS_COLOUR, linestyle="--")
    right.text(0, -1.5, "loss = max(0, d(a, p) + margin - d(a, n))\n"
               "zero once the negative is a margin farther than the positive",
               ha="center", fontsize=8)
    fig.tight_layout()
    return fig


def encoder_decoder(code_size: int = 32, image_size: int = 32) -> Figure:
    """Draw an autoencoder: an encoder squeezing an image into a code, a decoder rebuilding it."""
    fig, ax = _canvas(10.0, 3.4, "An autoencoder: the code is the search key")
    _box(ax, 0.8, 1.7, 1.2, 1.2, f"image\n{image_size}x{image_size}x3")
    for k, x in enumerate((2.2, 2.95, 3.7)):
        _box(ax, x, 1.7, 0.6, 1.6 - 0.4 * k, "conv")
    _box(ax, 4.95, 1.7, 0.9, 0.5, f"code\n{code_size}", SHARED)
    for k, x in enumerate((6.2, 6.95, 7.7)):
        _box(ax, x, 1.7, 0.6, 0.8 + 0.4 * k, "up-\nconv")
    _box(ax, 9.1, 1.7, 1.2, 1.2, "rebuilt\nimage")
    for start, end in ((1.45, 1.85), (4.05, 4.45), (5.45, 5.85), (8.05, 8.45)):
        _arrow(ax, (start, 1.7), (end, 1.7))
    ax.text(2.95, 0.65, "encoder", ha="center", fontsize=9)
    ax.text(6.95, 0.65, "decoder", ha="center", fontsize=9)
    ax.text(4.95, 2.55, "nearest codes =\nretrieved images", ha="center", fontsize=8)
    ax.text(5.0, 0.15, "training: the rebuilt image should match the image (mean squared error)",
            ha="center", fontsize=8)
    return fig


def one_shot_run(n_way: int = 20, shown: int = 6) -> Figure:
    """Draw one trial of a one-shot run: a query, ``n_way`` candidates, the best-scoring one wins."""
    if not 2 <= shown <= n_way:
        raise ValueError(f"shown must lie between 2 and n_way ({n_way}), got {shown}")
    fig, ax = _canvas(9.0, 3.4, f"One trial of a {n_way}-way one-shot run")
    _box(ax, 0.9, 1.9, 1.2, 0.9, "query\n(new drawer)", SHARED)
    _arrow(ax, (1.55, 1.9), (2.45, 1.9), "score each")
    xs = np.linspace(3.1, 8.3, shown)
    numbers = list(range(1, shown - 1)) + [None, n_way] if n_way > shown else list(range(1, shown + 1))
    for k, (x, number, score) in enumerate(zip(xs, numbers, np.linspace(0.9, 0.1, shown))):
        _box(ax, x, 2.4, 0.85, 0.6, "..." if number is None else f"candidate\n{number}")
        if number is not None:
            ax.text(x, 1.6, f"score {score:.2f}", ha="center", fontsize=8,
                    color=HIT_COLOUR if k == 0 else "black")
    ax.text(5.7, 3.0, f"{n_way} characters, one drawing each", ha="center", fontsize=8)
    ax.text(xs[0], 0.9, "highest score: the answer\n(right if it is the query's character)",
            ha="center", fontsize=8, color=HIT_COLOUR)
    return fig


def learning_path(lessons: Sequence) -> Figure:
    """Draw the course's lessons left to right, an arrow from each lesson to those that build on it.

    ``lessons`` are :class:`course_utils.syllabus.Lesson` entries: a solid arrow means "builds on"
    (read first), a dashed one "useful background". Lessons at one depth share a column.
    """
    from .syllabus import depth

    columns: dict[int, list] = {}
    for entry in lessons:
        columns.setdefault(depth(entry.stem, lessons), []).append(entry)
    width, height = 2.9 * len(columns) + 0.2, 1.5 * max(len(c) for c in columns.values()) + 1.2
    fig, ax = _canvas(width, height, "The learning path: read left to right")
    where = {}
    for level, entries in columns.items():
        for k, entry in enumerate(entries):
            y = height / 2 + 0.75 * (len(entries) - 1) - 1.5 * k
            where[entry.stem] = (1.35 + 2.9 * level, y)
    for entry in lessons:
        x, y = where[entry.stem]
        _box(ax, x, y, 2.2, 0.8, f"{entry.number}\n{entry.short}\n{entry.study_hours:g} h study",
             SHARED if not entry.builds_on else BOX)
        arrows = [(s, "-") for s in entry.builds_on] + [(s, "--") for s in entry.background]
        for earlier, style in arrows:
            x0, y0 = where[earlier]
            ax.add_patch(FancyArrowPatch((x0 + 1.15, y0), (x - 1.15, y), arrowstyle="-|>",
                                         mutation_scale=12, linewidth=1.2, linestyle=style,
                                         color="black" if style == "-" else "#555555"))
    ax.text(0.2, 0.25, "solid arrow: builds on (read first)    dashed: useful background",
            fontsize=8, va="bottom")
    return fig
