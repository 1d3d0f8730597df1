"""The training streams of Omniglot characters: balanced pairs, embedding pairs, rotation classes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import glyph

from course_utils import character_streams
from course_utils.labels import SIMILAR


def test_pairs_are_balanced_and_labelled_one_for_same():
    labels = np.repeat(np.arange(5), 3)
    left, right, same = character_streams.pair_indices(labels, 100, np.random.default_rng(0))
    assert same.sum() == 50
    assert np.all((labels[left] == labels[right]) == (same == SIMILAR))
    assert np.all(left != right)


def test_pairs_skip_characters_with_one_image_for_same_pairs_and_reach_every_other():
    labels = np.array([7, 3, 3, 9, 3, 9, 1])  # 7 and 1 have one image each, unsorted labels
    left, right, same = character_streams.pair_indices(labels, 4000, np.random.default_rng(1))
    positives = same == SIMILAR
    assert set(labels[left[positives]]) == {3, 9}
    assert np.all(left[positives] != right[positives])
    assert set(labels[left[~positives]]) | set(labels[right[~positives]]) == {1, 3, 7, 9}
    assert np.all(labels[left[~positives]] != labels[right[~positives]])


def test_pair_stream_yields_uint8_batches_of_pairs():
    images = np.stack([glyph(k % 6, 28) for k in range(12)])
    stream = character_streams.pair_stream(images, np.arange(12) % 6, batch_size=8, steps=2, seed=1)
    batches = list(stream)
    assert len(batches) == 2
    (left, right), same = batches[0]
    assert left.shape == right.shape == (8, 28, 28) and left.dtype.name == "uint8"
    assert same.numpy().tolist() == [1, 0] * 4


def test_embedding_pair_stream_pairs_rows_of_the_bank_by_label():
    labels = np.arange(12) % 4
    bank = np.eye(12, dtype=np.float32) * (labels[:, None] + 1)  # each row says its own label
    stream = character_streams.embedding_pair_stream(bank, labels, batch_size=10, steps=3, seed=2)
    batches = list(stream)
    assert len(batches) == 3
    for (left, right), same in batches:
        assert left.shape == right.shape == (10, 12)
        left_label = left.numpy().max(axis=1) - 1
        right_label = right.numpy().max(axis=1) - 1
        assert np.array_equal(left_label == right_label, same.numpy() == SIMILAR)


def test_embedding_pair_stream_needs_one_row_per_label():
    with pytest.raises(ValueError, match="one embedding row per label"):
        character_streams.embedding_pair_stream(np.zeros((5, 3)), np.arange(4), batch_size=2, steps=1)


def test_class_stream_shows_every_image_once_an_epoch():
    images = np.stack([glyph(k, 28) for k in range(10)])
    stream = character_streams.class_stream(images, np.arange(10), batch_size=4, seed=3, augment=False)
    for _ in range(2):
        batches = list(stream)
        assert [len(label) for _, label in batches] == [4, 4, 2]
        for pixels, label in batches:
            assert np.array_equal(pixels.numpy(), images[label.numpy()])
        assert sorted(np.concatenate([label.numpy() for _, label in batches])) == list(range(10))


def test_streams_tell_keras_their_length():
    import warnings

    import keras

    images = np.stack([glyph(k % 5, 28) for k in range(10)])
    labels = np.arange(10) % 5
    assert int(character_streams.class_stream(images, labels, batch_size=4).cardinality()) == 3
    assert int(character_streams.pair_stream(images, labels, batch_size=4, steps=5).cardinality()) == 5
    bank = np.eye(10, dtype=np.float32)
    assert int(character_streams.embedding_pair_stream(bank, labels, batch_size=4, steps=6).cardinality()) == 6
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(5)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(character_streams.class_stream(images, labels, batch_size=4), epochs=2, verbose=0,
                            shuffle=False)
    assert len(history.history["loss"]) == 2
    assert not [w for w in caught if "ran out of data" in str(w.message)]


def test_pair_stream_distorts_each_image_only_when_asked():
    images = np.stack([glyph(k % 6, 28) for k in range(12)])  # both images of a character alike
    labels = np.arange(12) % 6
    (left, right), same = next(iter(character_streams.pair_stream(images, labels, 8, 1, augment=False)))
    positives = same.numpy() == SIMILAR
    assert np.array_equal(left.numpy()[positives], right.numpy()[positives])
    (left, right), same = next(iter(character_streams.pair_stream(images, labels, 8, 1, seed=2)))
    positives = same.numpy() == SIMILAR
    assert not np.array_equal(left.numpy()[positives], right.numpy()[positives])
    assert left.dtype.name == "uint8" and left.numpy().min() < 128  # still dark ink on white paper
