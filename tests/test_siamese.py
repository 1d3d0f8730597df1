"""The Siamese building blocks later notebooks import: one distance, one contrastive loss."""

import keras
import numpy as np
import pytest

from course_utils import siamese
from course_utils.labels import DISSIMILAR, SIMILAR
from course_utils.siamese import ContrastiveLoss, EuclideanDistance, contrastive_loss


def loss(labels, distances, margin=1.0):
    return np.asarray(contrastive_loss(np.array(labels, "float32"), np.array(distances, "float32"), margin))


def test_similar_pairs_cost_their_squared_distance_on_both_sides_of_the_margin():
    np.testing.assert_allclose(loss([SIMILAR] * 3, [0.0, 0.5, 1.5]), [0.0, 0.25, 2.25], rtol=1e-6)


def test_dissimilar_pairs_cost_only_inside_the_margin():
    np.testing.assert_allclose(loss([DISSIMILAR] * 4, [0.0, 0.25, 1.0, 1.5]), [1.0, 0.5625, 0.0, 0.0],
                               rtol=1e-6)


def test_the_margin_moves_where_dissimilar_pairs_stop_costing():
    np.testing.assert_allclose(loss([DISSIMILAR] * 2, [0.5, 1.5], margin=2.0), [2.25, 0.25], rtol=1e-6)


def test_keras_loss_averages_the_batch_and_keeps_its_margin():
    import keras

    contrastive = ContrastiveLoss(margin=2.0)
    value = contrastive(np.array([SIMILAR, DISSIMILAR], "float32"), np.array([1.0, 0.5], "float32"))
    assert float(value) == pytest.approx((1.0 + 2.25) / 2)
    assert keras.losses.deserialize(keras.losses.serialize(contrastive)).margin == 2.0


def test_keras_loss_takes_column_shaped_distances():
    labels = np.array([SIMILAR, DISSIMILAR], "float32")
    flat = float(ContrastiveLoss()(labels, np.array([0.5, 0.2], "float32")))
    column = float(ContrastiveLoss()(labels, np.array([[0.5], [0.2]], "float32")))
    assert flat == pytest.approx(column) == pytest.approx((0.25 + 0.64) / 2)


def test_distance_layer_gives_one_euclidean_distance_per_pair():
    left = np.array([[0, 0], [1, 1], [2, -1]], "float32")
    right = np.array([[3, 4], [1, 1], [2, 1]], "float32")
    distance = np.asarray(EuclideanDistance()(left, right))
    assert distance.shape == (3,)
    np.testing.assert_allclose(distance, [5.0, 0.0, 2.0], atol=1e-3)
    assert 0 < distance[1]  # identical embeddings stay a hair apart: sqrt's slope is finite there


def test_a_model_with_the_distance_round_trips_through_a_keras_file(tmp_path):
    import keras

    left, right = keras.Input((4,)), keras.Input((4,))
    tower = keras.layers.Dense(3)
    model = keras.Model([left, right], EuclideanDistance()(tower(left), tower(right)))
    model.compile(optimizer="adam", loss=ContrastiveLoss(margin=0.5))
    rng = np.random.default_rng(0)
    sample = [rng.normal(size=(6, 4)).astype("float32") for _ in range(2)]
    model.save(tmp_path / "pair.keras")
    reloaded = keras.models.load_model(tmp_path / "pair.keras")
    np.testing.assert_allclose(reloaded.predict(sample, verbose=0), model.predict(sample, verbose=0))
    assert reloaded.loss.margin == 0.5


def test_embed_batches_in_inference_mode():
    inputs = keras.Input((6,))
    outputs = keras.layers.Dense(3)(keras.layers.Dropout(0.9)(inputs))
    tower = keras.Model(inputs, outputs)
    images = np.random.default_rng(0).normal(size=(10, 6)).astype("float32")
    whole = siamese.embed(tower, images)
    assert whole.shape == (10, 3)
    np.testing.assert_allclose(siamese.embed(tower, images, batch_size=3), whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(whole, keras.ops.convert_to_numpy(tower(images, training=False)), rtol=1e-5)
