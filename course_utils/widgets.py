"""Knobs to turn: a slider that redraws a figure and its numbers as it moves.

A knob first shows its starting value as ordinary output (a figure, a line of numbers), so
papermill, nbval and a static notebook viewer show real results. (``ipywidgets.interact`` would
draw it inside an ``Output`` widget, which papermill keeps only in the notebook's widget state.)
Below that comes the control with an output area it redraws (an ``Output``: JupyterLab shows a
callback's output only there). A frontend that cannot draw widgets shows the control's one-line
note instead, and without ipywidgets the knob shows a note in its place. Nothing waits for the
control: the cell finishes at once.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Pretty, display
from matplotlib.figure import Figure

from .metrics import verify
from .plotting import plot_confusion

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NO_IPYWIDGETS = ("ipywidgets is not installed, so the output above stays at its starting value "
                 "(pip install ipywidgets for the {what})")


def show(outputs: Sequence[Any]) -> None:
    """Display figures, lines of text and tables in order, closing each figure once shown."""
    for item in outputs:
        if isinstance(item, Figure):
            display(item)
            plt.close(item)  # else matplotlib-inline shows it a second time at the end of the cell
        else:
            display(Pretty(item) if isinstance(item, str) else item)


def knob(draw: Callable[[Any], Sequence[Any]], start: Any,
         control: Callable[[Any], Any], what: str) -> Any | None:
    """Show ``draw(start)``, then a control that redraws below it (None without ipywidgets)."""
    show(draw(start))
    try:
        import ipywidgets
    except ImportError:
        display(Pretty(NO_IPYWIDGETS.format(what=what)))
        return None
    widget, output = control(ipywidgets), ipywidgets.Output()

    def redraw(change: dict) -> None:
        with output:
            output.clear_output(wait=True)
            show(draw(change["new"]))

    widget.observe(redraw, names="value")
    box = ipywidgets.VBox([widget, output])
    bundle = box._repr_mimebundle_() or {}
    note = f"[{what}: move it in Jupyter with a running kernel; above is its starting value]"
    display({**bundle, "text/plain": note}, raw=True)  # the note: for frontends without widgets
    return box


def confusion_at(distances: Sequence[float], is_similar: Sequence[bool], threshold: float,
                 title: str) -> list[Any]:
    """Return the numbers line and the confusion matrix of 'similar when distance <= threshold'."""
    decision = verify(distances, is_similar, threshold)
    matrix = np.array([[decision.tp, decision.fn], [decision.fp, decision.tn]])
    numbers = (f"threshold {decision.threshold:.3f}: accuracy {decision.accuracy:.3f}, "
               f"precision {decision.precision:.3f}, recall {decision.recall:.3f} "
               f"({len(np.ravel(is_similar))} pairs)")
    return [numbers, plot_confusion(matrix, ["similar", "dissimilar"],
                                    f"{title} (threshold {decision.threshold:.3f})")]


def threshold_slider(distances: Sequence[float], is_similar: Sequence[bool], threshold: float,
                     title: str) -> Any | None:
    """Show the numbers and confusion matrix at ``threshold`` and a slider that moves them.

    Raises:
        ValueError: distances and labels differ in length, are empty, or a distance is not finite.
    """
    distances = np.asarray(distances, dtype=np.float64).ravel()

    def slider(ipywidgets: Any) -> Any:  # called after the first drawing has checked the distances
        low, high = min(distances.min(), threshold), max(distances.max(), threshold)
        step = float(f"{(high - low) / 200:.1g}") or 0.001
        return ipywidgets.FloatSlider(value=threshold, min=low, max=high, step=step,
                                      description="threshold", readout_format=".3f",
                                      continuous_update=False)

    return knob(lambda value: confusion_at(distances, is_similar, value, title), threshold, slider,
                "threshold slider")


def index_slider(draw: Callable[[int], Sequence[Any]], count: int, start: int = 0,
                 description: str = "query") -> Any | None:
    """Show ``draw(start)`` with a slider over the indices 0 to count - 1 (None without ipywidgets).

    Raises:
        ValueError: ``start`` is not one of the indices.
    """
    if not 0 <= start < count:
        raise ValueError(f"start={start} is out of range: choose 0 <= start < {count}")

    def slider(ipywidgets: Any) -> Any:
        return ipywidgets.IntSlider(value=start, min=0, max=count - 1, description=description,
                                    continuous_update=False)

    return knob(draw, start, slider, f"{description} slider")
