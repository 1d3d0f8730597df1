"""Notebook 05: its teaching code (autoencoder, resumable training, LSH, denoising, Siamese
encoder without labels: augmentations, NT-Xent), smoke run."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import count_plots, notebook_namespace

NAME = "05_autoencoder_retrieval"
METRIC_KEYS = {"reconstruction_mse", "precision_at_1", "precision_at_5", "precision_at_10",
               "map_at_100", "pixel_precision_at_5", "pca_precision_at_5",
               "denoising_precision_at_5", "ann_recall_at_10", "ann_speedup", "train_seconds",
               "all_training_seconds",
               "contrastive_precision_at_1", "contrastive_precision_at_5",
               "contrastive_precision_at_10", "contrastive_map_at_100"}


@pytest.fixture(scope="module")
def ns() -> dict:
    return notebook_namespace(NAME)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((8, 32, 32, 3)).astype("float32")


def tiny_batches(images: np.ndarray):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(images).batch(4).map(lambda batch: (batch, batch))


def test_autoencoder_is_encoder_then_decoder_as_named_models(ns, images):
    encoder, decoder, autoencoder = ns["build_autoencoder"](8)
    assert (encoder.name, decoder.name) == ("encoder", "decoder")
    assert encoder.output_shape == (None, 8) and decoder.output_shape == (None, 32, 32, 3)
    assert [layer.name for layer in autoencoder.layers[1:]] == ["encoder", "decoder"]
    np.testing.assert_allclose(autoencoder.predict(images, verbose=0),
                               decoder.predict(encoder.predict(images, verbose=0), verbose=0),
                               atol=1e-5)


def test_seed_variant_has_no_batch_norm(ns):
    encoder, decoder, _ = ns["build_autoencoder"](8, batch_norm=False)
    kinds = {type(layer).__name__ for model in (encoder, decoder) for layer in model.layers}
    assert "BatchNormalization" not in kinds and "Conv2DTranspose" in kinds


def test_encoder_and_decoder_survive_a_keras_round_trip(ns, images, tmp_path):
    import keras

    encoder, decoder, autoencoder = ns["build_autoencoder"](8)
    autoencoder.compile("adam", "mse")
    autoencoder.fit(tiny_batches(images), epochs=1, verbose=0, shuffle=False)  # moves BN statistics
    codes = encoder.predict(images, verbose=0)
    for model, inputs in ((encoder, images), (decoder, codes)):
        model.save(tmp_path / f"{model.name}.keras")
        loaded = keras.models.load_model(tmp_path / f"{model.name}.keras")
        assert loaded.name == model.name
        np.testing.assert_allclose(loaded.predict(inputs, verbose=0),
                                   model.predict(inputs, verbose=0), atol=1e-5)


def test_interrupted_training_resumes_at_the_saved_epoch(ns, images, tmp_path):
    import keras

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    class Record(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs, self.weights = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append(epoch)
            self.weights.append(self.model.get_weights()[0].copy())

    _, _, first = ns["build_autoencoder"](4)
    first.compile("adam", "mse")
    with pytest.raises(KeyboardInterrupt):
        ns["train_autoencoder"](first, tiny_batches(images), 5, tmp_path, [Interrupt()], verbose=0)
    saved = first.get_weights()[0]

    _, _, second = ns["build_autoencoder"](4)  # a new kernel: fresh weights, same folder
    second.compile("adam", "mse")
    record = Record()
    history = ns["train_autoencoder"](second, tiny_batches(images), 5, tmp_path, [record],
                                      verbose=0)
    assert record.epochs == [2, 3, 4]
    np.testing.assert_allclose(record.weights[0], saved)
    assert len(history["loss"]) == 5  # the curve covers the epochs before the interruption too
    assert not (tmp_path / "backup").exists()


def test_a_finished_run_in_the_same_folder_starts_afresh(ns, images, tmp_path):
    _, _, model = ns["build_autoencoder"](4)
    model.compile("adam", "mse")
    ns["train_autoencoder"](model, tiny_batches(images), 2, tmp_path, verbose=0)
    history = ns["train_autoencoder"](model, tiny_batches(images), 3, tmp_path, verbose=0)
    assert len(history["loss"]) == 3


def test_lsh_finds_a_known_nearest_neighbour(ns):
    rng = np.random.default_rng(0)
    database = rng.normal(size=(2000, 16))
    targets = rng.choice(len(database), 200, replace=False)
    queries = database[targets] + rng.normal(scale=0.01, size=(200, 16))
    found, compared = ns["HyperplaneLSH"](database, n_bits=8, n_tables=8, seed=0).search(queries, 1)
    assert np.mean(found[:, 0] == targets) >= 0.95
    assert compared.mean() < 0.3 * len(database)  # it looked at a small part of the database


def test_lsh_recall_grows_with_tables_and_shrinks_with_bits(ns):
    from course_utils.retrieval import exact_search, recall_at_k

    rng = np.random.default_rng(1)
    database, queries = rng.normal(size=(3000, 16)), rng.normal(size=(100, 16))
    exact, _ = exact_search(database, queries, 10)

    def recall(n_bits, n_tables):
        found, _ = ns["HyperplaneLSH"](database, n_bits, n_tables, seed=0).search(queries, 10)
        return recall_at_k(found, exact, 10)

    assert recall(8, 1) < recall(8, 8)
    assert recall(12, 8) < recall(6, 8)


def test_lsh_buckets_hold_every_database_vector_once_per_table(ns):
    lsh = ns["HyperplaneLSH"](np.random.default_rng(2).normal(size=(500, 8)), 6, 3, seed=0)
    for table in lsh.tables:
        assert sorted(np.concatenate(list(table.values())).tolist()) == list(range(500))


def test_denoising_autoencoder_adds_noise_only_while_training(ns, images):
    encoder, decoder, _ = ns["build_autoencoder"](4)
    denoising = ns["build_denoising_autoencoder"](encoder, decoder, 0.5)
    np.testing.assert_allclose(denoising.predict(images, verbose=0),
                               decoder.predict(encoder.predict(images, verbose=0), verbose=0),
                               atol=1e-5)
    noise = denoising.get_layer("noise")
    assert np.std(np.asarray(noise(images, training=True)) - images) == pytest.approx(0.5, rel=0.1)


def test_nt_xent_of_random_codes_is_log_2n_minus_1(ns):
    rng = np.random.default_rng(0)
    z_a, z_b = rng.normal(size=(2, 16, 2048)).astype("float32")
    loss = float(ns["nt_xent"](z_a, z_b, temperature=1.0))
    assert loss == pytest.approx(np.log(2 * 16 - 1), abs=0.05)


def test_nt_xent_is_low_when_views_agree_and_high_when_partners_are_swapped(ns):
    rng = np.random.default_rng(1)
    z_a = rng.normal(size=(16, 64)).astype("float32")
    z_b = z_a + rng.normal(scale=0.05, size=z_a.shape).astype("float32")
    aligned = float(ns["nt_xent"](z_a, z_b, 0.2))
    swapped = float(ns["nt_xent"](z_a, np.roll(z_b, 1, axis=0), 0.2))
    assert aligned < 0.2 * np.log(2 * 16 - 1) < np.log(2 * 16 - 1) < swapped


def test_ntxent_loss_splits_the_twins_output_and_survives_serialisation(ns):
    import keras

    rng = np.random.default_rng(2)
    z_a, z_b = rng.normal(size=(2, 8, 4)).astype("float32")
    loss = ns["NTXent"](0.5)
    both = np.concatenate([z_a, z_b], axis=1)
    assert float(loss(np.zeros(8), both)) == pytest.approx(float(ns["nt_xent"](z_a, z_b, 0.5)),
                                                           rel=1e-5)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored).__name__ == "NTXent" and restored.temperature == 0.5
    with pytest.raises(ValueError, match="temperature"):
        ns["NTXent"](0.0)


def test_augment_gives_two_different_views_of_the_same_shape_and_range(ns, images):
    import tensorflow as tf

    tf.random.set_seed(0)
    first, second = ns["augment"](images).numpy(), ns["augment"](images).numpy()
    assert first.shape == second.shape == images.shape
    assert 0 <= first.min() and first.max() <= 1
    assert np.abs(first - second).mean(axis=(1, 2, 3)).min() > 0.01  # every pair differs


def test_crop_keeps_the_size_and_checks_its_scale(ns, images):
    assert ns["random_resized_crop"](images, 0.5).shape == images.shape
    with pytest.raises(ValueError, match="min_scale"):
        ns["random_resized_crop"](images, 0.0)


def test_colour_jitter_of_strength_zero_changes_nothing(ns, images):
    np.testing.assert_allclose(ns["colour_jitter"](images, 0.0).numpy(), images, atol=1e-4)


def test_siamese_twins_share_one_encoder_that_survives_a_keras_round_trip(ns, images, tmp_path):
    import keras

    encoder, head, siamese = ns["build_siamese_encoder"](width=4, projection=6)
    assert encoder.output_shape == (None, 16) and siamese.output_shape == (None, 12)
    assert [layer.name for layer in siamese.layers].count("siamese_encoder") == 1
    both = siamese.predict([images, images], verbose=0)
    np.testing.assert_allclose(both[:, :6], both[:, 6:], atol=1e-5)  # same view, same code
    encoder.save(tmp_path / "encoder.keras")
    loaded = keras.models.load_model(tmp_path / "encoder.keras")
    np.testing.assert_allclose(loaded.predict(images, verbose=0),
                               encoder.predict(images, verbose=0), atol=1e-5)


@pytest.mark.notebook
def test_notebook_05_runs_and_reports_its_numbers(run_notebook):
    m = run_notebook(NAME).metrics
    assert m["notebook"] == NAME and m["profile"] == "smoke"
    assert set(m) - METRIC_KEYS == {"notebook", "profile", "sources", "written_at"}
    assert METRIC_KEYS <= set(m)
    assert all("cifar10" in source for source in m["sources"].values())
    assert 0 < m["reconstruction_mse"] < 1
    for key in METRIC_KEYS - {"reconstruction_mse", "ann_speedup", "train_seconds", "all_training_seconds"}:
        assert 0 <= m[key] <= 1, key
    assert m["pixel_precision_at_5"] > 0.1  # pixels beat chance even on the smoke slice
    assert m["ann_recall_at_10"] > 0.5 and m["ann_speedup"] > 0 and m["train_seconds"] > 0
    assert m["all_training_seconds"] > m["train_seconds"]  # the denoising and Siamese encoders too
    assert m["contrastive_precision_at_1"] > 0 and m["contrastive_map_at_100"] > 0


@pytest.mark.notebook
def test_notebook_05_shows_pictures(run_notebook):
    output = run_notebook(NAME).output
    images = count_plots(output)
    assert images >= 16  # 9 before section 6; its views, loss, similarity, bars, classes, grid, maps
