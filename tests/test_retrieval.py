"""Retrieval scores against hand-computed rankings, and exact and approximate search."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import retrieval

# Three queries, five ranked results each; True = same class as the query.
RANKED = np.array([[1, 0, 1, 0, 0],
                   [0, 0, 0, 0, 1],
                   [1, 1, 1, 1, 1]], dtype=bool)


def test_precision_at_k_counts_hits_in_the_first_k():
    assert retrieval.precision_at_k(RANKED, 1) == pytest.approx((1 + 0 + 1) / 3)
    assert retrieval.precision_at_k(RANKED, 3) == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert retrieval.precision_at_k(RANKED, 5) == pytest.approx((2 / 5 + 1 / 5 + 1) / 3)


def test_average_precision_matches_hand_computation():
    # Query 0: hits at ranks 1 and 3 -> (1/1 + 2/3) / min(5, 4 relevant) = (5/3) / 4.
    # Query 1: hit at rank 5 -> (1/5) / min(5, 2) = 0.1.  Query 2: perfect -> 1.
    ap = retrieval.average_precision_at_k(RANKED, 5, n_relevant=[4, 2, 100])
    assert ap == pytest.approx([5 / 12, 0.1, 1.0])
    assert retrieval.mean_average_precision(RANKED, 5, [4, 2, 100]) == pytest.approx(
        (5 / 12 + 0.1 + 1.0) / 3)


def test_average_precision_without_n_relevant_divides_by_hits_found():
    ap = retrieval.average_precision_at_k(RANKED, 5)
    assert ap == pytest.approx([5 / 6, 0.2, 1.0])
    assert retrieval.average_precision_at_k(np.zeros((1, 3), bool), 3) == pytest.approx([0.0])


def test_average_precision_rewards_hits_ranked_earlier():
    early = np.array([[1, 1, 0, 0]], dtype=bool)
    late = np.array([[0, 0, 1, 1]], dtype=bool)
    assert retrieval.average_precision_at_k(early, 4, 2)[0] == pytest.approx(1.0)
    assert retrieval.average_precision_at_k(late, 4, 2)[0] == pytest.approx((1 / 3 + 2 / 4) / 2)


def test_hits_compare_neighbour_labels_with_the_query_label():
    database_labels = np.array([0, 1, 1, 2])
    relevant = retrieval.hits(np.array([[1, 2, 0], [3, 0, 1]]), database_labels, np.array([1, 2]))
    assert relevant.tolist() == [[True, True, False], [True, False, False]]


def test_retrieval_scores_on_a_tiny_database():
    database = np.array([[0.0], [0.1], [5.0], [5.2], [9.0]])
    database_labels = np.array([0, 0, 1, 1, 2])
    queries, query_labels = np.array([[0.05], [5.1]]), np.array([0, 1])
    neighbours, _ = retrieval.exact_search(database, queries, 5)
    scores = retrieval.retrieval_scores(neighbours, database_labels, query_labels, ks=(1, 2, 3),
                                        map_k=5)
    assert scores == pytest.approx({"precision_at_1": 1.0, "precision_at_2": 1.0,
                                    "precision_at_3": 2 / 3, "map_at_5": 1.0})


def test_class_counts_gives_database_items_per_query_class():
    assert retrieval.class_counts([0, 0, 1, 2, 2, 2], [2, 0, 5]).tolist() == [3, 2, 0]


def test_scores_reject_k_beyond_the_ranking():
    with pytest.raises(ValueError, match="k=6"):
        retrieval.precision_at_k(RANKED, 6)
    with pytest.raises(ValueError, match="n_relevant"):
        retrieval.average_precision_at_k(RANKED, 5, n_relevant=-1)


def test_exact_search_finds_true_neighbours_in_distance_order():
    rng = np.random.default_rng(0)
    database, queries = rng.normal(size=(300, 8)), rng.normal(size=(20, 8))
    indices, distances = retrieval.exact_search(database, queries, 7, chunk=6)
    full = np.linalg.norm(queries[:, None] - database[None], axis=2)
    assert indices.tolist() == np.argsort(full, axis=1)[:, :7].tolist()
    assert distances == pytest.approx(np.sort(full, axis=1)[:, :7], abs=1e-4)


def test_exact_search_cosine_ignores_vector_length():
    database = np.array([[1.0, 0.0], [0.0, 3.0], [10.0, 1.0]])
    indices, distances = retrieval.exact_search(database, np.array([[0.0, 0.1]]), 3, "cosine")
    assert indices[0, 0] == 1 and distances[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_exact_search_matches_the_seeds_sklearn_search():
    rng = np.random.default_rng(1)
    database, queries = rng.normal(size=(500, 16)), rng.normal(size=(30, 16))
    ours, _ = retrieval.exact_search(database, queries, 10)
    seed, _ = retrieval.sklearn_search(database, queries, 10)
    assert retrieval.recall_at_k(ours, seed, 10) == 1.0


@pytest.mark.parametrize("args, message", [
    ((np.zeros((5, 3)), np.zeros((2, 4)), 1), "dimensions"),
    ((np.zeros((5, 3)), np.zeros((2, 3)), 6), "k=6"),
    ((np.zeros((5, 3)), np.full((2, 3), np.nan), 1), "NaN"),
    ((np.zeros((5, 3)), np.zeros((2, 3)), 1, "manhattan"), "unknown metric"),
])
def test_exact_search_rejects_bad_input_by_name(args, message):
    with pytest.raises(ValueError, match=message):
        retrieval.exact_search(*args)


def test_recall_counts_shared_neighbours_regardless_of_order():
    exact = np.array([[0, 1, 2], [3, 4, 5]])
    found = np.array([[2, 1, 9], [5, 4, 3]])
    assert retrieval.recall_at_k(found, exact, 3) == pytest.approx(5 / 6)
    assert retrieval.recall_at_k(found, exact, 1) == pytest.approx(0.0)


def test_hnsw_index_recovers_most_exact_neighbours_on_clustered_data():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4, size=(20, 16))
    database = (centres[rng.integers(0, 20, 3000)] + rng.normal(size=(3000, 16))).astype("float32")
    queries = (centres[rng.integers(0, 20, 100)] + rng.normal(size=(100, 16))).astype("float32")
    exact, exact_distances = retrieval.exact_search(database, queries, 10)
    index = retrieval.HnswIndex(database, seed=0, threads=1)
    found, distances = index.search(queries, 10, ef=100)
    assert retrieval.recall_at_k(found, exact, 10) >= 0.95
    assert distances[:, 0] == pytest.approx(exact_distances[:, 0], rel=1e-3)
    low, _ = index.search(queries, 10, ef=10)
    assert retrieval.recall_at_k(low, exact, 10) <= retrieval.recall_at_k(found, exact, 10)


def test_hnsw_search_one_query_per_call_matches_a_batched_call():
    rng = np.random.default_rng(2)
    database, queries = rng.normal(size=(500, 8)), rng.normal(size=(20, 8))
    index = retrieval.HnswIndex(database, seed=0, threads=2)
    batched, _ = index.search(queries, 5, ef=40)
    single = np.vstack([index.search(query[None], 5, ef=40, threads=1)[0] for query in queries])
    np.testing.assert_array_equal(single, batched)


def test_hnsw_index_rejects_ef_below_k_and_wrong_dimensions():
    index = retrieval.HnswIndex(np.random.default_rng(0).normal(size=(50, 4)), threads=1)
    with pytest.raises(ValueError, match="ef=5"):
        index.search(np.zeros((1, 4)), 10, ef=5)
    with pytest.raises(ValueError, match="4-d"):
        index.search(np.zeros((1, 3)), 1)


def test_best_time_returns_the_result_and_a_positive_time():
    seconds, result = retrieval.best_time(lambda: sum(range(1000)), repeats=3)
    assert result == 499500 and 0 < seconds < 1
    with pytest.raises(ValueError, match="repeats"):
        retrieval.best_time(lambda: None, repeats=0)
