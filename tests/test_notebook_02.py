"""Notebook 02: its teaching code (distance layer, contrastive loss, towers) and a smoke run."""

import numpy as np
import pytest
from conftest import code_outputs, count_plots, notebook_namespace

NAME = "02_contrastive_siamese"


@pytest.fixture(scope="module")
def ns():
    return notebook_namespace(NAME)


def test_the_lesson_cells_define_what_later_notebooks_import(ns):
    """Notebooks 03 to 05 import course_utils.siamese; notebook 02 writes the same code out."""
    from course_utils import siamese

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 64).astype("float32")
    distances = rng.uniform(0, 2, 64).astype("float32")
    for margin in (0.5, 1.0, 2.0):
        np.testing.assert_allclose(np.asarray(ns["contrastive_loss"](labels, distances, margin)),
                                   np.asarray(siamese.contrastive_loss(labels, distances, margin)), rtol=1e-6)
        assert float(ns["ContrastiveLoss"](margin)(labels, distances)) == pytest.approx(
            float(siamese.ContrastiveLoss(margin)(labels, distances)), rel=1e-6)
    left, right = rng.normal(size=(2, 16, 8)).astype("float32")
    np.testing.assert_allclose(np.asarray(ns["EuclideanDistance"]()(left, right)),
                               np.asarray(siamese.EuclideanDistance()(left, right)), rtol=1e-6)
    assert ns["ContrastiveLoss"](0.7).get_config() == siamese.ContrastiveLoss(0.7).get_config()


def test_similar_pairs_are_pulled_and_dissimilar_ones_pushed_in_the_lesson(ns):
    labels = np.array([1, 1, 0, 0], "float32")
    distances = np.array([0.0, 0.5, 0.25, 1.5], "float32")
    np.testing.assert_allclose(np.asarray(ns["contrastive_loss"](labels, distances, 1.0)),
                               [0.0, 0.25, 0.5625, 0.0], rtol=1e-6)


def test_seed_tower_is_the_seeds_network(ns):
    from keras import layers

    tower = ns["seed_tower"](48)
    assert isinstance(tower.layers[1], layers.Rescaling)
    convs = [l for l in tower.layers if isinstance(l, layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 128, 64]
    assert all(c.activation.__name__ == "tanh" for c in convs)
    assert sum(isinstance(l, layers.AveragePooling2D) for l in tower.layers) == 3
    assert tower.output_shape == (None, 128)


def test_each_seed_tower_switch_changes_one_thing(ns):
    from keras import layers

    def kinds(tower):
        return [type(l).__name__ for l in tower.layers]

    seed, relu = ns["seed_tower"](48), ns["seed_tower"](48, activation="relu")
    assert kinds(relu) == kinds(seed) and relu.count_params() == seed.count_params()
    assert all(l.activation.__name__ == "relu" for l in relu.layers if isinstance(l, layers.Conv2D))
    normed = ns["seed_tower"](48, activation="relu", block_norm=True)
    added = [k for k in kinds(normed) if k in ("BatchNormalization", "Activation")]
    assert added.count("BatchNormalization") == 2 + 3 and added.count("Activation") == 3


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
    model.fit((left, right), np.array([1, 0, 1, 0, 0], "float32"), epochs=1, verbose=0)
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
    assert m["all_training_seconds"] > m["train_seconds"]  # the seed, ablation and hard models too
    assert m["roc_auc"] > 0.5  # a few steps already beat chance on rotation pairs


@pytest.mark.notebook
def test_notebook_02_shows_its_evaluation_plots(run_notebook):
    output = run_notebook(NAME).output
    images = count_plots(output)
    assert images >= 7
    text = "".join(out.get("text", "") for out in code_outputs(output))
    assert "reloaded predictions identical: True" in text
