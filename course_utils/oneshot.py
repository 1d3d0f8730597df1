"""Lake's 20-way one-shot task: reading the runs, scoring a model on them, and training streams.

A run (``runNN/``) holds ``training/classNN.png`` (one example each of 20 characters, by one set of
drawers), ``test/itemNN.png`` (20 queries, the same characters by other drawers) and
``class_labels.txt``, one line per query: ``runNN/test/itemNN.png runNN/training/classMM.png``, the
query and its correct answer. A model answers a query with the training image it finds most
similar; the accuracy over all queries of all runs is the one-shot accuracy (Koch et al. 2015:
92.0% for their Siamese network, Lake et al. 2015: 95.5% for people, 21.7% for pixel 1-NN).

Here also: Lake-style trials built from any labelled Omniglot images (for validation on held-out
characters), Koch's random affine distortions, and ``tf.data`` streams of balanced same/different
character pairs and of rotation-augmented classes. Pair labels: 1 = same character (:mod:`course_utils.labels`).
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence

import numpy as np

from course_utils.datasets.core import DataError, check_member, decode_image
from course_utils.labels import DISSIMILAR, SIMILAR

_RUN = re.compile(r"^run\d+$")


@dataclass(frozen=True)
class OneShotRun:
    """One run: ``training[answers[i]]`` is the correct answer to query ``test[i]``."""

    name: str
    training: np.ndarray
    test: np.ndarray
    answers: np.ndarray
    training_names: list[str] = field(default_factory=list)
    test_names: list[str] = field(default_factory=list)

    @property
    def n_way(self) -> int:
        return len(self.training)


@dataclass(frozen=True)
class OneShotResult:
    """Which training image a model picked for every query of every run."""

    runs: list[str]
    picked: list[np.ndarray]
    answers: list[np.ndarray]

    @property
    def correct(self) -> list[np.ndarray]:
        return [p == a for p, a in zip(self.picked, self.answers)]

    @property
    def trials(self) -> int:
        return int(sum(len(a) for a in self.answers))

    @property
    def accuracy(self) -> float:
        """Return the fraction of all queries (of all runs) answered correctly."""
        return float(np.concatenate(self.correct).mean())

    def per_run(self) -> dict[str, float]:
        """Return the accuracy of each run."""
        return {name: float(c.mean()) for name, c in zip(self.runs, self.correct)}


def parse_class_labels(text: str, run: str) -> list[tuple[str, str]]:
    """Parse ``class_labels.txt``: return ``(test file, training file)`` names, one per query.

    Raises:
        DataError: a line is not two paths ``runNN/test/X.png runNN/training/Y.png`` of ``run``.
    """
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        test, training = (parts + ["", ""])[:2]
        if (len(parts) != 2 or not test.startswith(f"{run}/test/")
                or not training.startswith(f"{run}/training/")):
            raise DataError(f"{run}/class_labels.txt line {number} reads {line.strip()!r}: "
                            f"expected '{run}/test/itemNN.png {run}/training/classNN.png'")
        pairs.append((test.split("/")[-1], training.split("/")[-1]))
    if not pairs:
        raise DataError(f"{run}/class_labels.txt is empty")
    return pairs


def load_runs(sources: str | os.PathLike | Sequence[str | os.PathLike],
              image_size: int | None = None) -> list[OneShotRun]:
    """Read one-shot runs from zips (``all_runs.zip``) or folders (of ``runNN/``, or one run).

    Images are grayscale uint8, resized with area averaging when ``image_size`` is given. Runs
    are returned sorted by name; a run found in several sources is read once.

    Raises:
        DataError: a source is missing or holds no run, a run lacks ``class_labels.txt`` or an
            image it names, a file is not an image, or a zip member has an absolute path or a
            ``..`` part.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    runs: dict[str, OneShotRun] = {}
    for source in sources:
        for run in _runs_of(Path(source).expanduser(), image_size):
            runs.setdefault(run.name, run)
    if not runs:
        raise DataError("no one-shot runs given")
    return [runs[name] for name in sorted(runs)]


