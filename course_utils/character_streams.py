"""``tf.data`` streams of Omniglot characters for training: balanced pairs and rotation classes.

Every stream draws its batches from a seeded generator per epoch (a ``checkpoints.EpochSource``
tells it which epoch a resumed run is in) and distorts drawings with Koch's affine maps
(:mod:`course_utils.drawings`). Pair labels: 1 = same character (:mod:`course_utils.labels`).
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np

from course_utils.checkpoints import EpochSource
from course_utils.drawings import affine_transforms, apply_affine
from course_utils.labels import DISSIMILAR, SIMILAR
from course_utils.pairs import PairIndex, pair_dataset


def pair_indices(labels: np.ndarray, n_pairs: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw balanced pairs: even positions two images of one character, odd ones of two.

    Raises:
        ValueError: fewer than two characters, or no character with two images.
    """
    order = np.argsort(labels, kind="stable")
    classes, starts, counts = np.unique(np.asarray(labels)[order], return_index=True,
                                        return_counts=True)
    if len(classes) < 2 or counts.max() < 2:
        raise ValueError("pairs need at least two characters and a character with two images")
    same = np.arange(n_pairs) % 2 == 0
    n_same, n_diff = int(same.sum()), int((~same).sum())
    left, right = np.empty(n_pairs, dtype=np.int64), np.empty(n_pairs, dtype=np.int64)

    pairable = np.flatnonzero(counts >= 2)
    cls = pairable[rng.integers(len(pairable), size=n_same)]
    first = rng.integers(counts[cls])
    # Drawing the second from count - 1 slots and skipping the first keeps the two distinct.
    second = rng.integers(counts[cls] - 1)
    second += second >= first
    left[same], right[same] = order[starts[cls] + first], order[starts[cls] + second]

    a = rng.integers(len(classes), size=n_diff)
    b = rng.integers(len(classes) - 1, size=n_diff)
    b += b >= a
    left[~same] = order[starts[a] + rng.integers(counts[a])]
    right[~same] = order[starts[b] + rng.integers(counts[b])]
    return left, right, np.where(same, SIMILAR, DISSIMILAR).astype(np.float32)


def pair_stream(images: np.ndarray, labels: np.ndarray, batch_size: int, steps: int,
                seed: int = 0, augment: bool = True):
    """Return a ``tf.data`` stream of ``steps`` batches of ``((left, right), same)`` uint8 pairs.

    The course's one pair stream, ``pairs.pair_dataset``, over ``steps`` batches of balanced pairs
    (half same-character, label 1, half different); with ``augment`` every image of a batch gets
    its own Koch distortion, drawn anew each time the batch is read.
    """
    left, right, same = pair_indices(labels, batch_size * steps, np.random.default_rng(seed))
    index = PairIndex(left.astype(np.int32), right.astype(np.int32), same.astype(np.int8))
    distort = koch_distortion(images.shape[1], seed) if augment else None
    return pair_dataset(images, index, batch_size, shuffle=False, augment=distort)


