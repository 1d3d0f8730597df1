"""Notebook 03: its teaching code (tower, L1 layer, Siamese model) and a smoke run's metrics."""

import numpy as np
import pytest

from conftest import count_plots, notebook_namespace

NAME = "03_vgg16_omniglot"


@pytest.fixture(scope="module")
def teach():
    return notebook_namespace(NAME)


def test_l1_distance_is_the_absolute_difference(teach):
    layer = teach["L1Distance"]()
    a = np.array([[1.0, -2.0, 3.0]], np.float32)
    b = np.array([[0.5, 2.0, 3.0]], np.float32)
    np.testing.assert_allclose(np.asarray(layer([a, b])), [[0.5, 4.0, 0.0]])


def test_tower_keeps_vgg16_blocks_and_scales_with_width(teach):
    tower = teach["vgg16_tower"](28, width=0.25)
    convs = [layer.name for layer in tower.layers if "_conv" in layer.name]
    assert [c.split("_")[0] for c in convs] == ["block1"] * 2 + ["block2"] * 2 + ["block3"] * 3 + \
        ["block4"] * 3 + ["block5"] * 3
    assert tower.get_layer("block5_conv3").filters == 128
    # at 28 px the fifth pooling is skipped: a 4x4 map of 128 channels
    assert tower(np.full((2, 28, 28), 255, np.uint8)).shape == (2, 4 * 4 * 128)


def test_tower_at_105_px_pools_after_every_block_as_vgg16_does(teach):
    tower = teach["vgg16_tower"](105, width=0.125)
    pools = [layer.name for layer in tower.layers if layer.name.endswith("_pool")]
    assert pools == [f"block{b}_pool" for b in range(1, 6)]
    assert tower.output.shape == (None, 4 * 4 * 64)


def test_siamese_model_round_trips_through_keras_file(teach, tmp_path):
    import keras

    model = teach["siamese_model"](teach["vgg16_tower"](28, width=0.125))
    rng = np.random.default_rng(0)
    left, right = (rng.integers(0, 256, (3, 28, 28), dtype=np.uint8) for _ in range(2))
    before = model.predict([left, right], verbose=0)
    assert before.shape == (3, 1) and np.all((before > 0) & (before < 1))
    model.save(tmp_path / "siamese.keras")
    restored = keras.models.load_model(tmp_path / "siamese.keras")
    np.testing.assert_allclose(restored.predict([left, right], verbose=0), before, atol=1e-6)
    assert not any(type(layer).__name__ == "Lambda" for layer in restored.layers)


def test_turned_similarity_compares_each_version_only_with_the_same_version(teach):
    rng = np.random.default_rng(0)
    test, training = rng.normal(size=(2, 8, 5)), rng.normal(size=(3, 8, 5))
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)
    expected = np.einsum("qkd,ckd->qc", unit(test), unit(training)) / 8
    np.testing.assert_allclose(teach["turned_similarity"](test, training), expected)
    # the same vectors paired with the wrong versions are no match
    shifted = np.roll(test[:1], 1, axis=1)
    scores = teach["turned_similarity"](test[:1], np.concatenate([test[:1], shifted]))
    assert scores[0, 0] == pytest.approx(1.0) and scores[0, 1] < 0.5


def test_turned_similarity_averages_any_given_similarity_over_the_versions(teach):
    rng = np.random.default_rng(1)
    test, training = rng.normal(size=(2, 4, 3)), rng.normal(size=(5, 4, 3))
    dot = lambda a, b: a @ b.T
    expected = np.einsum("qkd,ckd->qc", test, training) / 4
    np.testing.assert_allclose(teach["turned_similarity"](test, training, dot), expected)
    assert not np.allclose(teach["turned_similarity"](test, training), expected)


def test_turned_embeddings_stack_the_eight_versions_of_each_drawing(teach, monkeypatch):
    from types import SimpleNamespace

    from course_utils import drawings

    images = np.random.default_rng(0).integers(0, 256, (3, 4, 4), dtype=np.uint8)
    # the notebook's own averaged_embeddings needs a trained tower; flattened pixels stand in
    monkeypatch.setitem(teach, "averaged_embeddings", lambda x: x.reshape(len(x), -1).astype(np.float32))
    monkeypatch.setitem(teach, "profile", SimpleNamespace(mirror=True))
    embedded = teach["turned_embeddings"](images)
    assert embedded.shape == (3, 8, 16)
    versions = drawings.turned_versions(images, mirror=True)
    for k in range(8):
        np.testing.assert_array_equal(embedded[:, k], versions[k].reshape(3, -1))
    monkeypatch.setitem(teach, "profile", SimpleNamespace(mirror=False))
    assert teach["turned_embeddings"](images).shape == (3, 4, 16)


@pytest.mark.notebook
def test_notebook_03_runs_and_reports_its_numbers(run_notebook):
    m = run_notebook(NAME).metrics
    assert m["notebook"] == NAME and m["profile"] == "smoke"
    assert "images_background_small1" in m["sources"]["background"]
    assert "run01" in m["sources"]["runs"]
    assert m["trials"] == 20
    for key in ("one_shot_20way_accuracy", "siamese_20way_accuracy", "nn_baseline_accuracy"):
        assert 0 <= m[key] <= 1 and (m[key] * m["trials"]) == pytest.approx(round(m[key] * m["trials"]))
    assert m["nn_baseline_accuracy"] == pytest.approx(0.35)  # 7 of run01's 20 queries
    assert m["train_seconds"] > 0 and m["all_training_seconds"] == m["train_seconds"]


@pytest.mark.notebook
def test_notebook_03_shows_pictures(run_notebook):
    output = run_notebook(NAME).output
    images = count_plots(output)
    assert images >= 6


def test_the_lesson_cell_draws_the_distortions_the_training_streams_use(teach):
    from course_utils import drawings

    for size, probability in ((28, 0.5), (105, 1.0)):
        ours = teach["affine_transforms"](64, size, np.random.default_rng(3), probability)
        theirs = drawings.affine_transforms(64, size, np.random.default_rng(3), probability)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
