"""The model diagrams: each draws its parts under the names the notebooks use."""

import matplotlib

matplotlib.use("Agg")

import pytest
from matplotlib.figure import Figure

from course_utils import diagrams


def texts(fig: Figure) -> str:
    return " ".join(t.get_text().replace("\n", " ") for ax in fig.axes for t in ax.texts + [ax.title])


@pytest.mark.parametrize("draw, words", [
    (lambda: diagrams.twin_towers(), ["tower", "same weights", "Euclidean distance", "contrastive loss",
                                      "1 similar, 0 dissimilar"]),
    (lambda: diagrams.twin_towers("L1 distance", "binary cross-entropy"), ["L1 distance", "binary cross-entropy"]),
    (lambda: diagrams.contrastive_vs_triplet(0.5), ["margin 0.5", "anchor", "positive", "negative"]),
    (lambda: diagrams.encoder_decoder(16), ["encoder", "code 16", "decoder", "rebuilt image"]),
    (lambda: diagrams.one_shot_run(20), ["query", "candidate 1", "candidate 20", "20-way"]),
])
def test_each_diagram_names_its_parts(draw, words):
    fig = draw()
    assert isinstance(fig, Figure)
    shown = texts(fig)
    for word in words:
        assert word in shown, f"{word!r} missing from {shown!r}"


def test_one_shot_run_refuses_more_candidates_than_the_run_has():
    with pytest.raises(ValueError, match="between 2 and n_way"):
        diagrams.one_shot_run(n_way=5, shown=6)
