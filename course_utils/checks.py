"""Self-checks for the exercises with one right answer: ``check("02.1", my_answer)``.

Each check recomputes the answer (or runs the student's function on inputs it makes) and says
right, wrong and why. Exercises without a single right answer have worked solutions in
``notebooks/solutions/`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Any, Callable

import numpy as np

from course_utils.labels import SIMILAR
from course_utils.oneshot import OneShotRun
from course_utils.pairs import PairIndex, make_pairs

Check = Callable[..., tuple[bool, str]]
CHECKS: dict[str, Check] = {}


@dataclass(frozen=True)
class Verdict:
    """The outcome of a self-check: right or wrong, and why."""

    exercise: str
    right: bool
    reason: str

    def __bool__(self) -> bool:
        return self.right

    def __repr__(self) -> str:
        return f"{'✓ right' if self.right else '✗ not yet'} (exercise {self.exercise}): {self.reason}"


def exercise(name: str) -> Callable[[Check], Check]:
    """Register the decorated function as the check of exercise ``name`` ("NN.k")."""
    def register(function: Check) -> Check:
        CHECKS[name] = function
        return function
    return register


def check(name: str, answer: Any, **context: Any) -> Verdict:
    """Check ``answer`` to exercise ``name`` ("02.1"); ``context`` holds what that check needs.

    Raises:
        ValueError: no exercise of that name has a self-check.
    """
    if name not in CHECKS:
        raise ValueError(f"no self-check for exercise {name!r}; exercises with one are "
                         f"{', '.join(sorted(CHECKS))}, and every exercise has a worked solution "
                         "in notebooks/solutions/")
    right, reason = CHECKS[name](answer, **context)
    return Verdict(name, right, reason)


def _number(answer: Any) -> float | None:
    """Return ``answer`` as a float, or None when it is not one number."""
    if isinstance(answer, bool) or not isinstance(answer, (Real, np.number, np.ndarray)):
        return None
    value = np.asarray(answer, dtype=float)
    return float(value) if value.size == 1 else None


@exercise("01.1")
def similar_pairs_per_tile(answer: Any) -> tuple[bool, str]:
    """How many similar pairs one tile gives with N_VIEWS = 5."""
    views = 5
    pairs = make_pairs(np.repeat(np.arange(2), views))
    expected = int((pairs.label == SIMILAR).sum()) // 2
    value = _number(answer)
    if value is None:
        return False, "give one number: the similar pairs of one tile"
    if value == expected:
        return True, f"every two of the {views} views make one pair: {views} x {views - 1} / 2"
    hints = {views: "that is the number of views; a pair takes two of them",
             views * (views - 1): "(a, b) and (b, a) are one pair, counted twice here",
             views * views: "that counts pairs of a view with itself, which make_pairs leaves out"}
    return False, hints.get(int(value), "count the pairs with label SIMILAR that make_pairs gives "
                                        "for views of one tile")


@exercise("01.4")
def hard_negatives(answer: Any, groups: np.ndarray | None = None,
                   classes: np.ndarray | None = None) -> tuple[bool, str]:
    """Pairs of views of different tiles from the same scene class."""
    if groups is None or classes is None:
        raise TypeError('check("01.4", pairs, groups=views.groups, classes=tiles.labels[views.groups])')
    left, right = (answer.left, answer.right) if isinstance(answer, PairIndex) else answer
    left, right = np.asarray(left, dtype=int), np.asarray(right, dtype=int)
    if left.size == 0 or left.shape != right.shape:
        return False, "give two equally long arrays of view indices (or a PairIndex), not empty"
    if np.any(groups[left] == groups[right]):
        twice = int((groups[left] == groups[right]).sum())
        return False, f"{twice} pairs show one tile twice: a negative needs two tiles"
    if np.any(classes[left] != classes[right]):
        return False, (f"{int((classes[left] != classes[right]).sum())} pairs mix scene classes: those "
                       "are easy negatives; a hard one keeps the class")
    if len({tuple(p) for p in np.sort(np.stack([left, right], 1), axis=1)}) < min(2, len(left)):
        return False, "every pair is the same two views: draw them at random"
    return True, f"{len(left)} pairs of different tiles, each from one scene class"


@exercise("02.1")
def largest_unit_distance(answer: Any) -> tuple[bool, str]:
    """The largest Euclidean distance between two unit-length embeddings."""
    value = _number(answer)
    if value is None:
        return False, "give one number: the largest possible distance"
    if np.isclose(value, 2.0):
        return True, ("opposite points of the unit sphere are 2 apart, so a dissimilar pair can "
                      "never be pushed past a margin above 2: its loss would never reach zero")
    hints = {1.0: "that is the radius; two embeddings can point in opposite directions",
             float(np.sqrt(2)): "that is the distance of two orthogonal embeddings; they can point "
                                "in opposite directions"}
    near = next((hint for key, hint in hints.items() if np.isclose(value, key)), None)
    return False, near or "think of two unit vectors pointing in opposite directions"


def _toy_run(seed: int, n_way: int = 20) -> OneShotRun:
    """A 20-way run whose training image i is filled with i and whose queries are shuffled."""
    rng = np.random.default_rng(seed)
    answers = rng.permutation(n_way).astype(np.int32)
    training = np.repeat(np.arange(n_way, dtype=np.uint8), 4).reshape(n_way, 2, 2)
    test = training[answers] + np.uint8(100)
    return OneShotRun(f"toy{seed}", training, test, answers)


@exercise("03.1")
def five_way(answer: Any) -> tuple[bool, str]:
    """A function turning a 20-way run into the 5-way run of its first five candidates."""
    if not callable(answer):
        return False, "give the function itself: five_way(run) -> OneShotRun"
    for seed in (0, 1):
        run = _toy_run(seed)
        small = answer(run)
        if not isinstance(small, OneShotRun):
            return False, f"return a OneShotRun, got {type(small).__name__}"
        keep = run.answers < 5
        if small.n_way != 5 or not np.array_equal(small.training, run.training[:5]):
            return False, "keep the first five candidates (training images) of the run, in order"
        if not np.array_equal(small.test, run.test[keep]):
            return False, "keep only the queries whose answer is one of the five candidates"
        if not np.array_equal(small.answers, run.answers[keep]):
            return False, "each kept query's answer must still point at its candidate"
    return True, "five candidates and their five queries; chance is now 1 in 5"


def _semi_hard_reference(distances: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per anchor, the nearest other-class image farther than its farthest same-class one; -1 if none."""
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    hardest_positive = np.where(same, distances, -np.inf).max(axis=1)
    other = labels[:, None] != labels[None, :]
    candidates = np.where(other & (distances > hardest_positive[:, None]), distances, np.inf)
    picked = candidates.argmin(axis=1)
    return np.where(np.isfinite(candidates.min(axis=1)), picked, -1)


