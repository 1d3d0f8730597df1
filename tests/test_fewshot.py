"""Few-shot episodes, prototype classification, confidence intervals and class-aware sampling."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import fewshot
from course_utils.labels import SIMILAR
from course_utils.metrics import verify

LABELS = np.repeat(np.arange(6), 12)


def test_confidence_interval_matches_the_student_t_formula():
    mean, half = fewshot.confidence_interval([1.0, 2.0, 3.0, 4.0])
    assert mean == pytest.approx(2.5)
    # sd = 1.2910, sem = 0.6455, t(0.975, df=3) = 3.1824
    assert half == pytest.approx(3.1824 * 1.2910 / 2, rel=1e-3)


def test_confidence_interval_refuses_no_values():
    with pytest.raises(ValueError, match="no values"):
        fewshot.confidence_interval([])


def test_episode_has_the_classes_and_shots_asked_for():
    episode = fewshot.sample_episode(LABELS, 4, 3, 5, np.random.default_rng(0))
    assert len(set(episode.classes)) == 4
    assert np.array_equal(LABELS[episode.support], episode.classes[episode.support_labels])
    assert np.array_equal(LABELS[episode.query], episode.classes[episode.query_labels])
    assert np.bincount(episode.support_labels).tolist() == [3] * 4
    assert np.bincount(episode.query_labels).tolist() == [5] * 4


def test_no_query_is_in_the_support_set():
    for episode in fewshot.sample_episodes(LABELS, 5, 5, 7, episodes=50, seed=3):
        assert not set(episode.support) & set(episode.query)
        assert len(set(episode.query)) == len(episode.query)


def test_episodes_are_seeded():
    first = [e.query for e in fewshot.sample_episodes(LABELS, 3, 1, 2, 5, seed=7)]
    again = [e.query for e in fewshot.sample_episodes(LABELS, 3, 1, 2, 5, seed=7)]
    other = [e.query for e in fewshot.sample_episodes(LABELS, 3, 1, 2, 5, seed=8)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_episode_with_too_few_images_names_the_shortfall():
    with pytest.raises(ValueError, match="needs 4 classes with at least 13 images"):
        fewshot.sample_episode(LABELS, 4, 5, 8, np.random.default_rng(0))


def test_nearest_prototype_on_toy_embeddings():
    support = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0]])
    classes, centroids = fewshot.prototypes(support, [7, 7, 3, 3])
    assert classes.tolist() == [3, 7]
    assert centroids.tolist() == [[10.0, 1.0], [0.0, 1.0]]
    queries = np.array([[1.0, 5.0], [6.0, -3.0], [4.9, 1.0]])
    assert fewshot.nearest_prototype(queries, classes, centroids).tolist() == [7, 3, 7]


def test_separable_embeddings_score_perfectly():
    embeddings = np.eye(6)[LABELS] * 5 + np.random.default_rng(0).normal(0, 0.1, (len(LABELS), 6))
    result = fewshot.evaluate_fewshot(embeddings, LABELS, 4, 1, 5, episodes=30)
    assert result.mean == 1.0 and result.ci95 == 0.0
    assert np.array_equal(result.true_labels, result.predicted_labels)


def test_uninformative_embeddings_score_chance():
    result = fewshot.evaluate_fewshot(np.zeros((len(LABELS), 3)), LABELS, 4, 5, 5, episodes=20)
    assert result.mean == pytest.approx(0.25)
    assert len(result.true_labels) == 20 * 4 * 5


def test_kaggle_style_accuracy_is_the_precision_of_same_predictions():
    distances = np.array([0.1, 0.2, 0.3, 0.4, 0.9, 1.2, 0.45, 1.5])
    same = np.array([1, 1, 1, 0, 1, 1, 0, 0])
    kaggle = fewshot.kaggle_style_accuracy(distances, same, threshold=0.5)
    decision = verify(distances, same == 1, threshold=0.5)
    assert kaggle == pytest.approx(decision.precision) == pytest.approx(3 / 5)
    assert decision.accuracy == pytest.approx(4 / 8)


def test_kaggle_style_accuracy_with_no_same_prediction_is_zero():
    assert fewshot.kaggle_style_accuracy([0.9, 1.0], [1, 0]) == 0.0


def test_balanced_pairs_are_half_same_half_different_and_correct():
    pairs = fewshot.balanced_pairs(LABELS, 501, seed=1)
    same = pairs.label == SIMILAR
    assert same.sum() == 250 and len(pairs) == 501
    assert np.all(LABELS[pairs.left[same]] == LABELS[pairs.right[same]])
    assert np.all(LABELS[pairs.left[~same]] != LABELS[pairs.right[~same]])
    assert not pairs.identical().any()


def test_balanced_pairs_refuse_a_single_class():
    with pytest.raises(ValueError, match="at least 2 classes"):
        fewshot.balanced_pairs(np.zeros(10), 10)


def test_class_balanced_batches_hold_p_classes_of_k_images():
    batches = fewshot.class_balanced_batches(LABELS, 4, 6, n_batches=10, seed=2)
    assert batches.shape == (10, 24)
    for batch in batches:
        assert sorted(np.bincount(LABELS[batch], minlength=6)[np.unique(LABELS[batch])]) == [6] * 4


def test_class_balanced_batches_refuse_more_classes_than_exist():
    with pytest.raises(ValueError, match="hold only 6"):
        fewshot.class_balanced_batches(LABELS, 8, 2, 1)


def test_pair_distances_are_euclidean():
    embeddings = np.array([[0.0, 0.0], [3.0, 4.0]])
    pairs = fewshot.balanced_pairs(np.array([0, 1, 0, 1]), 4, seed=0)
    expected = [np.hypot(*(embeddings[a % 2] - embeddings[b % 2]))
                for a, b in zip(pairs.left, pairs.right)]
    assert np.allclose(fewshot.pair_distances(embeddings[[0, 1, 0, 1]], pairs), expected)


def test_batch_dataset_streams_the_images_of_each_batch():
    images = np.broadcast_to(np.arange(len(LABELS), dtype=np.uint8)[:, None, None, None],
                             (len(LABELS), 4, 4, 3)).copy()
    batches = fewshot.class_balanced_batches(LABELS, 3, 2, n_batches=4, seed=0)
    streamed = list(fewshot.batch_dataset(images, LABELS, batches))
    assert len(streamed) == 4
    for (pixels, labels), index in zip(streamed, batches):
        assert pixels.shape == (6, 4, 4, 3) and pixels.dtype.name == "uint8"
        assert np.array_equal(pixels.numpy()[:, 0, 0, 0], index)
        assert np.array_equal(labels.numpy(), LABELS[index])
