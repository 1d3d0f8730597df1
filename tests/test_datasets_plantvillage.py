"""PlantVillage loader: upstream layouts, variants, class subsets, bad input, the archive."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from course_utils.datasets import DataError, DataUnavailableError, load_plantvillage
from course_utils.datasets import plantvillage

APPLE = ["Apple___Apple_scab", "Apple___Black_rot", "Apple___Cedar_apple_rust", "Apple___healthy"]


@pytest.fixture
def plants(shared_data: Path) -> Path:
    return shared_data / "plantvillage"


def small_copy(plants: Path, root: Path, per_class: int = 3, classes=APPLE) -> Path:
    """Copy a few real images per class into ``root`` (class folders directly inside)."""
    for name in classes:
        (root / name).mkdir(parents=True)
        for image in sorted((plants / "segmented" / name).iterdir())[:per_class]:
            shutil.copy(image, root / name / image.name)
    return root


def test_dataset_root_with_variant_folders_loads_every_class(plants):
    leaves = load_plantvillage(plants, variant="segmented", image_size=32)
    assert leaves.class_names == APPLE
    assert leaves.images.shape == (240, 32, 32, 3)
    assert np.bincount(leaves.labels).tolist() == [60, 60, 60, 60]
    assert "segmented" in leaves.source


def test_data_dir_may_be_the_variant_folder_itself(plants):
    leaves = load_plantvillage(plants / "segmented", variant="segmented", image_size=16)
    assert len(leaves) == 240


def test_course_data_dir_root_is_used_when_data_dir_is_unset(shared_data, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(shared_data))
    assert len(load_plantvillage(image_size=16, limit=8)) == 8


def test_subset_of_classes_and_limit_stay_balanced(plants):
    leaves = load_plantvillage(plants, image_size=16, classes=APPLE[2:], limit=10, seed=1)
    assert leaves.class_names == APPLE[2:]
    assert np.bincount(leaves.labels).tolist() == [5, 5]


def test_grayscale_mode_gives_one_channel(plants):
    leaves = load_plantvillage(plants, image_size=24, mode="L", limit=4)
    assert leaves.images.shape == (4, 24, 24)


def test_raw_folder_of_the_upstream_repository_is_found(plants, tmp_path):
    small_copy(plants, tmp_path / "raw" / "color")
    leaves = load_plantvillage(tmp_path, variant="color", image_size=16)
    assert len(leaves) == 12 and "color" in leaves.source


def test_unknown_variant_names_the_choices(plants):
    with pytest.raises(ValueError, match="color, grayscale, segmented"):
        load_plantvillage(plants, variant="segmentd")


def test_missing_variant_names_the_variants_found(plants):
    with pytest.raises(DataError, match="variants found: segmented"):
        load_plantvillage(plants, variant="color")


def test_variant_folder_of_another_variant_is_refused(plants, tmp_path):
    small_copy(plants, tmp_path / "grayscale")
    with pytest.raises(DataError, match="is the 'grayscale' variant"):
        load_plantvillage(tmp_path / "grayscale", variant="color")


def test_folder_without_class_folders_is_refused(tmp_path):
    (tmp_path / "segmented" / "leaves").mkdir(parents=True)
    with pytest.raises(DataError, match="no PlantVillage class folders"):
        load_plantvillage(tmp_path, variant="segmented")


def test_unknown_class_is_named(plants):
    with pytest.raises(DataError, match="Apple___Rust"):
        load_plantvillage(plants, classes=["Apple___Rust"])


def test_missing_data_dir_is_refused(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_plantvillage(tmp_path / "nowhere")


def test_unreadable_images_are_skipped_named_and_counted(plants, tmp_path):
    root = small_copy(plants, tmp_path / "segmented", per_class=2)
    (root / APPLE[0] / "broken.jpg").write_bytes(b"not a jpeg")
    (root / APPLE[1] / "empty.JPG").write_bytes(b"")
    with pytest.warns(UserWarning, match="skipped 2 unreadable image file") as caught:
        leaves = load_plantvillage(tmp_path, image_size=16)
    assert len(leaves) == 8
    assert sorted(Path(p).name for p in leaves.skipped) == ["broken.jpg", "empty.JPG"]
    assert "broken.jpg" in str(caught[0].message)


def test_no_local_copy_offline_is_unavailable(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="COURSE_OFFLINE"):
        load_plantvillage(variant="color")


def test_segmented_variant_cannot_be_downloaded(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    with pytest.raises(DataUnavailableError, match="no segmented images"):
        load_plantvillage(variant="segmented")


@pytest.fixture
def cached_archive(plants, tmp_path, monkeypatch) -> Path:
    """A small archive in the upstream zip layout, already in the course cache, checksum patched."""
    cache = tmp_path / "cache"
    archive = cache / plantvillage.DATASET / plantvillage.ARCHIVE_NAME
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in APPLE[:2] + ["Background_without_leaves"]:
            source = plants / "segmented" / (name if name in APPLE else APPLE[3])
            for image in sorted(source.iterdir())[:2]:
                bundle.write(image, f"{plantvillage.ARCHIVE_ROOT}/{name}/{image.name}")
    monkeypatch.setattr(plantvillage, "SOURCE", dataclasses.replace(
        plantvillage.SOURCE, sha256=hashlib.sha256(archive.read_bytes()).hexdigest()))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(cache))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    return archive


def test_cached_archive_is_extracted_once_without_network(cached_archive, tmp_path):
    leaves = load_plantvillage(variant="color", image_size=16)
    assert leaves.class_names == APPLE[:2]
    assert len(leaves) == 4 and "archive" in leaves.source
    again = load_plantvillage(variant="grayscale", image_size=16)
    assert again.images.shape == (4, 16, 16)


@pytest.mark.parametrize("escape", ["../outside.txt", "absolute"])
def test_an_archive_member_leading_outside_refuses_the_archive_before_extracting_anything(
        cached_archive, tmp_path, escape):
    outside = tmp_path / "cache" / plantvillage.DATASET / "outside.txt"
    name = str(outside) if escape == "absolute" else escape
    with zipfile.ZipFile(cached_archive, "a") as bundle:
        bundle.writestr(name, "a member that must not escape the cache")
    target = tmp_path / "extracted"
    with pytest.raises(DataError, match=rf"{re.escape(cached_archive.name)}.*member "
                                        rf"{re.escape(repr(name))}.*re-create it"):
        plantvillage.extract_archive(cached_archive, target)
    assert not outside.exists() and not (target / "outside.txt").exists()
    assert not target.exists() or not any(target.rglob("*"))


def test_cached_archive_with_wrong_checksum_is_not_trusted(cached_archive, monkeypatch):
    monkeypatch.setattr(plantvillage, "SOURCE",
                        dataclasses.replace(plantvillage.SOURCE, sha256="0" * 64))
    with pytest.raises(DataUnavailableError, match="COURSE_OFFLINE"):
        load_plantvillage(variant="color")
