"""The Omniglot loader: upstream zips and extracted folders, de-duplication, drawers, runs, errors."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_utils.datasets import DataError, DataUnavailableError, load_omniglot, omniglot


def write_set(folder: Path, name: str, characters: dict[str, int], drawers: int = 3) -> Path:
    """Write an extracted upstream set: name/Alphabet/characterNN/NNNN_DD.png (white paper)."""
    for number, (character, shade) in enumerate(characters.items(), start=1):
        target = folder / name / character
        target.mkdir(parents=True)
        for drawer in range(1, drawers + 1):
            image = np.full((105, 105), 255, np.uint8)
            image[40:60, 40:60] = shade
            Image.fromarray(image).save(target / f"{number:04d}_{drawer:02d}.png")
    return folder / name


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(folder.rglob("*")):
            out.write(path, path.relative_to(folder.parent).as_posix())
    return archive


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")


@pytest.mark.parametrize("escape", ["images_evaluation/../../0001_01.png", "/tmp/0001_01.png"])
def test_a_zip_member_leading_outside_refuses_the_set_naming_the_member(tmp_path, offline,
                                                                       escape):
    write_set(tmp_path / "folder", "images_evaluation", {"Runic/character01": 0})
    (tmp_path / "zipped").mkdir()
    archive = zip_folder(tmp_path / "folder" / "images_evaluation",
                         tmp_path / "zipped" / "images_evaluation.zip")
    with zipfile.ZipFile(archive, "a") as out:
        out.writestr(escape, b"not an image")
    with pytest.raises(DataError, match=rf"images_evaluation\.zip.*member {re.escape(repr(escape))}"):
        load_omniglot("images_evaluation", tmp_path / "zipped")


def test_shared_small_sets_load_once_each_character(shared_data):
    images = load_omniglot(["images_background_small1", "images_background_small2"],
                           shared_data / "omniglot", image_size=28)
    # small1 and small2 share Greek and Latin: 136 + 156 - 50 characters, 20 drawers each
    assert images.images.shape == (242 * 20, 28, 28) and images.images.dtype == np.uint8
    assert len(images.class_names) == 242 and np.bincount(images.labels).tolist() == [20] * 242
    assert set(omniglot.drawers(images)) == set(range(1, 21))
    assert len(set(omniglot.alphabets(images))) == 8
    assert images.images.max() == 255 and images.images.min() < 50  # white paper, dark ink


def test_extracted_folder_and_zip_read_the_same(tmp_path, offline):
    write_set(tmp_path / "folder", "images_evaluation", {"Runic/character01": 0, "Runic/character02": 90})
    (tmp_path / "zipped").mkdir()
    zip_folder(tmp_path / "folder" / "images_evaluation", tmp_path / "zipped" / "images_evaluation.zip")
    from_folder = load_omniglot("images_evaluation", tmp_path / "folder", image_size=105)
    from_zip = load_omniglot("images_evaluation", tmp_path / "zipped", image_size=105)
    assert from_folder.class_names == from_zip.class_names == ["Runic/character01", "Runic/character02"]
    np.testing.assert_array_equal(from_folder.images, from_zip.images)
    assert from_zip.images[0, 50, 50] == 0 and from_zip.images[3, 50, 50] == 90
    assert omniglot.drawers(from_zip).tolist() == [1, 2, 3, 1, 2, 3]


def test_limit_keeps_a_subset_spread_over_characters(shared_data):
    images = load_omniglot("images_background_small1", shared_data / "omniglot", image_size=28,
                           limit=272, seed=3)
    assert len(images) == 272 and np.bincount(images.labels).tolist() == [2] * 136


def test_unknown_set_names_the_choices():
    with pytest.raises(ValueError, match="images_background_small1"):
        load_omniglot("images_backgroundd")


def test_zip_of_the_wrong_layout_is_a_clear_error(tmp_path, offline):
    with zipfile.ZipFile(tmp_path / "images_evaluation.zip", "w") as out:
        out.writestr("images_evaluation/readme.txt", "not characters")
    with pytest.raises(DataError, match="Alphabet/characterNN"):
        load_omniglot("images_evaluation", tmp_path)


def test_missing_set_offline_says_what_is_missing(tmp_path, offline):
    with pytest.raises(DataUnavailableError, match="images_background.zip"):
        load_omniglot("images_background", tmp_path)


def test_runs_are_found_in_the_shared_folder(shared_data):
    assert [p.name for p in omniglot.find_runs(shared_data / "omniglot")] == ["one_shot_run01.zip"]


def test_no_runs_offline_is_a_clear_error(tmp_path, offline):
    with pytest.raises(DataUnavailableError, match="ONE_SHOT_RUNS"):
        omniglot.find_runs(tmp_path)


def test_holding_out_an_alphabet_keeps_every_drawing_of_it_and_none_elsewhere(shared_data):
    sets = ("images_background_small1", "images_background_small2")
    images = load_omniglot(sets, shared_data / "omniglot")
    rest, held = omniglot.hold_out_alphabet(images, "Korean")
    assert set(omniglot.alphabets(held)) == {"Korean"} and "Korean" not in set(omniglot.alphabets(rest))
    assert len(rest) + len(held) == len(images)
    assert len(rest.class_names) == 242 - 40 and rest.labels.max() == len(rest.class_names) - 1
    assert all(rest.class_names[label] == images.class_names[images.labels[images.paths.index(path)]]
               for label, path in zip(rest.labels[:50], rest.paths[:50]))
    limited, _ = omniglot.hold_out_alphabet(images, "Korean", limit=300, seed=0)
    assert len(limited) == 300 and len(limited.class_names) == 242 - 40


def test_holding_out_an_unknown_alphabet_names_the_ones_there(shared_data):
    images = load_omniglot(("images_background_small2",), shared_data / "omniglot")
    with pytest.raises(ValueError, match="alphabet 'Klingon' is not in .*: choose one of .*Latin"):
        omniglot.hold_out_alphabet(images, "Klingon")
