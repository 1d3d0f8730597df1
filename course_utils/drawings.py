"""What the course does to an Omniglot drawing: cut it to its ink, distort it, turn and mirror it.

Koch et al. (2015) distort every training drawing by a small random affine map; notebook 03 also
averages embeddings over such copies at test time, and trains on each character's 8 rotations and
mirror images as classes of their own.
"""

from __future__ import annotations

import numpy as np


def crop_to_ink(images: np.ndarray, image_size: int, margin: float = 0.1,
                max_stretch: float = 2.0) -> np.ndarray:
    """Cut each drawing to a box around its ink and resize the box to ``image_size`` squared.

    People draw a character at different sizes and places; the box removes its position and size.
    A wide, flat drawing would fill only a thin band of the square, so its shorter side is
    stretched, by at most ``max_stretch`` (1 keeps every drawing's shape). ``margin`` is the room
    left on each side, as a fraction of the box's side. Ink is any pixel darker than mid-gray; a
    blank image is only resized (area averaging).

    Raises:
        ValueError: ``images`` is not a (n, height, width) stack, ``margin`` is negative, or
            ``max_stretch`` is below 1.
    """
    images = np.asarray(images, np.uint8)
    if images.ndim != 3:
        raise ValueError(f"expected a (n, height, width) stack of drawings, got shape {images.shape}")
    if margin < 0:
        raise ValueError(f"margin must be 0 or more, got {margin}")
    if max_stretch < 1:
        raise ValueError(f"max_stretch must be 1 or more, got {max_stretch}")
    from PIL import Image

    height, width = images.shape[1:]
    ink = images < 128
    rows, cols = ink.any(axis=2), ink.any(axis=1)
    top, bottom = rows.argmax(axis=1), height - rows[:, ::-1].argmax(axis=1)
    left, right = cols.argmax(axis=1), width - cols[:, ::-1].argmax(axis=1)
    blank = ~rows.any(axis=1)
    centre_y = np.where(blank, height / 2, (top + bottom) / 2)
    centre_x = np.where(blank, width / 2, (left + right) / 2)
    ink_height, ink_width = bottom - top, right - left
    shortest = np.maximum(ink_height, ink_width) / max_stretch
    half_y = np.where(blank, height, np.maximum(ink_height, shortest) * (1 + 2 * margin)) / 2
    half_x = np.where(blank, width, np.maximum(ink_width, shortest) * (1 + 2 * margin)) / 2
    # The box may reach past the page: lay the page on white paper at least a page wide around.
    pad = max(height, width, int(np.ceil(max(half_y.max(initial=0), half_x.max(initial=0)))))
    out = np.empty((len(images), image_size, image_size), np.uint8)
    for k, image in enumerate(images):
        paper = Image.new("L", (width + 2 * pad, height + 2 * pad), 255)
        paper.paste(Image.fromarray(image), (pad, pad))
        box = (pad + centre_x[k] - half_x[k], pad + centre_y[k] - half_y[k],
               pad + centre_x[k] + half_x[k], pad + centre_y[k] + half_y[k])
        out[k] = np.asarray(paper.resize((image_size, image_size), Image.Resampling.BOX, box=box))
    return out


