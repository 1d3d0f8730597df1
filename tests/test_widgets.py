"""course_utils.widgets: a knob shows its starting value as plain output, redraws when moved."""

import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from course_utils import widgets
from course_utils.metrics import verify

# Four similar pairs (True) and four dissimilar ones, by distance.
DISTANCES = np.array([0.1, 0.2, 0.3, 0.9, 0.4, 0.6, 0.7, 0.8])
SIMILAR = np.array([True, True, True, True, False, False, False, False])


@pytest.fixture
def shown(monkeypatch):
    """Everything the widgets module displays, in order (text as str, figures, raw bundles)."""
    items = []

    def record(item, raw=False):
        items.append(item.data if isinstance(item, widgets.Pretty) else item)

    monkeypatch.setattr(widgets, "display", record)
    yield items
    plt.close("all")


def matrix_of(figure: Figure) -> list[int]:
    """The four counts annotated on a confusion-matrix figure, row by row."""
    return [int(float(t.get_text())) for t in figure.axes[0].texts]


def test_confusion_at_reports_the_decisions_at_the_threshold():
    numbers, figure = widgets.confusion_at(DISTANCES, SIMILAR, 0.5, "test pairs")
    expected = verify(DISTANCES, SIMILAR, 0.5)
    assert (expected.tp, expected.fn, expected.fp, expected.tn) == (3, 1, 1, 3)
    assert numbers == ("threshold 0.500: accuracy 0.750, precision 0.750, recall 0.750 (8 pairs)")
    assert matrix_of(figure) == [3, 1, 1, 3]
    assert "threshold 0.500" in figure.axes[0].get_title()
    plt.close(figure)


def test_moving_the_threshold_up_finds_more_similar_pairs_and_changes_accuracy():
    low_numbers, low = widgets.confusion_at(DISTANCES, SIMILAR, 0.35, "test pairs")
    high_numbers, high = widgets.confusion_at(DISTANCES, SIMILAR, 0.95, "test pairs")
    assert matrix_of(low) == [3, 1, 0, 4]     # 0.35: three similar found, no dissimilar taken
    assert matrix_of(high) == [4, 0, 4, 0]    # 0.95: every pair called similar
    assert "accuracy 0.875" in low_numbers and "accuracy 0.500" in high_numbers
    assert "recall 1.000" in high_numbers
    plt.close("all")


def test_threshold_slider_shows_its_start_then_redraws_below_the_slider_when_moved(shown):
    box = widgets.threshold_slider(DISTANCES, SIMILAR, 0.5, "test pairs")
    numbers, figure, control = shown
    assert numbers.startswith("threshold 0.500: accuracy 0.750") and isinstance(figure, Figure)
    assert widgets.WIDGET_VIEW in control and "threshold slider" in control["text/plain"]
    assert not plt.get_fignums(), "a shown figure stays open and would be drawn twice"
    slider, output = box.children
    assert (slider.value, slider.min, slider.max) == (0.5, 0.1, 0.9)

    slider.value = 0.35
    moved_numbers, moved_figure = shown[3:]
    assert moved_numbers.startswith("threshold 0.350: accuracy 0.875")
    assert matrix_of(moved_figure) == [3, 1, 0, 4]
    assert not plt.get_fignums()


def test_without_ipywidgets_the_knob_keeps_its_starting_output_and_says_why(shown, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now raises ImportError
    assert widgets.threshold_slider(DISTANCES, SIMILAR, 0.5, "test pairs") is None
    numbers, figure, note = shown
    assert numbers.startswith("threshold 0.500: accuracy 0.750") and isinstance(figure, Figure)
    assert note.startswith("ipywidgets is not installed") and "\n" not in note


def test_index_slider_draws_the_start_and_each_picked_index(shown):
    box = widgets.index_slider(lambda i: [f"query {i}"], 5, start=2)
    assert shown[0] == "query 2"
    box.children[0].value = 4
    assert shown[-1] == "query 4"
    assert (box.children[0].min, box.children[0].max) == (0, 4)


def test_index_slider_refuses_a_start_outside_the_indices():
    with pytest.raises(ValueError, match="start=5 is out of range: choose 0 <= start < 5"):
        widgets.index_slider(lambda i: [], 5, start=5)


def test_threshold_slider_refuses_distances_without_a_label_each(shown):
    with pytest.raises(ValueError, match="must be 1-D and the same length"):
        widgets.threshold_slider(DISTANCES, SIMILAR[:-1], 0.5, "test pairs")