def _runs_of(source: Path, image_size: int | None) -> list[OneShotRun]:
    if source.is_dir():
        if (source / "class_labels.txt").is_file():
            folders = [source]
        else:
            folders = sorted(p for p in source.iterdir() if p.is_dir() and _RUN.match(p.name))
        if not folders:
            raise DataError(f"{str(source)!r} holds no one-shot run: expected runNN/ folders with "
                            f"class_labels.txt, training/ and test/ (the all_runs.zip layout)")
        return [_build_run(f.name, lambda name, f=f: _read_file(f / name),
                           lambda: sorted(p.name for p in (f / "training").glob("*.png")), image_size)
                for f in folders]
    if not source.is_file():
        raise DataError(f"one-shot runs {str(source)!r} do not exist")
    try:
        with zipfile.ZipFile(source) as archive:
            for member in archive.namelist():
                check_member(source, member)
            members = set(archive.namelist())
            # A run may sit at the top of the zip or one folder down (all_runs/run01/...).
            labels = sorted(m for m in members if re.search(r"(^|/)run\d+/class_labels\.txt$", m))
            if not labels:
                raise DataError(f"{str(source)!r} holds no runNN/class_labels.txt: not the "
                                f"all_runs.zip layout (runNN/training, runNN/test, "
                                f"runNN/class_labels.txt)")
            runs = []
            for member in labels:
                prefix = member[: -len("class_labels.txt")]
                name = prefix.rstrip("/").split("/")[-1]

                def read(rel: str, prefix: str = prefix) -> bytes:
                    if prefix + rel not in members:
                        raise DataError(f"{str(source)!r} lacks {prefix + rel}")
                    return archive.read(prefix + rel)

                def training(prefix: str = prefix) -> list[str]:
                    return sorted(m.rsplit("/", 1)[1] for m in members
                                  if m.startswith(prefix + "training/") and m.endswith(".png"))

                runs.append(_build_run(name, read, training, image_size, where=str(source)))
            return runs
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"cannot read one-shot runs zip {str(source)!r}: {error}") from error


def _read_file(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"one-shot run file {str(path)!r} is missing")
    return path.read_bytes()


def _build_run(name: str, read: Callable[[str], bytes], training_files: Callable[[], list[str]],
               image_size: int | None, where: str = "") -> OneShotRun:
    pairs = parse_class_labels(read("class_labels.txt").decode("utf-8", "replace"), name)
    test_names = [t for t, _ in pairs]
    # Every image in training/ is a candidate, also one that no query names.
    training_names = sorted(set(training_files()) | {c for _, c in pairs})
    if len(set(test_names)) != len(test_names):
        raise DataError(f"{name}/class_labels.txt lists a query twice")

    def image(folder: str, file: str) -> np.ndarray:
        return decode_image(read(f"{folder}/{file}"), image_size, "L",
                            f"{where + ':' if where else ''}{name}/{folder}/{file}")

    training = np.stack([image("training", f) for f in training_names])
    test = np.stack([image("test", f) for f in test_names])
    answers = np.array([training_names.index(c) for _, c in pairs], dtype=np.int32)
    return OneShotRun(name, training, test, answers, training_names, test_names)


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


def crop_runs(runs: Sequence[OneShotRun], image_size: int) -> list[OneShotRun]:
    """Return the runs with every drawing cut to its ink and resized (``crop_to_ink``)."""
    return [replace(r, training=crop_to_ink(r.training, image_size),
                    test=crop_to_ink(r.test, image_size)) for r in runs]