@exercise("04.4")
def semi_hard_negatives(answer: Any) -> tuple[bool, str]:
    """A function picking each anchor's nearest negative beyond its hardest positive."""
    if not callable(answer):
        return False, "give the function itself: semi_hard(distances, labels) -> indices"
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        points = rng.normal(size=(12, 3))
        distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
        labels = rng.integers(0, 3, 12)
        got = np.asarray(answer(distances, labels))
        expected = _semi_hard_reference(distances, labels)
        if got.shape != expected.shape:
            return False, f"return one index per anchor (shape {expected.shape}), got {got.shape}"
        if not np.array_equal(got, expected):
            wrong = int((got != expected).sum())
            return False, (f"{wrong} of {len(expected)} anchors differ: pick the nearest image of "
                           "another class that is farther than the anchor's farthest same-class "
                           "image (not the anchor itself), -1 where there is none")
    return True, "the nearest negative beyond each anchor's hardest positive"


@exercise("05.3")
def colour_histogram(answer: Any) -> tuple[bool, str]:
    """A function giving 8 bins per colour channel for each image."""
    if not callable(answer):
        return False, "give the function itself: colour_histogram(images) -> (n, 24) array"
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    images[0, ..., 0] = 250  # one image all red-heavy, so a channel mix-up shows
    got = np.asarray(answer(images), dtype=float)
    if got.shape != (6, 24):
        return False, f"return one row of 3 x 8 = 24 bins per image, got shape {got.shape}"
    expected = np.stack([np.concatenate([np.histogram(image[..., c], bins=8, range=(0, 256))[0]
                                         for c in range(3)]) for image in images]).astype(float)
    blocks = got.reshape(6, 3, 8)
    totals = blocks.sum(axis=2, keepdims=True)
    if np.any(totals <= 0):
        return False, "every channel of every image needs counts in its 8 bins"
    # counts or fractions both answer the question: cosine distance ignores the scale
    if not np.allclose(blocks / totals, expected.reshape(6, 3, 8) / 64):
        return False, ("the bins differ from 8 equal bins over 0..255 per channel (red, green, "
                       "blue in that order)")
    return True, "8 equal bins per channel, red, green and blue side by side"
