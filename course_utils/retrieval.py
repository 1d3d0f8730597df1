"""Content-based retrieval: exact and approximate nearest-neighbour search, and how to score it.

A database of vectors (image codes) is searched with query vectors. :func:`exact_search` is the
brute-force reference; :class:`HnswIndex` wraps an hnswlib graph for fast approximate search;
:func:`recall_at_k` says how much of the exact answer an approximate search found. Retrieval
quality is scored from ``hits``, a boolean (queries, k) matrix that says whether the i-th result of
a query is relevant (for CIFAR-10: of the query's class), built by :func:`hits`.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

METRICS = ("euclidean", "cosine")


def _as_matrix(values: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2 or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n, dim), got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return values


def _check_k(k: int, n: int) -> None:
    if not 1 <= k <= n:
        raise ValueError(f"k={k} is out of range: choose 1 <= k <= {n} (the database size)")


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Return ``vectors`` scaled to unit length per row (all-zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.finfo(np.float32).tiny)


def exact_search(database: np.ndarray, queries: np.ndarray, k: int, metric: str = "euclidean",
                 chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Return the indices and distances of the ``k`` nearest database rows of every query.

    Brute force in chunks of queries; ``cosine`` distance is 1 - cosine similarity. Ties keep
    the lower database index first.

    Raises:
        ValueError: unknown metric, empty or non-finite input, mismatched dimensions, or k out
            of range.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: choose {' or '.join(METRICS)}")
    database, queries = _as_matrix(database, "database"), _as_matrix(queries, "queries")
    if database.shape[1] != queries.shape[1]:
        raise ValueError(f"database vectors have {database.shape[1]} dimensions but queries have "
                         f"{queries.shape[1]}")
    _check_k(k, len(database))
    if metric == "cosine":
        database, queries = unit_rows(database), unit_rows(queries)
    squared_norms = np.einsum("ij,ij->i", database, database)
    indices = np.empty((len(queries), k), dtype=np.int64)
    distances = np.empty((len(queries), k), dtype=np.float32)
    for start in range(0, len(queries), chunk):
        block = queries[start:start + chunk]
        if metric == "cosine":
            scores = 1.0 - block @ database.T
        else:
            scores = squared_norms[None, :] - 2.0 * block @ database.T
            scores += np.einsum("ij,ij->i", block, block)[:, None]
        order = np.argsort(scores, axis=1, kind="stable")[:, :k]
        indices[start:start + chunk] = order
        found = np.take_along_axis(scores, order, axis=1)
        distances[start:start + chunk] = (found if metric == "cosine"
                                          else np.sqrt(np.maximum(found, 0.0)))
    return indices, distances


def hits(neighbours: np.ndarray, database_labels: np.ndarray,
         query_labels: np.ndarray) -> np.ndarray:
    """Return the (queries, k) boolean matrix 'result j of query i has the query's label'.

    Raises:
        ValueError: the number of neighbour rows and query labels differ.
    """
    neighbours = np.asarray(neighbours)
    query_labels = np.asarray(query_labels)
    if neighbours.ndim != 2 or len(neighbours) != len(query_labels):
        raise ValueError(f"neighbours {neighbours.shape} need one row per query label "
                         f"({len(query_labels)})")
    return np.asarray(database_labels)[neighbours] == query_labels[:, None]


def _check_hits(relevant: np.ndarray, k: int) -> np.ndarray:
    relevant = np.asarray(relevant, dtype=bool)
    if relevant.ndim != 2 or len(relevant) == 0:
        raise ValueError(f"hits must be a non-empty (queries, results) matrix, got "
                         f"{relevant.shape}")
    if not 1 <= k <= relevant.shape[1]:
        raise ValueError(f"k={k} is out of range: the hits hold {relevant.shape[1]} results "
                         f"a query")
    return relevant[:, :k]


def precision_at_k(relevant: np.ndarray, k: int) -> float:
    """Return the mean fraction of relevant results among the first ``k`` of each query.

    Raises:
        ValueError: ``relevant`` is not a (queries, results) matrix or k exceeds its results.
    """
    return float(_check_hits(relevant, k).mean())


def average_precision_at_k(relevant: np.ndarray, k: int,
                           n_relevant: np.ndarray | int | None = None) -> np.ndarray:
    """Return each query's average precision over its first ``k`` results.

    AP@k = sum over relevant ranks r <= k of precision@r, divided by min(k, n_relevant), where
    ``n_relevant`` is how many relevant items the database holds for the query; a perfect ranking
    scores 1. Without ``n_relevant``, the divisor is the number of hits in the first k (0 hits: 0).

    Raises:
        ValueError: bad ``relevant`` or k, or ``n_relevant`` is negative or of the wrong length.
    """
    relevant = _check_hits(relevant, k)
    ranks = np.arange(1, k + 1)
    precision_at_rank = np.cumsum(relevant, axis=1) / ranks
    summed = np.sum(precision_at_rank * relevant, axis=1)
    if n_relevant is None:
        divisor = relevant.sum(axis=1)
    else:
        n_relevant = np.broadcast_to(np.asarray(n_relevant), (len(relevant),))
        if np.any(n_relevant < 0):
            raise ValueError("n_relevant must not be negative")
        divisor = np.minimum(n_relevant, k)
    return np.where(divisor > 0, summed / np.maximum(divisor, 1), 0.0)


def mean_average_precision(relevant: np.ndarray, k: int,
                           n_relevant: np.ndarray | int | None = None) -> float:
    """Return mAP@k: :func:`average_precision_at_k` averaged over the queries.

    Raises:
        ValueError: as for :func:`average_precision_at_k`.
    """
    return float(np.mean(average_precision_at_k(relevant, k, n_relevant)))


def class_counts(database_labels: np.ndarray, query_labels: np.ndarray) -> np.ndarray:
    """Return, for each query, how many database items share its label (mAP's n_relevant)."""
    values, counts = np.unique(np.asarray(database_labels), return_counts=True)
    lookup = dict(zip(values.tolist(), counts.tolist()))
    return np.array([lookup.get(label, 0) for label in np.asarray(query_labels).tolist()])


def retrieval_scores(neighbours: np.ndarray, database_labels: np.ndarray,
                     query_labels: np.ndarray, ks: tuple[int, ...] = (1, 5, 10),
                     map_k: int = 100) -> dict[str, float]:
    """Return precision@k for each k in ``ks`` and mAP@``map_k`` of ranked neighbour indices.

    Raises:
        ValueError: fewer neighbours per query than the largest k, or mismatched lengths.
    """
    relevant = hits(neighbours, database_labels, query_labels)
    scores = {f"precision_at_{k}": precision_at_k(relevant, k) for k in ks}
    scores[f"map_at_{map_k}"] = mean_average_precision(
        relevant, map_k, class_counts(database_labels, query_labels))
    return scores


def recall_at_k(found: np.ndarray, exact: np.ndarray, k: int) -> float:
    """Return the fraction of each query's true ``k`` nearest neighbours that ``found`` contains.

    Raises:
        ValueError: the two index matrices have different numbers of rows or fewer than k columns.
    """
    found, exact = np.asarray(found), np.asarray(exact)
    if found.ndim != 2 or exact.ndim != 2 or len(found) != len(exact):
        raise ValueError(f"found {found.shape} and exact {exact.shape} must be index matrices "
                         f"with one row per query")
    if min(found.shape[1], exact.shape[1]) < k:
        raise ValueError(f"k={k} exceeds the results per query ({found.shape[1]} found, "
                         f"{exact.shape[1]} exact)")
    overlap = [len(np.intersect1d(f[:k], e[:k])) for f, e in zip(found, exact)]
    return float(np.sum(overlap) / (k * len(found)))


def best_time(function: Callable[[], Any], repeats: int = 5) -> tuple[float, Any]:
    """Call ``function`` ``repeats`` times; return the fastest wall time in seconds and its result.

    The minimum is the least disturbed by other processes on a shared machine.

    Raises:
        ValueError: ``repeats`` is below 1.
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats}: time the function at least once")
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def sklearn_search(database: np.ndarray, queries: np.ndarray, k: int,
                   metric: str = "euclidean") -> tuple[np.ndarray, np.ndarray]:
    """Return the seed's exact search: scikit-learn ``NearestNeighbors`` by brute force.

    Raises:
        ValueError: k out of range or mismatched dimensions (from scikit-learn).
    """
    from sklearn.neighbors import NearestNeighbors

    search = NearestNeighbors(n_neighbors=k, algorithm="brute", metric=metric).fit(database)
    distances, indices = search.kneighbors(queries)
    return indices, distances


class HnswIndex:
    """An HNSW graph (hnswlib) over database vectors, searched approximately.

    ``m`` is the number of links per node (memory and build time grow with it); ``ef`` at query
    time is the size of the candidate list: the knob that trades speed for recall.
    """

    def __init__(self, database: np.ndarray, metric: str = "euclidean", m: int = 16,
                 ef_construction: int = 200, seed: int = 0, threads: int = -1) -> None:
        """Build the graph over ``database``.

        Raises:
            ValueError: unknown metric, or an empty or non-finite database.
        """
        import hnswlib

        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}: choose {' or '.join(METRICS)}")
        database = _as_matrix(database, "database")
        self.metric, self.size, self.dim = metric, len(database), database.shape[1]
        self.index = hnswlib.Index(space="l2" if metric == "euclidean" else "cosine", dim=self.dim)
        self.index.init_index(max_elements=self.size, M=m, ef_construction=ef_construction,
                              random_seed=seed)
        self.index.add_items(database, np.arange(self.size), num_threads=threads)
        self.threads = threads

    def search(self, queries: np.ndarray, k: int, ef: int = 50,
               threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return approximate indices and distances of the ``k`` nearest rows of every query.

        Distances are Euclidean (not hnswlib's squared ones) or cosine distances. ``threads``
        overrides the index's thread count for this call (1 avoids a thread pool per query).

        Raises:
            ValueError: k out of range, ef below k, or mismatched dimensions.
        """
        queries = _as_matrix(queries, "queries")
        if queries.shape[1] != self.dim:
            raise ValueError(f"the index holds {self.dim}-d vectors but queries have "
                             f"{queries.shape[1]} dimensions")
        _check_k(k, self.size)
        if ef < k:
            raise ValueError(f"ef={ef} is below k={k}: the candidate list must hold k results")
        self.index.set_ef(ef)
        labels, distances = self.index.knn_query(
            queries, k=k, num_threads=self.threads if threads is None else threads)
        if self.metric == "euclidean":
            distances = np.sqrt(np.maximum(distances, 0.0))
        return labels.astype(np.int64), distances
