"""Few-shot evaluation and class-aware sampling: episodes, prototypes, confidence intervals, pairs.

A few-shot model is judged the way it is used: in an *episode*, ``n_way`` classes are drawn, each
gives ``k_shot`` labelled *support* images and ``n_query`` unseen *query* images; a query is given
the class whose prototype (mean support embedding) is nearest. Accuracy is averaged over many random
episodes and reported with a 95% confidence interval.

Pairs follow the course's label convention (:mod:`course_utils.labels`): ``SIMILAR = 1`` for two
images of one class, ``DISSIMILAR = 0`` otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from .labels import DISSIMILAR, SIMILAR
from .pairs import PairIndex


@dataclass(frozen=True)
class Episode:
    """One N-way K-shot task: indices of support and query images and their episode labels.

    ``classes[j]`` is the dataset label of episode class ``j``; ``support_labels`` and
    ``query_labels`` hold episode classes ``0 .. n_way - 1``.
    """

    classes: np.ndarray
    support: np.ndarray
    support_labels: np.ndarray
    query: np.ndarray
    query_labels: np.ndarray


@dataclass(frozen=True)
class FewShotResult:
    """Accuracy over many episodes, its 95% confidence interval and every query's prediction."""

    n_way: int
    k_shot: int
    accuracies: np.ndarray
    true_labels: np.ndarray
    predicted_labels: np.ndarray

    @property
    def mean(self) -> float:
        """Return the mean accuracy over episodes."""
        return float(np.mean(self.accuracies))

    @property
    def ci95(self) -> float:
        """Return the half-width of the 95% confidence interval of the mean accuracy."""
        return confidence_interval(self.accuracies)[1]

    def __str__(self) -> str:
        return (f"{self.n_way}-way {self.k_shot}-shot: {self.mean:.3f} ± {self.ci95:.3f} "
                f"over {len(self.accuracies)} episodes")


def confidence_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Return the mean of ``values`` and the half-width of its (Student-t) confidence interval.

    Raises:
        ValueError: no values, or ``confidence`` not strictly between 0 and 1.
    """
    from scipy import stats

    values = np.asarray(values, dtype=np.float64).ravel()
    if len(values) == 0:
        raise ValueError("no values to average")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if len(values) == 1:
        return float(values[0]), math.inf
    sem = values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean()), float(sem * stats.t.ppf((1 + confidence) / 2, len(values) - 1))


def _check_episode_request(labels: np.ndarray, n_way: int, k_shot: int, n_query: int) -> np.ndarray:
    if n_way < 2 or k_shot < 1 or n_query < 1:
        raise ValueError(f"need n_way >= 2, k_shot >= 1 and n_query >= 1, got n_way={n_way}, "
                         f"k_shot={k_shot}, n_query={n_query}")
    classes, counts = np.unique(labels, return_counts=True)
    usable = classes[counts >= k_shot + n_query]
    if len(usable) < n_way:
        raise ValueError(f"a {n_way}-way {k_shot}-shot episode with {n_query} queries per class "
                         f"needs {n_way} classes with at least {k_shot + n_query} images; only "
                         f"{len(usable)} of {len(classes)} classes have that many "
                         f"(smallest class: {counts.min()} images)")
    return usable


def sample_episode(labels: Sequence[int], n_way: int, k_shot: int, n_query: int,
                   rng: np.random.Generator) -> Episode:
    """Draw one episode: ``n_way`` classes, ``k_shot`` support and ``n_query`` query images each.

    Support and query images of an episode never overlap.

    Raises:
        ValueError: bad sizes, or fewer than ``n_way`` classes with ``k_shot + n_query`` images.
    """
    labels = np.asarray(labels)
    usable = _check_episode_request(labels, n_way, k_shot, n_query)
    classes = rng.choice(usable, size=n_way, replace=False)
    support, query = [], []
    for cls in classes:
        chosen = rng.choice(np.flatnonzero(labels == cls), size=k_shot + n_query, replace=False)
        support.append(chosen[:k_shot])
        query.append(chosen[k_shot:])
    return Episode(classes, np.concatenate(support), np.repeat(np.arange(n_way), k_shot),
                   np.concatenate(query), np.repeat(np.arange(n_way), n_query))


def sample_episodes(labels: Sequence[int], n_way: int, k_shot: int, n_query: int,
                    episodes: int, seed: int = 0) -> Iterator[Episode]:
    """Yield ``episodes`` seeded episodes (see :func:`sample_episode`).

    Raises:
        ValueError: bad sizes, or too few classes with enough images.
    """
    labels = np.asarray(labels)
    _check_episode_request(labels, n_way, k_shot, n_query)
    rng = np.random.default_rng(seed)
    for _ in range(episodes):
        yield sample_episode(labels, n_way, k_shot, n_query, rng)


def prototypes(embeddings: np.ndarray, labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Return the sorted classes in ``labels`` and the mean embedding (prototype) of each."""
    embeddings, labels = np.asarray(embeddings), np.asarray(labels)
    classes = np.unique(labels)
    return classes, np.stack([embeddings[labels == c].mean(axis=0) for c in classes])


