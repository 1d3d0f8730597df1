"""Pair making: views, labels, group-disjoint splits, determinism, streaming, the seed's faults."""

import numpy as np
import pytest

from course_utils import pairs
from course_utils.labels import DISSIMILAR, SIMILAR


@pytest.fixture(scope="module")
def tiles():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (12, pairs.load_size(16), pairs.load_size(16), 3), dtype=np.uint8)


def test_rotated_view_has_no_blank_corner_at_any_angle():
    tile = np.full((pairs.load_size(32),) * 2 + (3,), 200, dtype=np.uint8)
    for angle in (0, 17, 45, 90, 133, 271):
        view = pairs.rotated_view(tile, angle, 32)
        assert view.shape == (32, 32, 3) and view.min() == 200


def test_rotated_view_turns_the_content():
    tile = np.zeros((46, 46), dtype=np.uint8)
    tile[8:23, 23:38] = 255  # a bright block in the upper right quarter
    view = pairs.rotated_view(tile, 90, 32)  # counter-clockwise: it moves to the upper left
    assert view[:16, :16].mean() > view[:16, 16:].mean() + 100


def test_too_small_tiles_are_refused_with_the_size_to_load():
    with pytest.raises(ValueError, match="at least 46px"):
        pairs.rotated_view(np.zeros((40, 40, 3), np.uint8), 30, 32)


def test_views_come_in_consecutive_groups(tiles):
    views = pairs.make_views(tiles, 16, n_views=3, seed=0)
    assert views.images.shape == (36, 16, 16, 3)
    assert views.groups.tolist()[:6] == [0, 0, 0, 1, 1, 1]
    assert np.all(views.angles[::3] == 0) and np.all((views.angles >= 0) & (views.angles < 360))
    assert len(np.unique(views.angles[1::3] % 90)) > 1  # not only multiples of 90 degrees


def test_hard_views_differ_from_plain_rotations(tiles):
    plain = pairs.make_views(tiles, 16, 2, seed=0)
    hard = pairs.make_views(tiles, 16, 2, seed=0, hard=True)
    assert np.array_equal(plain.images[0::2], hard.images[0::2])
    assert not np.array_equal(plain.images[1::2], hard.images[1::2])
    assert hard.images.dtype == np.uint8


def test_pair_labels_are_correct():
    groups = np.repeat(np.arange(10), 3)
    index = pairs.make_pairs(groups, seed=0)
    same = groups[index.left] == groups[index.right]
    assert np.array_equal(index.label == SIMILAR, same)
    assert np.sum(index.label == SIMILAR) == np.sum(index.label == DISSIMILAR) == 30


def test_no_identical_pairs_unless_asked():
    groups = np.repeat(np.arange(10), 3)
    assert not pairs.make_pairs(groups, seed=0).identical().any()
    with_identical = pairs.make_pairs(groups, seed=0, include_identical=True)
    assert with_identical.identical().sum() == 30
    assert np.all(with_identical.label[with_identical.identical()] == SIMILAR)


def test_pairs_are_deterministic_by_seed():
    groups = np.repeat(np.arange(20), 3)
    a, b = pairs.make_pairs(groups, seed=3), pairs.make_pairs(groups, seed=3)
    c = pairs.make_pairs(groups, seed=4)
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("left", "right", "label"))
    assert not np.array_equal(a.right, c.right)


def test_splits_are_group_disjoint_and_pairs_stay_inside_them():
    groups = np.repeat(np.arange(50), 3)
    splits = pairs.group_split(groups, (0.8, 0.1, 0.1), seed=0)
    assert sorted(np.concatenate(list(splits.values()))) == list(range(150))
    sources = {name: set(groups[index]) for name, index in splits.items()}
    assert not sources["train"] & sources["val"] and not sources["train"] & sources["test"]
    assert len(sources["val"]) == len(sources["test"]) == 5
    made = pairs.split_pairs(groups, splits, seed=0)
    for name, index in made.items():
        members = set(splits[name])
        assert set(index.left) <= members and set(index.right) <= members
    assert pairs.leaked_fraction(made["train"], made["val"], groups) == 0


