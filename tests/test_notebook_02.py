"""Notebook 02: its teaching code (distance layer, contrastive loss, towers) and a smoke run."""

import numpy as np
import pytest
from conftest import code_outputs, count_plots, notebook_namespace

NAME = "02_contrastive_siamese"


@pytest.fixture(scope="module")
def ns():
    return notebook_namespace(NAME)


def loss(ns, labels, distances, margin=1.0):
    return np.asarray(ns["contrastive_loss"](np.array(labels, "float32"), np.array(distances, "float32"),
                                             margin))


def test_similar_pairs_cost_their_squared_distance_on_both_sides_of_the_margin(ns):
    np.testing.assert_allclose(loss(ns, [0, 0, 0], [0.0, 0.5, 1.5]), [0.0, 0.25, 2.25], rtol=1e-6)


def test_dissimilar_pairs_cost_only_inside_the_margin(ns):
    np.testing.assert_allclose(loss(ns, [1, 1, 1, 1], [0.0, 0.25, 1.0, 1.5]), [1.0, 0.5625, 0.0, 0.0],
                               rtol=1e-6)


def test_the_margin_moves_where_dissimilar_pairs_stop_costing(ns):
    np.testing.assert_allclose(loss(ns, [1, 1], [0.5, 1.5], margin=2.0), [2.25, 0.25], rtol=1e-6)


def test_keras_loss_averages_the_batch_and_keeps_its_margin(ns):
    import keras

    contrastive = ns["ContrastiveLoss"](margin=2.0)
    value = contrastive(np.array([0, 1], "float32"), np.array([[1.0], [0.5]], "float32"))
    assert float(value) == pytest.approx((1.0 + 2.25) / 2)
    assert keras.losses.deserialize(keras.losses.serialize(contrastive)).margin == 2.0


def test_distance_layer_measures_euclidean_distance_per_pair(ns):
    left = np.array([[0, 0], [1, 1], [2, -1]], "float32")
    right = np.array([[3, 4], [1, 1], [2, 1]], "float32")
    distance = np.asarray(ns["EuclideanDistance"]()(left, right))
    assert distance.shape == (3, 1)
    np.testing.assert_allclose(distance[:, 0], [5.0, 0.0, 2.0], atol=1e-3)


def test_seed_tower_is_the_seeds_network(ns):
    from keras import layers

    tower = ns["seed_tower"](48)
    assert isinstance(tower.layers[1], layers.Rescaling)
    convs = [l for l in tower.layers if isinstance(l, layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 128, 64]
    assert all(c.activation.__name__ == "tanh" for c in convs)
    assert sum(isinstance(l, layers.AveragePooling2D) for l in tower.layers) == 3
    assert tower.output_shape == (None, 128)


def test_modern_tower_embeds_on_the_unit_sphere(ns):
    tower = ns["modern_tower"](32)
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("uint8")
    np.testing.assert_allclose(np.linalg.norm(np.asarray(tower(images, training=False)), axis=1), 1,
                               rtol=1e-5)


@pytest.mark.parametrize("seed_head", [False, True], ids=["distance", "seed_head"])
def test_siamese_model_round_trips_through_a_keras_file(ns, tmp_path, seed_head):
    import keras

    tower = ns["seed_tower"](32) if seed_head else ns["modern_tower"](32)
    model = ns["siamese"](tower, seed_head=seed_head)
    model.compile(optimizer="adam", loss=ns["ContrastiveLoss"](margin=1.0))
    rng = np.random.default_rng(1)
    left, right = (rng.integers(0, 256, (5, 32, 32, 3)).astype("uint8") for _ in range(2))
    model.fit((left, right), np.array([0, 1, 0, 1, 1], "float32"), epochs=1, verbose=0)
    model.save(tmp_path / "siamese.keras")
    reloaded = keras.models.load_model(tmp_path / "siamese.keras")
    np.testing.assert_allclose(model.predict((left, right), verbose=0),
                               reloaded.predict((left, right), verbose=0), rtol=1e-6, atol=1e-6)
    assert reloaded.loss.margin == 1.0


def test_threshold_from_validation_separates_synthetic_distances():
    from course_utils.metrics import best_threshold, verify

    rng = np.random.default_rng(0)
    distances = np.concatenate([rng.uniform(0.0, 0.4, 200), rng.uniform(0.6, 1.5, 200)])
    similar = np.arange(400) < 200
    threshold = best_threshold(distances, similar)
    assert 0.4 <= threshold <= 0.6 and verify(distances, similar, threshold).accuracy == 1.0


@pytest.mark.notebook
def test_notebook_02_runs_and_reports_its_numbers(run_notebook):
    m = run_notebook(NAME).metrics
    assert m["notebook"] == NAME and m["profile"] == "smoke"
    assert any("satellite" in source for source in m["sources"].values())
    assert "held-out" in m["sources"]["test"]
    for key in ("test_accuracy", "test_accuracy_no_identical", "hard_test_accuracy", "roc_auc",
                "seed_model_test_accuracy_no_identical"):
        assert 0 <= m[key] <= 1, key
    assert m["threshold"] >= 0 and m["train_seconds"] > 0
    assert m["roc_auc"] > 0.5  # a few steps already beat chance on rotation pairs


@pytest.mark.notebook
def test_notebook_02_shows_its_evaluation_plots(run_notebook):
    output = run_notebook(NAME).output
    images = count_plots(output)
    assert images >= 7
    text = "".join(out.get("text", "") for out in code_outputs(output))
    assert "reloaded predictions identical: True" in text