def nearest_prototype(queries: np.ndarray, classes: np.ndarray,
                      centroids: np.ndarray) -> np.ndarray:
    """Return, for each query embedding, the class of the nearest prototype (Euclidean)."""
    queries = np.asarray(queries, dtype=np.float64)
    centroids = np.asarray(centroids, dtype=np.float64)
    squared = (np.sum(queries ** 2, axis=1, keepdims=True) - 2 * queries @ centroids.T
               + np.sum(centroids ** 2, axis=1))
    return np.asarray(classes)[np.argmin(squared, axis=1)]


def evaluate_fewshot(embeddings: np.ndarray, labels: Sequence[int], n_way: int, k_shot: int,
                     n_query: int, episodes: int, seed: int = 0) -> FewShotResult:
    """Classify queries by nearest prototype over many episodes; return accuracies and predictions.

    ``true_labels``/``predicted_labels`` hold dataset labels, ready for a confusion matrix.

    Raises:
        ValueError: embeddings and labels differ in length, bad sizes, or too few images.
    """
    embeddings, labels = np.asarray(embeddings), np.asarray(labels)
    if len(embeddings) != len(labels):
        raise ValueError(f"{len(embeddings)} embeddings but {len(labels)} labels")
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    accuracies, truth, predicted = [], [], []
    for episode in sample_episodes(labels, n_way, k_shot, n_query, episodes, seed):
        classes, centroids = prototypes(embeddings[episode.support], episode.support_labels)
        guess = nearest_prototype(embeddings[episode.query], classes, centroids)
        accuracies.append(np.mean(guess == episode.query_labels))
        truth.append(episode.classes[episode.query_labels])
        predicted.append(episode.classes[guess])
    return FewShotResult(n_way, k_shot, np.array(accuracies), np.concatenate(truth),
                         np.concatenate(predicted))


def kaggle_style_accuracy(distances: Sequence[float], same: Sequence[int],
                          threshold: float = 0.5) -> float:
    """Return the Kaggle notebook's "accuracy": ``same[distances < threshold].mean()``.

    This is the fraction of truly same-class pairs among the pairs *predicted* same, i.e. the
    precision of the "same" decision, not accuracy. It is 0 when no pair is predicted same.

    Raises:
        ValueError: the two sequences differ in length or are empty.
    """
    distances = np.asarray(distances, dtype=np.float64).ravel()
    same = np.asarray(same).ravel()
    if len(distances) != len(same) or len(same) == 0:
        raise ValueError(f"need equally many, at least one, distances and labels, got "
                         f"{len(distances)} and {len(same)}")
    predicted_same = distances < threshold
    return float(same[predicted_same].mean()) if predicted_same.any() else 0.0


