"""Plots work headless (Agg), return their figure and draw what they are given."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from course_utils import plotting

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_show_images_draws_one_axis_per_image_and_titles():
    fig = plotting.show_images(IMAGES, [f"tile {i}" for i in range(5)], ncols=3)
    assert isinstance(fig, Figure)
    visible = [ax for ax in fig.axes if ax.images]
    assert len(visible) == 5 and visible[4].get_title() == "tile 4"
    with pytest.raises(ValueError, match="no images"):
        plotting.show_images([])


def test_show_pairs_captions_labels_and_scores():
    fig = plotting.show_pairs(IMAGES[:2], IMAGES[2:4], labels=[0, 1], scores=[0.1, 0.9])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].endswith("0.100") and titles[1].endswith("0.900")
    assert titles[0] != titles[1]
    with pytest.raises(ValueError, match="same, non-zero number"):
        plotting.show_pairs(IMAGES[:2], IMAGES[:1])


def test_grayscale_and_float_images_are_drawn():
    gray = RNG.random((2, 8, 8), dtype=np.float32)
    fig = plotting.show_images(gray)
    assert fig.axes[0].images[0].get_cmap().name == "gray"


def test_plot_history_pairs_train_and_validation():
    fig = plotting.plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8]})
    assert len(fig.axes) == 2
    assert [len(line.get_xdata()) for line in fig.axes[0].lines] == [2, 2]
    with pytest.raises(ValueError, match="no metric"):
        plotting.plot_history({})


def test_plot_roc_labels_the_auc():
    fig = plotting.plot_roc({"model": ([0.1, 0.2, 0.8, 0.9], [True, True, False, False])})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0] == "model (AUC 1.000)"


def test_distance_histogram_marks_the_threshold():
    distances = np.concatenate([RNG.normal(0.2, 0.05, 50), RNG.normal(0.8, 0.05, 50)])
    fig = plotting.plot_distance_histogram(distances, np.arange(100) < 50, threshold=0.5)
    assert any(np.allclose(line.get_xdata(), 0.5) for line in fig.axes[0].lines)


def test_confusion_matrix_annotates_counts_and_normalises():
    fig = plotting.plot_confusion(np.array([[3, 1], [0, 4]]), ["a", "b"], normalize=True)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["0.75", "0.25", "0.00", "1.00"]


def test_show_retrieval_frames_hits_and_misses():
    fig = plotting.show_retrieval(IMAGES[:1], [IMAGES[1:4]], hits=[[True, False, True]])
    colours = [ax.spines["top"].get_edgecolor() for ax in fig.axes[1:]]
    assert colours[0] != colours[1] and colours[0] == colours[2]
    # colour-blind safe: a miss differs in line style and mark too, not in colour alone
    styles = [ax.spines["top"].get_linestyle() for ax in fig.axes[1:]]
    assert styles[0] != styles[1] and styles[0] == styles[2]
    marks = [ax.get_title()[-1] for ax in fig.axes[1:]]
    assert marks == [plotting.HIT_MARK, plotting.MISS_MARK, plotting.HIT_MARK]


def test_plot_bars_writes_values():
    fig = plotting.plot_bars({"seed": 0.75, "ours": 0.99}, "accuracy", reference=0.955)
    assert [t.get_text().strip() for t in fig.axes[0].texts] == ["0.75", "0.99"]


def test_similarity_matrices_are_drawn_side_by_side_on_a_fixed_scale():
    fig = plotting.plot_similarity_matrices({"before": np.eye(4), "after": -np.eye(4)}, "batch")
    maps = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in maps] == ["before", "after"]
    assert maps[0].images[0].get_clim() == (-1, 1)
    with pytest.raises(ValueError, match="square"):
        plotting.plot_similarity_matrices({"bad": np.ones((2, 3))})
    with pytest.raises(ValueError, match="no similarity"):
        plotting.plot_similarity_matrices({})


def test_embedding_maps_colour_every_class_and_check_their_points():
    labels = np.array([0, 1, 2, 1, 0])
    points = {"autoencoder": RNG.normal(size=(5, 2)), "Siamese": RNG.normal(size=(5, 2))}
    fig = plotting.plot_embedding_maps(points, labels, ["cat", "dog", "ship"], "maps")
    assert [ax.get_title() for ax in fig.axes] == ["autoencoder", "Siamese"]
    assert all(len(ax.collections) == 3 for ax in fig.axes)
    assert [t.get_text() for t in fig.axes[-1].get_legend().get_texts()] == ["cat", "dog", "ship"]
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        plotting.plot_embedding_maps({"bad": np.zeros((4, 2))}, labels, ["cat", "dog", "ship"])


def test_tsne_map_keeps_clusters_apart_and_refuses_too_few_points():
    rng = np.random.default_rng(0)
    centres = np.repeat(np.eye(3, 16) * 20, 15, axis=0)
    points = plotting.tsne_map(centres + rng.normal(size=centres.shape), seed=0)
    assert points.shape == (45, 2)
    means = np.stack([points[i * 15:(i + 1) * 15].mean(axis=0) for i in range(3)])
    spread = max(points[i * 15:(i + 1) * 15].std() for i in range(3))
    gaps = [np.linalg.norm(means[a] - means[b]) for a, b in ((0, 1), (0, 2), (1, 2))]
    assert min(gaps) > 2 * spread
    with pytest.raises(ValueError, match="at least 4 vectors"):
        plotting.tsne_map(np.zeros((3, 8)))
