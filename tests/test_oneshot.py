"""Lake's one-shot runs: parsing (zip and folder), scoring, and runs made from labelled drawings."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import glyph
from PIL import Image

from course_utils import oneshot
from course_utils.datasets import DataError


def write_run(root: Path, name: str = "run01", n: int = 4, answers=(2, 0, 3, 1)) -> Path:
    """Write a run in the upstream layout: query i shows the glyph of class answers[i]."""
    run = root / name
    (run / "training").mkdir(parents=True)
    (run / "test").mkdir()
    lines = []
    for c in range(n):
        Image.fromarray(glyph(c)).save(run / "training" / f"class{c + 1:02d}.png")
    for i, c in enumerate(answers):
        Image.fromarray(glyph(c)).save(run / "test" / f"item{i + 1:02d}.png")
        lines.append(f"{name}/test/item{i + 1:02d}.png {name}/training/class{c + 1:02d}.png")
    (run / "class_labels.txt").write_text("\n".join(lines) + "\n")
    return run


def zip_runs(root: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(root.rglob("*")):
            out.write(path, path.relative_to(root).as_posix())
    return archive


def test_class_labels_parse_into_query_and_answer_files():
    text = "run07/test/item01.png run07/training/class08.png\nrun07/test/item02.png run07/training/class01.png\n"
    assert oneshot.parse_class_labels(text, "run07") == [("item01.png", "class08.png"),
                                                        ("item02.png", "class01.png")]


@pytest.mark.parametrize("line", ["run01/test/item01.png", "run02/test/item01.png run02/training/class01.png",
                                  "run01/training/class01.png run01/test/item01.png"])
def test_malformed_class_labels_line_is_named(line):
    with pytest.raises(DataError, match="line 1"):
        oneshot.parse_class_labels(line, "run01")


def test_folder_and_zip_give_the_same_runs(tmp_path):
    write_run(tmp_path / "runs", "run01")
    write_run(tmp_path / "runs", "run02", answers=(1, 1, 0, 3))
    archive = zip_runs(tmp_path / "runs", tmp_path / "all_runs.zip")
    from_folder = oneshot.load_runs(tmp_path / "runs")
    from_zip = oneshot.load_runs(archive)
    assert [r.name for r in from_zip] == ["run01", "run02"]
    for a, b in zip(from_folder, from_zip):
        np.testing.assert_array_equal(a.training, b.training)
        np.testing.assert_array_equal(a.answers, b.answers)
    assert from_zip[0].answers.tolist() == [2, 0, 3, 1] and from_zip[0].test.shape == (4, 105, 105)
    assert oneshot.load_runs(tmp_path / "runs" / "run02")[0].answers.tolist() == [1, 1, 0, 3]


def test_scorer_counts_the_answers_class_labels_name(tmp_path):
    runs = oneshot.load_runs(write_run(tmp_path), image_size=28)
    perfect = oneshot.score_runs(runs, oneshot.pixel_similarity)
    assert perfect.accuracy == 1.0 and perfect.trials == 4
    always_first = oneshot.score_runs(runs, lambda t, c: np.tile(np.arange(len(c))[::-1], (len(t), 1)))
    assert always_first.picked[0].tolist() == [0, 0, 0, 0]
    assert always_first.accuracy == 0.25 and always_first.per_run() == {"run01": 0.25}


def test_scorer_rejects_a_wrong_shape_or_nan(tmp_path):
    runs = oneshot.load_runs(write_run(tmp_path))
    with pytest.raises(ValueError, match="shape"):
        oneshot.score_runs(runs, lambda t, c: np.zeros((len(t), len(c) + 1)))
    with pytest.raises(ValueError, match="NaN"):
        oneshot.score_runs(runs, lambda t, c: np.full((len(t), len(c)), np.nan))


def test_run_folder_missing_an_image_is_a_clear_error(tmp_path):
    run = write_run(tmp_path)
    (run / "training" / "class03.png").unlink()
    with pytest.raises(DataError, match="class03.png"):
        oneshot.load_runs(run)


@pytest.mark.parametrize("escape", ["run01/../../class_labels.txt", "/tmp/run01/class_labels.txt"])
def test_a_runs_zip_with_a_member_leading_outside_is_refused_naming_it(tmp_path, escape):
    write_run(tmp_path / "runs", "run01")
    archive = zip_runs(tmp_path / "runs", tmp_path / "all_runs.zip")
    with zipfile.ZipFile(archive, "a") as out:
        out.writestr(escape, b"")
    with pytest.raises(DataError, match=rf"all_runs\.zip.*member {re.escape(repr(escape))}.*re-create it"):
        oneshot.load_runs(archive)


def test_zip_of_the_wrong_layout_is_a_clear_error(tmp_path):
    with zipfile.ZipFile(tmp_path / "runs.zip", "w") as out:
        out.writestr("images/item01.png", b"")
    with pytest.raises(DataError, match="class_labels.txt"):
        oneshot.load_runs(tmp_path / "runs.zip")
    with pytest.raises(DataError, match="no one-shot run"):
        oneshot.load_runs(tmp_path)


def test_pixel_baseline_on_the_shared_run_is_far_from_perfect(shared_data):
    result = oneshot.score_runs(oneshot.load_runs(shared_data / "omniglot" / "one_shot_run01.zip"),
                                oneshot.pixel_similarity)
    assert result.trials == 20 and 0.05 <= result.accuracy <= 0.5


def test_cosine_similarity_ignores_length():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(oneshot.cosine_similarity(a, 3 * a), np.eye(2))


def test_crop_runs_centres_every_drawing_and_keeps_the_answers(shared_data):
    runs = oneshot.load_runs(shared_data / "omniglot" / "one_shot_run01.zip")
    cropped = oneshot.crop_runs(runs, 28)
    assert cropped[0].training.shape == (20, 28, 28) and cropped[0].test.shape == (20, 28, 28)
    np.testing.assert_array_equal(cropped[0].answers, runs[0].answers)
    for images in (cropped[0].training, cropped[0].test):
        ink = images < 128
        assert ink.any(axis=2)[:, [0, -1]].sum() == 0 and ink.any(axis=1)[:, [0, -1]].sum() == 0
        ink_height, ink_width = ink.any(axis=2).sum(axis=1), ink.any(axis=1).sum(axis=1)
        assert (np.maximum(ink_height, ink_width) >= 20).all()  # the longer side fills the square


def test_made_runs_use_two_drawers_and_one_alphabet():
    labels = np.repeat(np.arange(6), 4)
    drawers = np.tile(np.arange(1, 5), 6)
    alphabets = np.array(["A"] * 24)
    images = np.arange(24 * 4, dtype=np.uint8).reshape(24, 2, 2)
    runs = oneshot.make_runs(images, labels, alphabets, drawers, n_runs=3, n_way=5, seed=0)
    assert len(runs) == 3 and runs[0].training.shape == (5, 2, 2)
    index = {images[i].tobytes(): i for i in range(24)}
    for run in runs:
        for q, a in enumerate(run.answers):
            query, example = index[run.test[q].tobytes()], index[run.training[a].tobytes()]
            assert labels[query] == labels[example] and drawers[query] != drawers[example]
    with pytest.raises(ValueError, match="n_way"):
        oneshot.make_runs(images, labels, alphabets, drawers, n_runs=1, n_way=7)


def test_runnable_alphabets_need_n_way_characters_by_two_drawers():
    labels = np.repeat(np.arange(5), 2)
    alphabets = np.array(["A"] * 6 + ["B"] * 4)
    drawers = np.array([1, 2, 1, 2, 1, 1, 1, 2, 1, 2])  # character 2 of A has one drawer only
    assert oneshot.runnable_alphabets(labels, alphabets, drawers, n_way=2) == {"A": [0, 1], "B": [3, 4]}
    assert list(oneshot.runnable_alphabets(labels, alphabets, drawers, n_way=3)) == []