def affine_transforms(n: int, image_size: int, rng: np.random.Generator,
                      probability: float = 0.5) -> np.ndarray:
    """Draw Koch et al.'s random affine distortions as (n, 8) projective transforms.

    Each of rotation (±10°), shear (±0.3), scale (0.8-1.2 per axis) and translation (±2 px at
    105 px, scaled to ``image_size``) is applied with ``probability``, about the image centre.
    """
    def maybe(low, high, shape=(n,)):
        values = rng.uniform(low, high, size=shape)
        return np.where(rng.random(shape) < probability, values, 0.0)

    theta = np.deg2rad(maybe(-10, 10))
    shear = maybe(-0.3, 0.3, (n, 2))
    scale = 1 + maybe(-0.2, 0.2, (n, 2))
    shift = maybe(-2, 2, (n, 2)) * image_size / 105
    cos, sin = np.cos(theta), np.sin(theta)
    # forward map (x, y) -> A (x, y) + t about the centre; the warp takes the inverse (out -> in)
    forward = np.empty((n, 2, 2))
    forward[:, 0, 0] = scale[:, 0] * (cos - shear[:, 1] * sin)
    forward[:, 0, 1] = scale[:, 0] * (shear[:, 0] * cos - sin)
    forward[:, 1, 0] = scale[:, 1] * (sin + shear[:, 1] * cos)
    forward[:, 1, 1] = scale[:, 1] * (shear[:, 0] * sin + cos)
    inverse = np.linalg.inv(forward)
    centre = (image_size - 1) / 2
    offset = centre - inverse @ (np.full(2, centre)[None, :, None] + shift[:, :, None])
    transforms = np.zeros((n, 8), dtype=np.float32)
    transforms[:, [0, 1, 3, 4]] = inverse.reshape(n, 4)
    transforms[:, [2, 5]] = offset[:, :, 0]
    return transforms


def apply_affine(images, transforms):
    """Warp a uint8 batch (n, h, w[, 1]) by ``transforms``; keep shape, dtype and 0-255 range.

    Uncovered pixels become white paper (255), as in the upstream images.
    """
    import tensorflow as tf

    images = tf.convert_to_tensor(images)
    squeeze = images.shape.rank == 3
    batch = tf.cast(images[..., None] if squeeze else images, tf.float32)
    # TensorFlow's own warp (the one Keras' TensorFlow backend calls): the streams run it inside
    # tf.data, where Keras ops would need the TensorFlow backend and this works under any.
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=batch, transforms=tf.convert_to_tensor(transforms, tf.float32),
        output_shape=tf.shape(batch)[1:3], fill_value=255.0, interpolation="BILINEAR",
        fill_mode="CONSTANT")
    warped = tf.cast(tf.round(tf.clip_by_value(warped, 0, 255)), images.dtype)
    return warped[..., 0] if squeeze else warped


def turned_versions(images: np.ndarray, mirror: bool = False) -> np.ndarray:
    """Return the quarter turns of a (n, h, w) stack, and of its mirror image, as (4 or 8, n, h, w).

    Version ``k`` is ``np.rot90`` by ``k % 4`` quarter turns, of the left-right mirror image when
    ``k >= 4``: the order of ``rotation_classes``.

    Raises:
        ValueError: ``images`` is not a (n, height, width) stack of square images.
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"expected a (n, size, size) stack of square drawings, "
                         f"got shape {images.shape}")
    sides = (images, images[:, :, ::-1]) if mirror else (images,)
    return np.stack([np.rot90(side, k, axes=(1, 2)) for side in sides for k in range(4)])


def rotation_classes(images: np.ndarray, labels: np.ndarray,
                     mirror: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Return the images turned by 0/90/180/270° (and mirrored) with each version a class.

    Version ``k`` of character ``label`` is class ``n * label + k``, with ``n`` 4 turns, or 8 when
    ``mirror`` adds the four turns of the left-right mirror image (see ``turned_versions``).
    """
    versions = turned_versions(images, mirror)
    n = len(versions)
    classes = np.concatenate([n * labels + k for k in range(n)]).astype(np.int32)
    return versions.reshape(-1, *versions.shape[2:]), classes


def distorted_copies(images: np.ndarray, copies: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``copies`` independently distorted versions of a uint8 batch as (copies, n, h, w).

    Raises:
        ValueError: ``copies`` is negative.
    """
    if copies < 0:
        raise ValueError(f"copies must be 0 or more, got {copies}")
    images = np.asarray(images, np.uint8)
    copied = np.empty((copies, *images.shape), np.uint8)
    # One copy at a time keeps the float32 warp of a large background set within memory.
    for k in range(copies):
        copied[k] = apply_affine(images, affine_transforms(len(images), images.shape[1], rng))
    return copied
