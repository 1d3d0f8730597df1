"""Pair making for Siamese training: rotation views, index pairs, group-disjoint splits, tf.data.

The seed article builds every pair as pixels (``np.array(pairs)``: 2.4 GB for 2,000 tiles at 128x128),
keeps the first 90% of its pairs for training and the rest for validation, so views of one tile
land on both sides; draws a "similar" partner with ``random.choice(range(i, i+3))``, which can be
the image itself or a view of the next tile; and draws negatives with
``numbers[:i-3] + numbers[i+3:]``, which for ``i < 3`` wraps around and can pick a view of the same
tile. Here pairs are **index pairs** into one array of views, split by source tile, and streamed
into batches by ``tf.data``.

Labels follow the course's convention (:mod:`course_utils.labels`): ``SIMILAR = 1``, ``DISSIMILAR = 0``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import cv2
import numpy as np

from .labels import DISSIMILAR, SIMILAR
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Views:
    """Views of source images: ``images[i]`` is a view of source ``groups[i]`` at ``angles[i]``."""

    images: np.ndarray
    groups: np.ndarray
    angles: np.ndarray

    def __len__(self) -> int:
        return len(self.groups)


@dataclass(frozen=True)
class PairIndex:
    """Pairs as indices into one image array, with their labels (1 similar, 0 dissimilar)."""

    left: np.ndarray
    right: np.ndarray
    label: np.ndarray

    def __len__(self) -> int:
        return len(self.label)

    @property
    def nbytes(self) -> int:
        """Return the memory the pairs take (indices and labels, no pixels)."""
        return self.left.nbytes + self.right.nbytes + self.label.nbytes

    def identical(self) -> np.ndarray:
        """Return a mask of pairs that are an image with itself."""
        return self.left == self.right

    def select(self, mask: np.ndarray) -> "PairIndex":
        """Return the pairs where ``mask`` is True."""
        return PairIndex(self.left[mask], self.right[mask], self.label[mask])

    @staticmethod
    def concat(parts: Sequence["PairIndex"]) -> "PairIndex":
        """Return the pairs of all ``parts`` in order."""
        return PairIndex(*(np.concatenate([getattr(p, f) for p in parts])
                           for f in ("left", "right", "label")))


def load_size(view_size: int) -> int:
    """Return the tile size to load so a view of ``view_size`` fits inside any rotation of it."""
    return math.ceil(view_size * math.sqrt(2))


def rotated_view(image: np.ndarray, angle: float, size: int) -> np.ndarray:
    """Rotate ``image`` by ``angle`` degrees about its centre and cut out the central ``size`` square.

    Every view uses the same crop, small enough to lie inside the tile at any angle, so no blank
    corner and no change of scale gives the rotation away.

    Raises:
        ValueError: the image is too small for a ``size`` crop at every angle.
    """
    height, width = image.shape[:2]
    if size > min(height, width) / math.sqrt(2) + 1e-6:
        raise ValueError(f"a {size}px view needs a tile of at least {load_size(size)}px, "
                         f"got {width}x{height}: load tiles at pairs.load_size({size})")
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    rotated = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT)
    top, left = (height - size) // 2, (width - size) // 2
    return rotated[top:top + size, left:left + size]


def hard_view(image: np.ndarray, angle: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Return a rotated view made harder: flip, crop-and-zoom, blur, brightness and an occlusion."""
    view = rotated_view(image, angle, size)
    if rng.random() < 0.5:
        view = view[:, ::-1]
    crop = int(size * rng.uniform(0.7, 1.0))
    top, left = rng.integers(0, size - crop + 1, size=2)
    view = cv2.resize(np.ascontiguousarray(view[top:top + crop, left:left + crop]), (size, size),
                      interpolation=cv2.INTER_LINEAR)
    sigma = rng.uniform(0.1, 1.5)
    view = cv2.GaussianBlur(view, (0, 0), sigma)
    gain, bias = rng.uniform(0.7, 1.3), rng.uniform(-25, 25)
    view = np.clip(view.astype(np.float32) * gain + bias, 0, 255)
    side = int(size * rng.uniform(0.15, 0.3))
    top, left = rng.integers(0, size - side + 1, size=2)
    view[top:top + side, left:left + side] = view.mean(axis=(0, 1))
    return view.astype(np.uint8)


