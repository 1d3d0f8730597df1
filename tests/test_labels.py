"""The course's one pair-label convention and the seed's opposite one."""

import numpy as np
import pytest

from course_utils import fewshot, labels, pairs
from course_utils.labels import DISSIMILAR, SIMILAR


def test_similar_is_one_so_labels_read_as_match_probabilities():
    assert (SIMILAR, DISSIMILAR) == (1, 0)
    assert labels.NAMES == {1: "similar", 0: "dissimilar"}


def test_every_pair_maker_labels_same_source_pairs_similar():
    groups = np.repeat(np.arange(10), 3)
    satellite = pairs.make_pairs(groups, seed=0)
    plants = fewshot.balanced_pairs(groups, 40, seed=0)
    for made in (satellite, plants):
        same_source = groups[made.left] == groups[made.right]
        assert np.array_equal(made.label == SIMILAR, same_source)


def test_to_seed_flips_to_the_seeds_distance_like_labels():
    ours = np.array([SIMILAR, DISSIMILAR, SIMILAR], np.int8)
    seed = labels.to_seed(ours)
    assert seed.tolist() == [0, 1, 0] and seed.dtype == np.int8


def test_to_seed_refuses_labels_outside_the_convention():
    with pytest.raises(ValueError, match=r"1 \(similar\) or 0 \(dissimilar\), got \[2\]"):
        labels.to_seed(np.array([0, 2]))
