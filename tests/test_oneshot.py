"""Lake's one-shot runs: parsing (zip and folder), scoring, baselines, distortions and streams."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_utils import oneshot
from course_utils.datasets import DataError
from course_utils.labels import SIMILAR


def glyph(k: int, size: int = 105) -> np.ndarray:
    """A white image with a dark bar whose position encodes ``k``."""
    image = np.full((size, size), 255, np.uint8)
    image[5 * k:5 * k + 4, 10:90] = 0
    return image


def write_run(root: Path, name: str = "run01", n: int = 4, answers=(2, 0, 3, 1)) -> Path:
    """Write a run in the upstream layout: query i shows the glyph of class answers[i]."""
    run = root / name
    (run / "training").mkdir(parents=True)
    (run / "test").mkdir()
    lines = []
    for c in range(n):
        Image.fromarray(glyph(c)).save(run / "training" / f"class{c + 1:02d}.png")
    for i, c in enumerate(answers):
        Image.fromarray(glyph(c)).save(run / "test" / f"item{i + 1:02d}.png")
        lines.append(f"{name}/test/item{i + 1:02d}.png {name}/training/class{c + 1:02d}.png")
    (run / "class_labels.txt").write_text("\n".join(lines) + "\n")
    return run


def zip_runs(root: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(root.rglob("*")):
            out.write(path, path.relative_to(root).as_posix())
    return archive


def test_class_labels_parse_into_query_and_answer_files():
    text = "run07/test/item01.png run07/training/class08.png\nrun07/test/item02.png run07/training/class01.png\n"
    assert oneshot.parse_class_labels(text, "run07") == [("item01.png", "class08.png"),
                                                        ("item02.png", "class01.png")]


@pytest.mark.parametrize("line", ["run01/test/item01.png", "run02/test/item01.png run02/training/class01.png",
                                  "run01/training/class01.png run01/test/item01.png"])
def test_malformed_class_labels_line_is_named(line):
    with pytest.raises(DataError, match="line 1"):
        oneshot.parse_class_labels(line, "run01")


def test_folder_and_zip_give_the_same_runs(tmp_path):
    write_run(tmp_path / "runs", "run01")
    write_run(tmp_path / "runs", "run02", answers=(1, 1, 0, 3))
    archive = zip_runs(tmp_path / "runs", tmp_path / "all_runs.zip")
    from_folder = oneshot.load_runs(tmp_path / "runs")
    from_zip = oneshot.load_runs(archive)
    assert [r.name for r in from_zip] == ["run01", "run02"]
    for a, b in zip(from_folder, from_zip):
        np.testing.assert_array_equal(a.training, b.training)
        np.testing.assert_array_equal(a.answers, b.answers)
    assert from_zip[0].answers.tolist() == [2, 0, 3, 1] and from_zip[0].test.shape == (4, 105, 105)
    assert oneshot.load_runs(tmp_path / "runs" / "run02")[0].answers.tolist() == [1, 1, 0, 3]


def test_scorer_counts_the_answers_class_labels_name(tmp_path):
    runs = oneshot.load_runs(write_run(tmp_path), image_size=28)
    perfect = oneshot.score_runs(runs, oneshot.pixel_similarity)
    assert perfect.accuracy == 1.0 and perfect.trials == 4
    always_first = oneshot.score_runs(runs, lambda t, c: np.tile(np.arange(len(c))[::-1], (len(t), 1)))
    assert always_first.picked[0].tolist() == [0, 0, 0, 0]
    assert always_first.accuracy == 0.25 and always_first.per_run() == {"run01": 0.25}


def test_scorer_rejects_a_wrong_shape_or_nan(tmp_path):
    runs = oneshot.load_runs(write_run(tmp_path))
    with pytest.raises(ValueError, match="shape"):
        oneshot.score_runs(runs, lambda t, c: np.zeros((len(t), len(c) + 1)))
    with pytest.raises(ValueError, match="NaN"):
        oneshot.score_runs(runs, lambda t, c: np.full((len(t), len(c)), np.nan))


def test_run_folder_missing_an_image_is_a_clear_error(tmp_path):
    run = write_run(tmp_path)
    (run / "training" / "class03.png").unlink()
    with pytest.raises(DataError, match="class03.png"):
        oneshot.load_runs(run)


@pytest.mark.parametrize("escape", ["run01/../../class_labels.txt", "/tmp/run01/class_labels.txt"])
def test_a_runs_zip_with_a_member_leading_outside_is_refused_naming_it(tmp_path, escape):
    write_run(tmp_path / "runs", "run01")
    archive = zip_runs(tmp_path / "runs", tmp_path / "all_runs.zip")
    with zipfile.ZipFile(archive, "a") as out:
        out.writestr(escape, b"")
    with pytest.raises(DataError, match=rf"all_runs\.zip.*member {re.escape(repr(escape))}.*re-create it"):
        oneshot.load_runs(archive)


def test_zip_of_the_wrong_layout_is_a_clear_error(tmp_path):
    with zipfile.ZipFile(tmp_path / "runs.zip", "w") as out:
        out.writestr("images/item01.png", b"")
    with pytest.raises(DataError, match="class_labels.txt"):
        oneshot.load_runs(tmp_path / "runs.zip")
    with pytest.raises(DataError, match="no one-shot run"):
        oneshot.load_runs(tmp_path)


def test_pixel_baseline_on_the_shared_run_is_far_from_perfect(shared_data):
    result = oneshot.score_runs(oneshot.load_runs(shared_data / "omniglot" / "one_shot_run01.zip"),
                                oneshot.pixel_similarity)
    assert result.trials == 20 and 0.05 <= result.accuracy <= 0.5


def test_cosine_similarity_ignores_length():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(oneshot.cosine_similarity(a, 3 * a), np.eye(2))


def test_affine_distortion_keeps_shape_dtype_and_range():
    rng = np.random.default_rng(0)
    images = np.stack([glyph(k, 28) for k in range(4)])
    warped = np.asarray(oneshot.apply_affine(images, oneshot.affine_transforms(4, 28, rng, 1.0)))
    assert warped.shape == images.shape and warped.dtype == np.uint8
    assert warped.min() >= 0 and warped.max() == 255 and not np.array_equal(warped, images)
    identity = np.tile(np.array([1, 0, 0, 0, 1, 0, 0, 0], np.float32), (4, 1))
    np.testing.assert_array_equal(np.asarray(oneshot.apply_affine(images, identity)), images)
    none = oneshot.affine_transforms(4, 28, rng, probability=0.0)
    np.testing.assert_allclose(none, identity, atol=1e-6)


def test_affine_distortion_is_keras_affine_transform_rounded_to_uint8():
    from keras import ops

    rng = np.random.default_rng(1)
    images = np.stack([glyph(k, 28) for k in range(4)])
    transforms = oneshot.affine_transforms(4, 28, rng, 1.0)
    expected = ops.image.affine_transform(images[..., None].astype(np.float32), transforms,
                                          fill_value=255.0, data_format="channels_last")
    expected = np.round(np.clip(ops.convert_to_numpy(expected)[..., 0], 0, 255)).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(oneshot.apply_affine(images, transforms)), expected)


def paper_with(box: tuple[int, int, int, int], size: int = 105) -> np.ndarray:
    """White paper with a black rectangle over rows box[0]:box[1] and columns box[2]:box[3]."""
    image = np.full((size, size), 255, np.uint8)
    image[box[0]:box[1], box[2]:box[3]] = 0
    return image


def test_crop_to_ink_removes_position_and_size():
    small_corner, large_middle = paper_with((10, 30, 5, 25)), paper_with((40, 80, 50, 90))
    cropped = oneshot.crop_to_ink(np.stack([small_corner, large_middle]), 28)
    assert cropped.shape == (2, 28, 28) and cropped.dtype == np.uint8
    corners = []
    for image in cropped:
        ink = np.argwhere(image < 128)
        np.testing.assert_allclose(ink.mean(axis=0), [13.5, 13.5], atol=0.5)
        assert 22 <= np.ptp(ink[:, 0]) + 1 <= 25  # a tenth of the side to spare on each side
        corners.append(np.concatenate([ink.min(axis=0), ink.max(axis=0)]))
    assert np.abs(corners[0] - corners[1]).max() <= 1  # the same square, but for edge pixels


def test_crop_to_ink_stretches_a_flat_stroke_by_at_most_max_stretch():
    stroke = paper_with((50, 60, 10, 90))[None]  # 10 rows by 80 columns
    for max_stretch, rows in ((1.0, (2, 4)), (2.0, (5, 7)), (8.0, (22, 25))):
        ink = np.argwhere(oneshot.crop_to_ink(stroke, 28, max_stretch=max_stretch)[0] < 128)
        height, width = np.ptp(ink, axis=0) + 1
        assert 22 <= width <= 25 and rows[0] <= height <= rows[1], max_stretch


def test_crop_to_ink_does_not_stretch_a_square_drawing():
    square = paper_with((20, 60, 30, 70))[None]
    np.testing.assert_array_equal(oneshot.crop_to_ink(square, 28, max_stretch=3.0),
                                  oneshot.crop_to_ink(square, 28, max_stretch=1.0))


def test_crop_to_ink_leaves_the_margin_asked_for_even_past_the_page():
    corner = paper_with((0, 30, 0, 30))[None]  # ink touching two edges of the page
    for margin, side in ((0.0, 28), (1.0, 28 / 3)):
        ink = np.argwhere(oneshot.crop_to_ink(corner, 28, margin=margin)[0] < 128)
        assert abs(np.ptp(ink[:, 0]) + 1 - side) <= 1 and abs(np.ptp(ink[:, 1]) + 1 - side) <= 1
    assert oneshot.crop_to_ink(np.empty((0, 105, 105), np.uint8), 28).shape == (0, 28, 28)


def test_crop_to_ink_only_resizes_a_blank_page_and_rejects_bad_input():
    np.testing.assert_array_equal(oneshot.crop_to_ink(np.full((3, 105, 105), 255, np.uint8), 28),
                                  np.full((3, 28, 28), 255, np.uint8))
    with pytest.raises(ValueError, match="stack of drawings"):
        oneshot.crop_to_ink(paper_with((1, 5, 1, 5)), 28)
    with pytest.raises(ValueError, match="margin"):
        oneshot.crop_to_ink(paper_with((1, 5, 1, 5))[None], 28, margin=-0.1)
    with pytest.raises(ValueError, match="max_stretch"):
        oneshot.crop_to_ink(paper_with((1, 5, 1, 5))[None], 28, max_stretch=0.5)


def test_crop_runs_centres_every_drawing_and_keeps_the_answers(shared_data):
    runs = oneshot.load_runs(shared_data / "omniglot" / "one_shot_run01.zip")
    cropped = oneshot.crop_runs(runs, 28)
    assert cropped[0].training.shape == (20, 28, 28) and cropped[0].test.shape == (20, 28, 28)
    np.testing.assert_array_equal(cropped[0].answers, runs[0].answers)
    for images in (cropped[0].training, cropped[0].test):
        ink = images < 128
        assert ink.any(axis=2)[:, [0, -1]].sum() == 0 and ink.any(axis=1)[:, [0, -1]].sum() == 0
        ink_height, ink_width = ink.any(axis=2).sum(axis=1), ink.any(axis=1).sum(axis=1)
        assert (np.maximum(ink_height, ink_width) >= 20).all()  # the longer side fills the square


def test_rotation_classes_make_four_classes_per_character():
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    turned, classes = oneshot.rotation_classes(images, np.array([0, 1]))
    assert turned.shape == (8, 3, 3) and sorted(classes.tolist()) == list(range(8))
    np.testing.assert_array_equal(turned[classes.tolist().index(5)], np.rot90(images[1]))


def test_rotation_classes_with_mirror_make_eight_distinct_classes_per_character():
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    turned, classes = oneshot.rotation_classes(images, np.array([0, 1]), mirror=True)
    assert turned.shape == (16, 3, 3) and sorted(classes.tolist()) == list(range(16))
    # an asymmetric drawing gives 8 different images: the turns of it and of its mirror image
    assert len({turned[i].tobytes() for i in np.flatnonzero(classes // 8 == 1)}) == 8
    np.testing.assert_array_equal(turned[classes.tolist().index(8 + 5)], np.rot90(images[1, :, ::-1]))
    np.testing.assert_array_equal(turned[classes.tolist().index(8)], images[1])


def test_distorted_copies_are_independent_uint8_versions_of_each_image():
    images = np.stack([glyph(k, 28) for k in range(3)])
    copies = oneshot.distorted_copies(images, 4, np.random.default_rng(0))
    assert copies.shape == (4, 3, 28, 28) and copies.dtype == np.uint8
    assert not np.array_equal(copies[0], copies[1])
    # each copy stays closest to the drawing it was made from
    flat = lambda x: x.reshape(len(x), -1).astype(float)
    for copy in copies:
        assert np.all(oneshot.cosine_similarity(255 - flat(copy), 255 - flat(images)).argmax(1) == [0, 1, 2])
    again = oneshot.distorted_copies(images, 4, np.random.default_rng(0))
    np.testing.assert_array_equal(copies, again)
    assert oneshot.distorted_copies(images, 0, np.random.default_rng(0)).shape == (0, 3, 28, 28)
    with pytest.raises(ValueError, match="copies must be 0 or more"):
        oneshot.distorted_copies(images, -1, np.random.default_rng(0))


def test_pairs_are_balanced_and_labelled_one_for_same():
    labels = np.repeat(np.arange(5), 3)
    left, right, same = oneshot.pair_indices(labels, 100, np.random.default_rng(0))
    assert same.sum() == 50
    assert np.all((labels[left] == labels[right]) == (same == SIMILAR))
    assert np.all(left != right)


def test_pairs_skip_characters_with_one_image_for_same_pairs_and_reach_every_other():
    labels = np.array([7, 3, 3, 9, 3, 9, 1])  # 7 and 1 have one image each, unsorted labels
    left, right, same = oneshot.pair_indices(labels, 4000, np.random.default_rng(1))
    positives = same == SIMILAR
    assert set(labels[left[positives]]) == {3, 9}
    assert np.all(left[positives] != right[positives])
    assert set(labels[left[~positives]]) | set(labels[right[~positives]]) == {1, 3, 7, 9}
    assert np.all(labels[left[~positives]] != labels[right[~positives]])


def test_pair_stream_yields_uint8_batches_of_pairs():
    images = np.stack([glyph(k % 6, 28) for k in range(12)])
    stream = oneshot.pair_stream(images, np.arange(12) % 6, batch_size=8, steps=2, seed=1)
    batches = list(stream)
    assert len(batches) == 2
    (left, right), same = batches[0]
    assert left.shape == right.shape == (8, 28, 28) and left.dtype.name == "uint8"
    assert same.numpy().tolist() == [1, 0] * 4


def test_embedding_pair_stream_pairs_rows_of_the_bank_by_label():
    labels = np.arange(12) % 4
    bank = np.eye(12, dtype=np.float32) * (labels[:, None] + 1)  # each row says its own label
    stream = oneshot.embedding_pair_stream(bank, labels, batch_size=10, steps=3, seed=2)
    batches = list(stream)
    assert len(batches) == 3
    for (left, right), same in batches:
        assert left.shape == right.shape == (10, 12)
        left_label = left.numpy().max(axis=1) - 1
        right_label = right.numpy().max(axis=1) - 1
        assert np.array_equal(left_label == right_label, same.numpy() == SIMILAR)


def test_embedding_pair_stream_needs_one_row_per_label():
    with pytest.raises(ValueError, match="one embedding row per label"):
        oneshot.embedding_pair_stream(np.zeros((5, 3)), np.arange(4), batch_size=2, steps=1)


def test_class_stream_shows_every_image_once_an_epoch():
    images = np.stack([glyph(k, 28) for k in range(10)])
    stream = oneshot.class_stream(images, np.arange(10), batch_size=4, seed=3, augment=False)
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
    assert int(oneshot.class_stream(images, labels, batch_size=4).cardinality()) == 3
    assert int(oneshot.pair_stream(images, labels, batch_size=4, steps=5).cardinality()) == 5
    bank = np.eye(10, dtype=np.float32)
    assert int(oneshot.embedding_pair_stream(bank, labels, batch_size=4, steps=6).cardinality()) == 6
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(5)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(oneshot.class_stream(images, labels, batch_size=4), epochs=2, verbose=0,
                            shuffle=False)
    assert len(history.history["loss"]) == 2
    assert not [w for w in caught if "ran out of data" in str(w.message)]


def test_made_runs_use_two_drawers_and_one_alphabet():
    labels = np.repeat(np.arange(6), 4)
    drawers = np.tile(np.arange(1, 5), 6)
    alphabets = np.array(["A"] * 24)
    images = np.arange(24 * 4, dtype=np.uint8).reshape(24, 2, 2)
    runs = oneshot.make_runs(images, labels, alphabets, drawers, n_runs=3, n_way=5, seed=0)
    assert len(runs) == 3 and runs[0].training.shape == (5, 2, 2)
    index = {images[i].tobytes(): i for i in range(24)}
    for run in runs:
        for q, a in enumerate(run.answers):
            query, example = index[run.test[q].tobytes()], index[run.training[a].tobytes()]
            assert labels[query] == labels[example] and drawers[query] != drawers[example]
    with pytest.raises(ValueError, match="n_way"):
        oneshot.make_runs(images, labels, alphabets, drawers, n_runs=1, n_way=7)


def test_runnable_alphabets_need_n_way_characters_by_two_drawers():
    labels = np.repeat(np.arange(5), 2)
    alphabets = np.array(["A"] * 6 + ["B"] * 4)
    drawers = np.array([1, 2, 1, 2, 1, 1, 1, 2, 1, 2])  # character 2 of A has one drawer only
    assert oneshot.runnable_alphabets(labels, alphabets, drawers, n_way=2) == {"A": [0, 1], "B": [3, 4]}
    assert list(oneshot.runnable_alphabets(labels, alphabets, drawers, n_way=3)) == []


def test_turned_versions_follow_the_rotation_classes_order():
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    versions = oneshot.turned_versions(images, mirror=True)
    turned, classes = oneshot.rotation_classes(images, np.array([0, 1]), mirror=True)
    assert versions.shape == (8, 2, 3, 3)
    for k in range(8):
        np.testing.assert_array_equal(versions[k, 1], turned[classes.tolist().index(8 + k)])
    np.testing.assert_array_equal(versions[5, 0], np.rot90(images[0, :, ::-1]))
    assert oneshot.turned_versions(images).shape == (4, 2, 3, 3)


def test_turned_versions_refuse_a_stack_that_cannot_be_turned_in_place():
    with pytest.raises(ValueError, match="square drawings, got shape \\(2, 3, 4\\)"):
        oneshot.turned_versions(np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(ValueError, match="got shape \\(3, 3\\)"):
        oneshot.turned_versions(np.zeros((3, 3), np.uint8))