def make_views(images: np.ndarray, size: int, n_views: int = 3, seed: int = 0,
               hard: bool = False) -> Views:
    """Make ``n_views`` views per source image: view 0 unrotated, the rest at random angles.

    With ``n_views=3`` these are the seed's rotation triplets (three consecutive views per source),
    all cut as the same central square so no blank corner gives an angle away. ``hard=True`` makes every
    rotated view a :func:`hard_view`.

    Raises:
        ValueError: fewer than 2 views, or tiles too small for ``size``.
    """
    if n_views < 2:
        raise ValueError(f"n_views must be at least 2 to make similar pairs, got {n_views}")
    rng = np.random.default_rng(seed)
    angles = np.concatenate([np.zeros((len(images), 1)),
                             rng.uniform(0, 360, size=(len(images), n_views - 1))], axis=1)
    views = np.empty((len(images), n_views, size, size) + images.shape[3:], dtype=np.uint8)
    for i, image in enumerate(images):
        for v, angle in enumerate(angles[i]):
            views[i, v] = (hard_view(image, angle, size, rng) if hard and v > 0
                           else rotated_view(image, angle, size))
    return Views(views.reshape((-1,) + views.shape[2:]),
                 np.repeat(np.arange(len(images)), n_views).astype(np.int32), angles.ravel())


def group_split(groups: np.ndarray, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                seed: int = 0) -> dict[str, np.ndarray]:
    """Split view indices into train/val/test so that all views of a source fall in one split.

    Raises:
        ValueError: fractions do not sum to 1, or a split would get no source.
    """
    fractions = np.asarray(fractions, dtype=float)
    if len(fractions) != len(SPLITS) or np.any(fractions < 0) or not np.isclose(fractions.sum(), 1):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got "
                         f"{list(fractions)}")
    sources = np.random.default_rng(seed).permutation(np.unique(groups))
    counts = np.floor(fractions * len(sources)).astype(int)
    counts[0] = len(sources) - counts[1:].sum()
    if np.any((counts == 0) & (fractions > 0)):
        raise ValueError(f"{len(sources)} source images are too few for a {list(fractions)} split")
    bounds = np.cumsum(counts)[:-1]
    return {name: np.flatnonzero(np.isin(groups, part))
            for name, part in zip(SPLITS, np.split(sources, bounds))}


