"""The self-checks pass the worked solutions' answers and fail wrong or trivial ones."""

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import check
from course_utils.oneshot import OneShotRun
from course_utils.pairs import PairIndex


def test_every_check_names_its_exercise_and_unknown_ones_are_refused():
    assert set(checks.CHECKS) == {"01.1", "01.4", "02.1", "03.1", "04.4", "05.3"}
    with pytest.raises(ValueError, match="no self-check for exercise '02.9'.*notebooks/solutions"):
        check("02.9", 1)


@pytest.mark.parametrize("answer, right", [(10, True), (10.0, True), (np.int64(10), True), (5, False),
                                           (20, False), (25, False), (0, False), (None, False),
                                           ("10", False), (True, False), ([10, 10], False)])
def test_similar_pairs_per_tile(answer, right):
    assert bool(check("01.1", answer)) is right


def test_a_wrong_answer_says_why():
    verdict = check("01.1", 20)
    assert not verdict and "counted twice" in repr(verdict) and "01.1" in repr(verdict)
    assert repr(check("01.1", 10)).startswith("✓ right")


def hard_negative_context():
    groups = np.repeat(np.arange(6), 3)          # 6 tiles, 3 views each
    classes = np.repeat([0, 0, 0, 1, 1, 1], 3)   # two scene classes
    return groups, classes


def test_hard_negatives_accepts_different_tiles_of_one_class():
    groups, classes = hard_negative_context()
    rng = np.random.default_rng(0)
    left = rng.choice(np.flatnonzero(classes == 0), 20)
    right = np.array([rng.choice(np.flatnonzero((classes == 0) & (groups != groups[i]))) for i in left])
    assert check("01.4", PairIndex(left, right, np.zeros(20, np.int8)), groups=groups, classes=classes)
    assert check("01.4", (left, right), groups=groups, classes=classes)


@pytest.mark.parametrize("left, right, why", [
    ([0, 3], [1, 4], "one tile twice"),          # views of the same tile
    ([0, 3], [9, 12], "mix scene classes"),      # other class: an easy negative
    ([0, 0], [3, 3], "same two views"),
    ([], [], "not empty"),
])
def test_hard_negatives_refuses_easy_or_trivial_pairs(left, right, why):
    groups, classes = hard_negative_context()
    verdict = check("01.4", (left, right), groups=groups, classes=classes)
    assert not verdict and why in verdict.reason


def test_hard_negatives_says_what_context_it_needs():
    with pytest.raises(TypeError, match="groups=views.groups"):
        check("01.4", ([0], [3]))


@pytest.mark.parametrize("answer, right", [(2, True), (2.0, True), (1, False), (np.sqrt(2), False),
                                           (0, False), (4, False)])
def test_largest_distance_between_unit_embeddings(answer, right):
    assert bool(check("02.1", answer)) is right


def five_way(run):
    keep = run.answers < 5
    return OneShotRun(run.name, run.training[:5], run.test[keep], run.answers[keep])


def test_five_way_accepts_the_solution_and_refuses_shortcuts():
    assert check("03.1", five_way)
    assert not check("03.1", lambda run: run)  # still 20-way
    first_five_queries = lambda run: OneShotRun(run.name, run.training[:5], run.test[:5], run.answers[:5])
    assert not check("03.1", first_five_queries)  # the first five queries need not be those five
    assert not check("03.1", five_way(checks._toy_run(0)))  # a run, not the function


def semi_hard(distances, labels):
    picked = []
    for i in range(len(labels)):
        same = (labels == labels[i]) & (np.arange(len(labels)) != i)
        beyond = distances[i, same].max() if same.any() else -np.inf
        negatives = np.flatnonzero((labels != labels[i]) & (distances[i] > beyond))
        picked.append(negatives[distances[i, negatives].argmin()] if len(negatives) else -1)
    return np.array(picked)


def test_semi_hard_accepts_a_loop_solution_and_refuses_the_hardest_negative():
    assert check("04.4", semi_hard)

    def hardest_negative(distances, labels):
        return np.where(labels[:, None] != labels[None], distances, np.inf).argmin(axis=1)

    assert not check("04.4", hardest_negative)
    assert not check("04.4", lambda d, l: np.zeros(len(l), int))


def colour_histogram(images):
    return np.concatenate([np.stack([np.histogram(im[..., c], 8, (0, 256))[0] for im in images])
                           for c in range(3)], axis=1)


def test_colour_histogram_accepts_counts_or_fractions_and_refuses_wrong_bins():
    assert check("05.3", colour_histogram)
    assert check("05.3", lambda images: colour_histogram(images) / 64.0)
    assert not check("05.3", lambda images: colour_histogram(images[..., ::-1]))  # blue first
    assert not check("05.3", lambda images: colour_histogram(images // 2))  # bins of 0..127
    assert not check("05.3", lambda images: np.ones((len(images), 24)))
    assert not check("05.3", lambda images: np.ones((len(images), 8)))
