"""FreshPairs: new views and pairs every epoch, uint8 pair batches, clear errors."""

import numpy as np
import pytest

from course_utils.augment import FreshPairs
from course_utils.labels import DISSIMILAR, SIMILAR


@pytest.fixture
def tiles():
    return np.random.default_rng(0).integers(0, 256, size=(10, 23, 23, 3), dtype=np.uint8)


def test_batches_are_uint8_pairs_with_float_labels(tiles):
    data = FreshPairs(tiles, 16, batch_size=8)
    (left, right), label = data[0]
    assert left.shape == right.shape == (8, 16, 16, 3) and left.dtype == np.uint8
    assert label.dtype == np.float32 and set(np.unique(label)) <= {0.0, 1.0}


def test_an_epoch_covers_every_pair_once_and_is_balanced(tiles):
    data = FreshPairs(tiles, 16, batch_size=7)
    labels = np.concatenate([data[i][1] for i in range(len(data))])
    assert len(labels) == len(data.pairs) == 10 * 3 * 2
    assert np.sum(labels == SIMILAR) == np.sum(labels == DISSIMILAR)


def test_similar_pairs_show_one_tile_and_dissimilar_pairs_two(tiles):
    data = FreshPairs(tiles, 16, batch_size=8)
    same_tile = data.views.groups[data.pairs.left] == data.views.groups[data.pairs.right]
    assert np.array_equal(same_tile, data.pairs.label == SIMILAR)


def test_fresh_views_change_every_epoch(tiles):
    data = FreshPairs(tiles, 16, batch_size=8, seed=3)
    before = data.views.images.copy()
    data.on_epoch_end()
    assert before.shape == data.views.images.shape and not np.array_equal(before, data.views.images)


def test_fixed_views_stay_put_across_epochs(tiles):
    data = FreshPairs(tiles, 16, batch_size=8, fresh=False, seed=3)
    before, left = data.views.images.copy(), data.pairs.left.copy()
    data.on_epoch_end()
    assert np.array_equal(before, data.views.images) and np.array_equal(left, data.pairs.left)


def test_same_seed_gives_same_epochs(tiles):
    a, b = FreshPairs(tiles, 16, 8, seed=5), FreshPairs(tiles, 16, 8, seed=5)
    a.on_epoch_end(), b.on_epoch_end()
    assert np.array_equal(a.views.images, b.views.images)


def test_hard_views_differ_from_plain_rotations(tiles):
    plain, hard = FreshPairs(tiles, 16, 8, seed=1), FreshPairs(tiles, 16, 8, hard=True, seed=1)
    rotated = plain.views.angles > 0
    assert not np.array_equal(plain.views.images[rotated], hard.views.images[rotated])
    assert np.array_equal(plain.views.images[~rotated], hard.views.images[~rotated])


def test_bad_inputs_are_named(tiles):
    with pytest.raises(ValueError, match="at least 2 tiles"):
        FreshPairs(tiles[:1], 16, 8)
    with pytest.raises(ValueError, match="batch_size"):
        FreshPairs(tiles, 16, 0)
    with pytest.raises(ValueError, match="batches_per_epoch"):
        FreshPairs(tiles, 16, 8, batches_per_epoch=0)
    with pytest.raises(ValueError, match="load_size"):
        FreshPairs(tiles, 20, 8)


def test_a_fixed_epoch_length_reads_pairs_cyclically(tiles):
    data = FreshPairs(tiles, 16, batch_size=8, fresh=False, batches_per_epoch=10)
    assert len(data) == 10
    labels = np.concatenate([data[i][1] for i in range(len(data))])
    assert len(labels) == 80 and np.array_equal(labels[60:], data.pairs.label[:20])


def test_fixed_pairs_continue_where_the_last_short_epoch_stopped(tiles):
    data = FreshPairs(tiles, 16, batch_size=8, fresh=False, batches_per_epoch=2)
    data.on_epoch_end()
    np.testing.assert_array_equal(data[0][1], data.pairs.label[16:24])


def test_keras_fit_runs_every_epoch_on_fresh_pairs(tiles):
    import keras

    data = FreshPairs(tiles, 16, batch_size=8, batches_per_epoch=3)
    left, right = keras.Input((16, 16, 3)), keras.Input((16, 16, 3))
    out = keras.layers.Dense(1)(keras.layers.Flatten()(keras.layers.Subtract()([left, right])))
    model = keras.Model([left, right], out)
    model.compile("sgd", "mse")
    history = model.fit(data, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3 and data.epoch >= 3


def test_with_a_clock_each_epoch_is_drawn_from_the_epoch_fit_is_in(tiles):
    from course_utils.checkpoints import EpochClock

    clock = EpochClock()
    data = FreshPairs(tiles, 16, batch_size=8, seed=2, clock=clock)
    seen = []
    for epoch in range(3):
        clock.on_epoch_begin(epoch)
        data.on_epoch_begin()
        seen.append(data[0][0][0])
        data.on_epoch_end()
    resumed_clock = EpochClock()  # a resumed fit that starts at epoch 2
    resumed = FreshPairs(tiles, 16, batch_size=8, seed=2, clock=resumed_clock)
    resumed_clock.on_epoch_begin(2)
    resumed.on_epoch_begin()
    np.testing.assert_array_equal(resumed[0][0][0], seen[2])
    assert not np.array_equal(seen[1], seen[2])


def test_with_a_clock_fixed_pairs_start_where_that_epoch_starts(tiles):
    from course_utils.checkpoints import EpochClock

    clock = EpochClock()
    data = FreshPairs(tiles, 16, batch_size=8, fresh=False, batches_per_epoch=2, clock=clock)
    clock.on_epoch_begin(1)
    data.on_epoch_begin()
    np.testing.assert_array_equal(data[0][1], data.pairs.label[16:24])
    clock.on_epoch_begin(0)  # the next fit starts at the first pair again
    data.on_epoch_begin()
    np.testing.assert_array_equal(data[0][1], data.pairs.label[:8])
