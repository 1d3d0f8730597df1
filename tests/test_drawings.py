"""What the course does to a drawing: cut to its ink, Koch's distortions, turns and mirror images."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import glyph

from course_utils import drawings, oneshot


def test_affine_distortion_keeps_shape_dtype_and_range():
    rng = np.random.default_rng(0)
    images = np.stack([glyph(k, 28) for k in range(4)])
    warped = np.asarray(drawings.apply_affine(images, drawings.affine_transforms(4, 28, rng, 1.0)))
    assert warped.shape == images.shape and warped.dtype == np.uint8
    assert warped.min() >= 0 and warped.max() == 255 and not np.array_equal(warped, images)
    identity = np.tile(np.array([1, 0, 0, 0, 1, 0, 0, 0], np.float32), (4, 1))
    np.testing.assert_array_equal(np.asarray(drawings.apply_affine(images, identity)), images)
    none = drawings.affine_transforms(4, 28, rng, probability=0.0)
    np.testing.assert_allclose(none, identity, atol=1e-6)


def test_affine_distortion_is_keras_affine_transform_rounded_to_uint8():
    from keras import ops

    rng = np.random.default_rng(1)
    images = np.stack([glyph(k, 28) for k in range(4)])
    transforms = drawings.affine_transforms(4, 28, rng, 1.0)
    expected = ops.image.affine_transform(images[..., None].astype(np.float32), transforms,
                                          fill_value=255.0, data_format="channels_last")
    expected = np.round(np.clip(ops.convert_to_numpy(expected)[..., 0], 0, 255)).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(drawings.apply_affine(images, transforms)), expected)


def paper_with(box: tuple[int, int, int, int], size: int = 105) -> np.ndarray:
    """White paper with a black rectangle over rows box[0]:box[1] and columns box[2]:box[3]."""
    image = np.full((size, size), 255, np.uint8)
    image[box[0]:box[1], box[2]:box[3]] = 0
    return image


def test_crop_to_ink_removes_position_and_size():
    small_corner, large_middle = paper_with((10, 30, 5, 25)), paper_with((40, 80, 50, 90))
    cropped = drawings.crop_to_ink(np.stack([small_corner, large_middle]), 28)
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
        ink = np.argwhere(drawings.crop_to_ink(stroke, 28, max_stretch=max_stretch)[0] < 128)
        height, width = np.ptp(ink, axis=0) + 1
        assert 22 <= width <= 25 and rows[0] <= height <= rows[1], max_stretch


def test_crop_to_ink_does_not_stretch_a_square_drawing():
    square = paper_with((20, 60, 30, 70))[None]
    np.testing.assert_array_equal(drawings.crop_to_ink(square, 28, max_stretch=3.0),
                                  drawings.crop_to_ink(square, 28, max_stretch=1.0))


def test_crop_to_ink_leaves_the_margin_asked_for_even_past_the_page():
    corner = paper_with((0, 30, 0, 30))[None]  # ink touching two edges of the page
    for margin, side in ((0.0, 28), (1.0, 28 / 3)):
        ink = np.argwhere(drawings.crop_to_ink(corner, 28, margin=margin)[0] < 128)
        assert abs(np.ptp(ink[:, 0]) + 1 - side) <= 1 and abs(np.ptp(ink[:, 1]) + 1 - side) <= 1
    assert drawings.crop_to_ink(np.empty((0, 105, 105), np.uint8), 28).shape == (0, 28, 28)


def test_crop_to_ink_only_resizes_a_blank_page_and_rejects_bad_input():
    np.testing.assert_array_equal(drawings.crop_to_ink(np.full((3, 105, 105), 255, np.uint8), 28),
                                  np.full((3, 28, 28), 255, np.uint8))
    with pytest.raises(ValueError, match="stack of drawings"):
        drawings.crop_to_ink(paper_with((1, 5, 1, 5)), 28)
    with pytest.raises(ValueError, match="margin"):
        drawings.crop_to_ink(paper_with((1, 5, 1, 5))[None], 28, margin=-0.1)
    with pytest.raises(ValueError, match="max_stretch"):
        drawings.crop_to_ink(paper_with((1, 5, 1, 5))[None], 28, max_stretch=0.5)


def test_rotation_classes_make_four_classes_per_character():
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    turned, classes = drawings.rotation_classes(images, np.array([0, 1]))
    assert turned.shape == (8, 3, 3) and sorted(classes.tolist()) == list(range(8))
    np.testing.assert_array_equal(turned[classes.tolist().index(5)], np.rot90(images[1]))


def test_rotation_classes_with_mirror_make_eight_distinct_classes_per_character():
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    turned, classes = drawings.rotation_classes(images, np.array([0, 1]), mirror=True)
    assert turned.shape == (16, 3, 3) and sorted(classes.tolist()) == list(range(16))
    # an asymmetric drawing gives 8 different images: the turns of it and of its mirror image
    assert len({turned[i].tobytes() for i in np.flatnonzero(classes // 8 == 1)}) == 8
    np.testing.assert_array_equal(turned[classes.tolist().index(8 + 5)], np.rot90(images[1, :, ::-1]))
    np.testing.assert_array_equal(turned[classes.tolist().index(8)], images[1])


def test_distorted_copies_are_independent_uint8_versions_of_each_image():
    images = np.stack([glyph(k, 28) for k in range(3)])
    copies = drawings.distorted_copies(images, 4, np.random.default_rng(0))
    assert copies.shape == (4, 3, 28, 28) and copies.dtype == np.uint8
    assert not np.array_equal(copies[0], copies[1])
    # each copy stays closest to the drawing it was made from
    flat = lambda x: x.reshape(len(x), -1).astype(float)
    for copy in copies:
        assert np.all(oneshot.cosine_similarity(255 - flat(copy), 255 - flat(images)).argmax(1) == [0, 1, 2])
    again = drawings.distorted_copies(images, 4, np.random.default_rng(0))
    np.testing.assert_array_equal(copies, again)
    assert drawings.distorted_copies(images, 0, np.random.default_rng(0)).shape == (0, 3, 28, 28)
    with pytest.raises(ValueError, match="copies must be 0 or more"):
        drawings.distorted_copies(images, -1, np.random.default_rng(0))


def test_turned_versions_follow_the_rotation_classes_order():
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    versions = drawings.turned_versions(images, mirror=True)
    turned, classes = drawings.rotation_classes(images, np.array([0, 1]), mirror=True)
    assert versions.shape == (8, 2, 3, 3)
    for k in range(8):
        np.testing.assert_array_equal(versions[k, 1], turned[classes.tolist().index(8 + k)])
    np.testing.assert_array_equal(versions[5, 0], np.rot90(images[0, :, ::-1]))
    assert drawings.turned_versions(images).shape == (4, 2, 3, 3)


def test_turned_versions_refuse_a_stack_that_cannot_be_turned_in_place():
    with pytest.raises(ValueError, match="square drawings, got shape \\(2, 3, 4\\)"):
        drawings.turned_versions(np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(ValueError, match="got shape \\(3, 3\\)"):
        drawings.turned_versions(np.zeros((3, 3), np.uint8))