def score_runs(runs: Sequence[OneShotRun],
               similarity: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> OneShotResult:
    """Answer every query with the training image of highest ``similarity(test, training)``.

    ``similarity`` returns an (n_test, n_way) array; higher means more alike.

    Raises:
        ValueError: ``similarity`` returns the wrong shape or a non-finite value.
    """
    picked = []
    for run in runs:
        scores = np.asarray(similarity(run.test, run.training), dtype=np.float64)
        if scores.shape != (len(run.test), run.n_way):
            raise ValueError(f"similarity returned shape {scores.shape} for {run.name}; expected "
                             f"(queries, candidates) = {(len(run.test), run.n_way)}")
        if not np.all(np.isfinite(scores)):
            raise ValueError(f"similarity returned NaN or infinite scores for {run.name}")
        picked.append(scores.argmax(axis=1).astype(np.int32))
    return OneShotResult([r.name for r in runs], picked, [r.answers for r in runs])


def pixel_similarity(test: np.ndarray, training: np.ndarray) -> np.ndarray:
    """Return minus the Euclidean distance between raw pixels (the 1-nearest-neighbour baseline)."""
    a = test.reshape(len(test), -1).astype(np.float64) / 255
    b = training.reshape(len(training), -1).astype(np.float64) / 255
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return -np.sqrt(np.maximum(squared, 0))


def cosine_similarity(test: np.ndarray, training: np.ndarray) -> np.ndarray:
    """Return the cosine similarity between every row of ``test`` and of ``training``."""
    a = test.reshape(len(test), -1).astype(np.float64)
    b = training.reshape(len(training), -1).astype(np.float64)
    a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def runnable_alphabets(labels: np.ndarray, alphabets: np.ndarray, drawers: np.ndarray,
                       n_way: int = 20) -> dict[str, list]:
    """Return each alphabet with ``n_way`` characters drawn by two drawers, with those characters."""
    usable = {}
    for alphabet in np.unique(alphabets):
        chars = [c for c in np.unique(labels[alphabets == alphabet])
                 if len(np.unique(drawers[labels == c])) >= 2]
        if len(chars) >= n_way:
            usable[str(alphabet)] = chars
    return usable


def make_runs(images: np.ndarray, labels: np.ndarray, alphabets: np.ndarray,
              drawers: np.ndarray, n_runs: int, n_way: int = 20,
              seed: int = 0) -> list[OneShotRun]:
    """Build Lake-style runs: ``n_way`` characters of one alphabet, each drawn by two drawers.

    Within a run the one-shot examples come from one drawer per character and the queries from
    another, as in ``all_runs.zip``; use characters no model was trained on.

    Raises:
        ValueError: no alphabet has ``n_way`` characters with two drawers each.
    """
    rng = np.random.default_rng(seed)
    usable = runnable_alphabets(labels, alphabets, drawers, n_way)
    if not usable:
        raise ValueError(f"no alphabet has {n_way} characters drawn by two drawers: lower n_way")
    names = sorted(usable)
    runs = []
    for number in range(1, n_runs + 1):
        chars = rng.choice(usable[names[(number - 1) % len(names)]], n_way, replace=False)
        pick = []
        for c in chars:
            mine = np.flatnonzero(labels == c)
            two = rng.choice(np.unique(drawers[mine]), 2, replace=False)
            pick.append([rng.choice(mine[drawers[mine] == d]) for d in two])
        pick = np.array(pick)
        order = rng.permutation(n_way)
        runs.append(OneShotRun(f"trial{number:03d}", images[pick[:, 0]], images[pick[order, 1]],
                               order.astype(np.int32)))
    return runs


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

    Pairs are drawn afresh every epoch, half same-character (label 1), half different; with
    ``augment`` both sides get independent Koch distortions.
    """
    rng = np.random.default_rng(seed)

    def batches():
        for _ in range(steps):
            left, right, same = pair_indices(labels, batch_size, rng)
            yield left, right, same, _transforms(2 * batch_size, images.shape[1], rng, augment)

    def gather(left, right, same, transforms):
        import tensorflow as tf

        pixels = tf.gather(images, tf.concat([left, right], 0))
        if augment:
            pixels = apply_affine(pixels, transforms)
        return (pixels[:batch_size], pixels[batch_size:]), same

    return _stream(batches, gather, (np.int64, np.int64, np.float32, np.float32), steps)


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


class EpochSource(Protocol):
    """Anything that says which epoch (from 0) is being drawn, such as ``checkpoints.EpochClock``."""

    epoch: int


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