def make_pairs(groups: np.ndarray, among: np.ndarray | None = None, seed: int = 0,
               include_identical: bool = False, negatives_per_positive: int = 1) -> PairIndex:
    """Make balanced index pairs: every two views of one source (similar), plus random negatives.

    Only views listed in ``among`` (default: all) take part, so pairs never cross a split.
    Negatives pair a view with a view of another source. ``include_identical`` adds the seed's
    image-with-itself pairs as extra positives.

    Raises:
        ValueError: fewer than two sources, or a source with a single view.
    """
    rng = np.random.default_rng(seed)
    among = np.arange(len(groups)) if among is None else np.asarray(among)
    local = groups[among]
    sources, counts = np.unique(local, return_counts=True)
    if len(sources) < 2:
        raise ValueError(f"need views of at least 2 source images to make negatives, got "
                         f"{len(sources)}")
    if counts.min() < 2:
        raise ValueError("every source needs at least 2 views to make similar pairs")
    order = among[np.argsort(local, kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    left, right = [], []
    for a in range(counts.max()):
        for b in range(a + 1, counts.max()):
            has = counts > b
            left.append(order[starts[has] + a])
            right.append(order[starts[has] + b])
    if include_identical:
        left.append(among)
        right.append(among)
    pos_left, pos_right = np.concatenate(left), np.concatenate(right)
    n_neg = len(pos_left) * negatives_per_positive
    neg_left = rng.choice(among, size=n_neg)
    neg_right = rng.choice(among, size=n_neg)
    clash = groups[neg_left] == groups[neg_right]
    while clash.any():
        neg_right[clash] = rng.choice(among, size=int(clash.sum()))
        clash = groups[neg_left] == groups[neg_right]
    pairs = PairIndex(np.concatenate([pos_left, neg_left]).astype(np.int32),
                      np.concatenate([pos_right, neg_right]).astype(np.int32),
                      np.concatenate([np.full(len(pos_left), SIMILAR),
                                      np.full(n_neg, DISSIMILAR)]).astype(np.int8))
    return pairs.select(rng.permutation(len(pairs)))


def split_pairs(groups: np.ndarray, splits: Mapping[str, np.ndarray], seed: int = 0,
                include_identical: bool = False) -> dict[str, PairIndex]:
    """Make pairs inside each split of :func:`group_split` (seeded differently per split)."""
    return {name: make_pairs(groups, among, seed + k, include_identical)
            for k, (name, among) in enumerate(splits.items())}


def pair_dataset(images: np.ndarray, pairs: PairIndex, batch_size: int, shuffle: bool = True,
                 seed: int = 0, augment: Callable | None = None):
    """Stream ``((left, right), label)`` batches of uint8 pixels from ``images`` by index.

    Pixels of a pair exist only while its batch is in flight, so memory does not grow with the
    number of pairs; models scale pixels themselves (a ``Rescaling(1 / 255)`` first layer), which
    also makes a saved model take raw images. ``augment`` (a tf function on a batch) is applied to
    both sides. Labels are float32 (1 similar, 0 dissimilar).
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(
        (pairs.left, pairs.right, pairs.label.astype(np.float32)))
    if shuffle:
        dataset = dataset.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    shape = (None,) + images.shape[1:]

    @tf.autograph.experimental.do_not_convert
    def gather(left, right, label):
        # Indexing the numpy array keeps a single copy of the images: the caller's.
        sides = tf.numpy_function(lambda a, b: (images[a], images[b]), [left, right],
                                  [images.dtype, images.dtype], stateful=False)
        for side in sides:
            side.set_shape(shape)
        if augment is not None:
            sides = [augment(side) for side in sides]
        return tuple(sides), label

    # One batch in flight keeps a training step fed: gathering takes milliseconds.
    return dataset.batch(batch_size).map(gather).prefetch(1)


def seed_pair_indices(n_images: int, seed: int = 0) -> PairIndex:
    """Return the pairs the seed's ``make_pairs`` draws, as indices (bugs included, on purpose).

    For each image ``i`` of consecutive rotation triplets: ``(i, i)`` similar, ``(i, j)`` similar
    with ``j = random.choice(range(i, i+3))`` (``i`` itself a third of the time, and a view of the
    next tile unless ``i`` opens its triplet), and ``(i, k)`` dissimilar with ``k`` drawn from
    ``numbers[:i-3] + numbers[i+3:]``. ``j`` stops at the last image, where the seed's index would
    run past the end.
    """
    rng = random.Random(seed)
    numbers = list(range(n_images))
    left, right, label = [], [], []
    for i in numbers:
        j = rng.choice(range(i, min(i + 3, n_images)))
        k = rng.choice(numbers[:i - 3] + numbers[i + 3:])
        left += [i, i, i]
        right += [i, j, k]
        label += [SIMILAR, SIMILAR, DISSIMILAR]
    return PairIndex(np.array(left, np.int32), np.array(right, np.int32), np.array(label, np.int8))


def seed_make_pairs(images: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Build pairs of pixels the seed's way: a Python list of pairs turned into one array.

    The seed passes float32 images scaled to [0, 1], so 2,000 images at 128x128 become 6,000
    pairs in one 2.4 GB array.
    """
    index = seed_pair_indices(len(images), seed)
    pairs = [[images[a], images[b]] for a, b in zip(index.left, index.right)]
    return np.array(pairs), index.label.copy()


def seed_split(n_pairs: int, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Return the seed's split over pairs, in the order it made them: the first pairs train, the last validate."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie between 0 and 1, got {val_fraction}")
    n_train = int(n_pairs * (1 - val_fraction))
    return np.arange(n_train), np.arange(n_train, n_pairs)


def leaked_fraction(train: PairIndex, evaluate: PairIndex, groups: np.ndarray) -> float:
    """Return the fraction of evaluation pairs showing a source that training pairs also show."""
    seen = np.zeros(int(groups.max()) + 1, dtype=bool)
    seen[groups[train.left]] = True
    seen[groups[train.right]] = True
    leaked = seen[groups[evaluate.left]] | seen[groups[evaluate.right]]
    return float(leaked.mean()) if len(evaluate) else 0.0


def wrong_negatives(pairs: PairIndex, groups: np.ndarray) -> np.ndarray:
    """Return a mask of pairs labelled dissimilar although both views come from one source."""
    return (pairs.label == DISSIMILAR) & (groups[pairs.left] == groups[pairs.right])


def wrong_positives(pairs: PairIndex, groups: np.ndarray) -> np.ndarray:
    """Return a mask of pairs labelled similar although their views come from two sources."""
    return (pairs.label == SIMILAR) & (groups[pairs.left] != groups[pairs.right])