def balanced_pairs(labels: Sequence[int], n_pairs: int, seed: int = 0) -> PairIndex:
    """Draw ``n_pairs`` random index pairs, half of one class (label ``SIMILAR``), half of two.

    Classes are drawn uniformly, so a small class is paired as often as a big one; a pair never
    shows one image twice.

    Raises:
        ValueError: fewer than two classes, a class with a single image, or ``n_pairs < 2``.
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"need at least 2 classes to make different-class pairs, got "
                         f"{len(classes)}")
    if counts.min() < 2:
        raise ValueError(f"class {classes[np.argmin(counts)]} has a single image: it cannot form a "
                         f"same-class pair")
    if n_pairs < 2:
        raise ValueError(f"n_pairs must be at least 2, got {n_pairs}")
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(labels == c) for c in classes]
    n_same = n_pairs // 2
    left, right = [], []
    for cls in rng.integers(len(classes), size=n_same):
        a, b = rng.choice(members[cls], size=2, replace=False)
        left.append(a)
        right.append(b)
    for _ in range(n_pairs - n_same):
        first, second = rng.choice(len(classes), size=2, replace=False)
        left.append(rng.choice(members[first]))
        right.append(rng.choice(members[second]))
    label = np.concatenate([np.full(n_same, SIMILAR), np.full(n_pairs - n_same, DISSIMILAR)])
    order = rng.permutation(n_pairs)
    return PairIndex(np.array(left, np.int32)[order], np.array(right, np.int32)[order],
                     label.astype(np.int8)[order])


def class_balanced_batches(labels: Sequence[int], classes_per_batch: int, per_class: int,
                           n_batches: int, seed: int = 0) -> np.ndarray:
    """Return ``(n_batches, classes_per_batch * per_class)`` indices: P classes x K images a batch.

    Such "PK" batches give every anchor positives and negatives inside its batch, which batch-hard
    triplet mining needs. A class smaller than ``per_class`` is sampled with replacement.

    Raises:
        ValueError: fewer than 2 classes or images per class in a batch, no batch, or fewer
            classes in ``labels`` than ``classes_per_batch``.
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if classes_per_batch < 2 or per_class < 2 or n_batches < 1:
        raise ValueError(f"need classes_per_batch >= 2, per_class >= 2 and n_batches >= 1, got "
                         f"{classes_per_batch}, {per_class} and {n_batches}")
    if len(classes) < classes_per_batch:
        raise ValueError(f"{classes_per_batch} classes per batch asked, the labels hold only "
                         f"{len(classes)}")
    rng = np.random.default_rng(seed)
    members = {c: np.flatnonzero(labels == c) for c in classes}
    batches = np.empty((n_batches, classes_per_batch * per_class), dtype=np.int32)
    for b in range(n_batches):
        chosen = rng.choice(classes, size=classes_per_batch, replace=False)
        batches[b] = np.concatenate([
            rng.choice(members[c], size=per_class, replace=len(members[c]) < per_class)
            for c in chosen])
    return batches


def pair_distances(embeddings: np.ndarray, pairs: PairIndex) -> np.ndarray:
    """Return the Euclidean distance between the embeddings of each pair."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    return np.linalg.norm(embeddings[pairs.left] - embeddings[pairs.right], axis=1)


def batch_dataset(images: np.ndarray, labels: np.ndarray, batches: np.ndarray):
    """Stream ``(images, labels)`` batches of uint8 pixels, one row of ``batches`` indices each.

    Like :func:`course_utils.pairs.pair_dataset`, the images stay in one numpy array and only the
    batch in flight is gathered.
    """
    import tensorflow as tf

    shape = (batches.shape[1],) + images.shape[1:]

    @tf.autograph.experimental.do_not_convert
    def gather(index):
        batch, batch_labels = tf.numpy_function(lambda i: (images[i], labels[i].astype(np.int32)),
                                                [index], [images.dtype, tf.int32], stateful=False)
        batch.set_shape(shape)
        batch_labels.set_shape(shape[:1])
        return batch, batch_labels

    return tf.data.Dataset.from_tensor_slices(batches).map(gather).prefetch(1)
