"""Lake's 20-way one-shot task: reading the runs, making runs from labelled drawings, scoring a model.

A run (``runNN/``) holds ``training/classNN.png`` (one example each of 20 characters, by one set of
drawers), ``test/itemNN.png`` (20 queries, the same characters by other drawers) and
``class_labels.txt``, one line per query: ``runNN/test/itemNN.png runNN/training/classMM.png``, the
query and its correct answer. A model answers a query with the training image it finds most
similar; the accuracy over all queries of all runs is the one-shot accuracy (Koch et al. 2015:
92.0% for their Siamese network, Lake et al. 2015: 95.5% for people, 21.7% for pixel 1-NN).
Lake-style runs can also be built from any labelled Omniglot drawings (:func:`make_runs`), for
validation on alphabets no model trained on.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from course_utils.datasets.core import DataError, check_member, decode_image
from course_utils.drawings import crop_to_ink

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