def test_bad_split_fractions_and_too_few_sources():
    groups = np.repeat(np.arange(5), 3)
    with pytest.raises(ValueError, match="summing to 1"):
        pairs.group_split(groups, (0.5, 0.1, 0.1))
    with pytest.raises(ValueError, match="5 source images are too few"):
        pairs.group_split(groups, (0.9, 0.05, 0.05))
    with pytest.raises(ValueError, match="at least 2 source"):
        pairs.make_pairs(np.zeros(3, dtype=int))


def test_seed_pairs_reproduce_its_faults():
    n = 3000
    groups = np.arange(n) // 3
    seed = pairs.seed_pair_indices(n, seed=0)
    assert len(seed) == 3 * n
    # (i, i) always, and random.choice(range(i, i+3)) picks i a third of the time: 4/9 of all pairs.
    assert seed.identical().mean() == pytest.approx(4 / 9, abs=0.02)
    # range(i, i+3) reaches into the next tile unless i opens its triplet: 1/3 of the j pairs.
    assert pairs.wrong_positives(seed, groups).sum() / n == pytest.approx(1 / 3, abs=0.03)
    # numbers[:i-3] + numbers[i+3:] for i < 3 keeps views of tile 0: some draws are wrong.
    wrong = [pairs.wrong_negatives(pairs.seed_pair_indices(60, seed=s), np.arange(60) // 3).sum()
             for s in range(200)]
    assert sum(wrong) > 0


def test_seed_split_keeps_the_pairs_in_order_and_still_leaks():
    n = 600
    groups = np.arange(n) // 3
    seed = pairs.seed_pair_indices(n, seed=0)
    train, val = pairs.seed_split(len(seed), 0.1)
    assert train.tolist() == list(range(1620)) and val.tolist() == list(range(1620, 1800))
    # validation anchors are the last tiles, but the training negatives were drawn from every tile
    assert pairs.leaked_fraction(seed.select(train), seed.select(val), groups) > 0.5
    with pytest.raises(ValueError, match="between 0 and 1"):
        pairs.seed_split(10, 1.0)


def test_seed_make_pairs_builds_pixel_pairs():
    images = np.random.default_rng(0).random((9, 4, 4, 3), dtype=np.float32)
    pixels, labels = pairs.seed_make_pairs(images)
    assert pixels.shape == (27, 2, 4, 4, 3) and labels.shape == (27,)
    assert np.array_equal(pixels[0, 0], pixels[0, 1])  # the image with itself


def test_pair_dataset_streams_the_right_pixels():
    images = np.arange(6, dtype=np.uint8).reshape(6, 1, 1, 1) * np.ones((1, 2, 2, 3), np.uint8)
    index = pairs.PairIndex(np.array([0, 1, 2], np.int32), np.array([3, 4, 5], np.int32),
                            np.array([0, 1, 1], np.int8))
    batches = list(pairs.pair_dataset(images, index, batch_size=2, shuffle=False))
    assert len(batches) == 2
    (left, right), label = batches[0]
    assert left.dtype.name == "uint8" and left.shape == (2, 2, 2, 3)
    assert left.numpy()[:, 0, 0, 0].tolist() == [0, 1] and right.numpy()[:, 0, 0, 0].tolist() == [3, 4]
    assert label.numpy().tolist() == [0.0, 1.0]


def test_pair_memory_does_not_grow_with_the_number_of_pairs():
    from course_utils.memory import measure

    images = np.random.default_rng(0).integers(0, 256, (300, 64, 64, 3), dtype=np.uint8)

    def epoch(groups_per_tile):
        groups = np.arange(300) // groups_per_tile
        index = pairs.make_pairs(groups, seed=0, negatives_per_positive=1)
        return len(index), sum(1 for _ in pairs.pair_dataset(images, index, 32))

    epoch(3)  # pays TensorFlow's one-off start-up allocations
    few, many = measure(lambda: epoch(3)), measure(lambda: epoch(30))
    assert many.result[0] > 8 * few.result[0]
    pixels_of_many_pairs = many.result[0] * 2 * images[0].nbytes
    assert many.peak_bytes < 0.1 * pixels_of_many_pairs
    assert many.peak_bytes < few.peak_bytes + 30e6