def koch_distortion(image_size: int, seed: int = 0) -> Callable:
    """Return a batch augmentation for ``tf.data``: each image warped by its own Koch affine map."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)

    def distort(batch):
        transforms = tf.numpy_function(lambda n: affine_transforms(int(n), image_size, rng),
                                       [tf.shape(batch)[0]], tf.float32, stateful=True)
        transforms.set_shape((None, 8))
        return apply_affine(batch, transforms)

    return distort


def embedding_pair_stream(embeddings: np.ndarray, labels: np.ndarray, batch_size: int, steps: int,
                          seed: int = 0, clock: EpochSource | None = None):
    """Return a ``tf.data`` stream of ``steps`` batches of ``((left, right), same)`` embedding pairs.

    For training a head on a frozen tower: the embeddings are computed once, and pairs of them are
    drawn afresh every epoch as in ``pair_stream``. Batches are gathered in numpy, so a large bank
    never becomes a TensorFlow constant. With a ``clock`` (``checkpoints.EpochClock``, also passed
    to ``fit`` as a callback) a resumed ``fit`` sees the batches an uninterrupted one would have.

    Raises:
        ValueError: the embeddings are not one row per label.
    """
    import tensorflow as tf

    embeddings = np.asarray(embeddings, np.float32)
    if embeddings.ndim != 2 or len(embeddings) != len(labels):
        raise ValueError(f"need one embedding row per label: got embeddings of shape {embeddings.shape} "
                         f"for {len(labels)} labels")
    def draws(rng):
        for _ in range(steps):
            yield pair_indices(labels, batch_size, rng)

    epoch = _epochs(seed, clock, draws)

    def batches():
        for left, right, same in epoch():
            yield (embeddings[left], embeddings[right]), same

    side = tf.TensorSpec((None, embeddings.shape[1]), tf.float32)
    signature = ((side, side), tf.TensorSpec((None,), tf.float32))
    return _generated(batches, signature, steps).prefetch(2)


def class_stream(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int = 0,
                 augment: bool = True, clock: EpochSource | None = None):
    """Return a ``tf.data`` stream of one shuffled epoch of ``(image, label)`` batches.

    Each epoch continues the previous one's generator. With a ``clock`` (``checkpoints.EpochClock``,
    also passed to ``fit`` as a callback) a resumed ``fit`` sees the batches an uninterrupted one
    would have.
    """
    def draws(rng):
        order = rng.permutation(len(labels))
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            yield index, labels[index], _transforms(len(index), images.shape[1], rng, augment)

    batches = _epochs(seed, clock, draws)

    def gather(index, label, transforms):
        import tensorflow as tf

        pixels = tf.gather(images, index)
        return (apply_affine(pixels, transforms) if augment else pixels), label

    return _stream(batches, gather, (np.int64, labels.dtype, np.float32), -(-len(labels) // batch_size))


def _epochs(seed: int, clock: EpochSource | None,
            draws: Callable[[np.random.Generator], Iterator]) -> Callable[[], Iterator]:
    """Return a generator function giving one epoch of ``draws`` from one generator seeded by ``seed``.

    Each epoch continues where the last one stopped. With a clock, a ``fit`` resumed at epoch ``e``
    first replays (and discards) the random draws of the epochs before ``e``, so it sees exactly
    the batches an uninterrupted run would have, and an uninterrupted run draws what it always drew.
    """
    state = {"rng": np.random.default_rng(seed), "next": 0}

    def epoch() -> Iterator:
        if clock is not None:
            if clock.epoch < state["next"]:  # a new fit from epoch 0: start the sequence again
                state.update(rng=np.random.default_rng(seed), next=0)
            for _ in range(state["next"], clock.epoch):
                for _ in draws(state["rng"]):
                    pass
            state["next"] = clock.epoch
        state["next"] += 1
        yield from draws(state["rng"])

    return epoch


def _transforms(n: int, size: int, rng: np.random.Generator, augment: bool) -> np.ndarray:
    return affine_transforms(n, size, rng) if augment else np.zeros((n, 8), np.float32)


def _stream(batches: Callable, gather: Callable, dtypes: Sequence[type], n_batches: int):
    import tensorflow as tf

    signature = tuple(tf.TensorSpec((None, 8) if i == len(dtypes) - 1 else (None,), tf.as_dtype(d))
                      for i, d in enumerate(dtypes))
    dataset = _generated(batches, signature, n_batches)
    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def _generated(batches: Callable, signature, n_batches: int):
    """The generator's batches as a ``tf.data`` stream that knows how many there are."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    # A generator's length is unknown to Keras, which then warns that the data "ran out" after the
    # first epoch and shows no progress total; the stream knows its length, so it says so.
    return dataset.apply(tf.data.experimental.assert_cardinality(n_batches))
