"""The CIFAR-10 loader: exported class folders, the upstream pickle batches and archive, errors."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import pathlib
import pickle
import re
import struct
import tarfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from course_utils.datasets import DataError, DataUnavailableError, cifar10, load_cifar10


def fake_batch(n: int, seed: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Return a batch dict in the upstream pickle format, with its images (NHWC) and labels."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(n) % 10
    rows = images.transpose(0, 3, 1, 2).reshape(n, -1)  # upstream rows are channel-planar
    return {b"batch_label": b"fake", b"labels": labels.tolist(), b"data": rows,
            b"filenames": [f"img{i}.png".encode() for i in range(n)]}, images, labels


class _Python2Pickler(pickle._Pickler):
    """Write bytes as Python 2 wrote its str (BINSTRING), as in the upstream batches."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_python2_str(self, obj: bytes) -> None:
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def upstream_dumps(batch: dict) -> bytes:
    """Pickle ``batch`` as the upstream files are: Python 2, protocol 2, numpy 1's module names."""
    out = io.BytesIO()
    _Python2Pickler(out, protocol=2).dump(batch)
    return out.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def write_batches(folder: Path, dumps: Callable[[dict], bytes] = pickle.dumps
                  ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write six small upstream batches into ``folder``; return the images and labels per split."""
    folder.mkdir(parents=True)
    parts = {"train": [], "test": []}
    for i, name in enumerate([f"data_batch_{j}" for j in range(1, 6)] + ["test_batch"]):
        batch, images, labels = fake_batch(20, i)
        (folder / name).write_bytes(dumps(batch))
        parts["test" if name == "test_batch" else "train"].append((images, labels))
    return {split: (np.concatenate([p[0] for p in pieces]), np.concatenate([p[1] for p in pieces]))
            for split, pieces in parts.items()}


def write_archive(folder: Path) -> tuple[Path, dict]:
    """Write a small ``cifar-10-python.tar.gz`` in the upstream layout into ``folder``."""
    expected = write_batches(folder / "extracted" / cifar10.BATCH_DIR)
    archive = folder / cifar10.ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder / "extracted" / cifar10.BATCH_DIR, arcname=cifar10.BATCH_DIR)
    return archive, expected


@pytest.fixture
def no_local_data(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    return tmp_path / "cache"


def test_exported_layout_loads_both_splits_with_official_labels(shared_data):
    train = load_cifar10(shared_data / "cifar10", "train")
    test = load_cifar10(shared_data / "cifar10", "test")
    assert train.images.shape == (3000, 32, 32, 3) and train.images.dtype == np.uint8
    assert len(test) == 1000
    assert train.class_names == list(cifar10.CLASS_NAMES)
    assert np.bincount(train.labels).tolist() == [300] * 10
    cat = cifar10.CLASS_NAMES.index("cat")
    assert all("/cat/" in p for p, label in zip(train.paths, train.labels) if label == cat)


def test_course_data_dir_is_used_when_no_folder_is_given(shared_data, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(shared_data))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    test = load_cifar10(split="test", limit=50, seed=1)
    assert len(test) == 50 and np.bincount(test.labels).tolist() == [5] * 10
    assert str(shared_data / "cifar10" / "test") in test.source


def test_a_folder_of_some_class_folders_keeps_official_label_numbers(shared_data, tmp_path):
    for name in ("ship", "cat"):
        (tmp_path / name).mkdir()
        for source in sorted((shared_data / "cifar10" / "test" / name).iterdir())[:3]:
            (tmp_path / name / source.name).symlink_to(source)
    queries = load_cifar10(tmp_path, "test")
    assert sorted(set(queries.labels.tolist())) == [cifar10.CLASS_NAMES.index("cat"),
                                                    cifar10.CLASS_NAMES.index("ship")]
    assert queries.class_names == list(cifar10.CLASS_NAMES)


def test_unknown_class_folder_is_named_in_the_error(tmp_path):
    (tmp_path / "kitten").mkdir()
    (tmp_path / "cat").mkdir()
    for name in ("kitten", "cat"):
        Image.new("RGB", (32, 32)).save(tmp_path / name / "0.png")
    with pytest.raises(DataError, match="kitten.*not CIFAR-10 classes"):
        load_cifar10(tmp_path)


def test_missing_split_folder_and_unknown_layout_are_clear_errors(tmp_path):
    (tmp_path / "train" / "cat").mkdir(parents=True)
    with pytest.raises(DataError, match="no test/ folder"):
        load_cifar10(tmp_path, "test")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no CIFAR-10 in .*train/<class>/"):
        load_cifar10(empty)
    with pytest.raises(DataError, match="does not exist"):
        load_cifar10(tmp_path / "nowhere")


def test_unknown_split_is_rejected_with_the_choices(tmp_path):
    with pytest.raises(ValueError, match="'validation'.*train or test"):
        load_cifar10(tmp_path, "validation")


def test_extracted_batches_decode_channel_planar_rows(tmp_path):
    expected = write_batches(tmp_path / cifar10.BATCH_DIR)
    for split in ("train", "test"):
        loaded = load_cifar10(tmp_path, split)
        np.testing.assert_array_equal(loaded.images, expected[split][0])
        np.testing.assert_array_equal(loaded.labels, expected[split][1])
    assert len(load_cifar10(tmp_path / cifar10.BATCH_DIR, "train", limit=30)) == 30


def test_the_upstream_archive_loads_without_extraction(tmp_path):
    archive, expected = write_archive(tmp_path / "copy")
    loaded = load_cifar10(archive.parent, "train")
    np.testing.assert_array_equal(loaded.images, expected["train"][0])
    assert loaded.paths[0] == "data_batch_1[0]" and "archive" in loaded.source


def test_a_corrupt_batch_is_a_data_error(tmp_path):
    write_batches(tmp_path / cifar10.BATCH_DIR)
    (tmp_path / cifar10.BATCH_DIR / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="test_batch is not a CIFAR-10 python batch"):
        load_cifar10(tmp_path, "test")
    wrong = {b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}
    (tmp_path / cifar10.BATCH_DIR / "test_batch").write_bytes(pickle.dumps(wrong))
    with pytest.raises(DataError, match=r"\(N, 3072\)"):
        load_cifar10(tmp_path, "test")


class _Touch:
    """Unpickles by calling ``how`` to create ``path``: what a crafted batch could do."""

    def __init__(self, how: str, path: Path):
        self.how, self.path = how, path

    def __reduce__(self):
        if self.how == "os.system":
            return os.system, (f"touch {self.path}",)
        return pathlib.Path.touch, (self.path,)


@pytest.mark.parametrize("how", ["os.system", "pathlib.Path.touch"])
def test_a_batch_that_would_run_code_is_refused_without_running_it(tmp_path, how):
    write_batches(tmp_path / cifar10.BATCH_DIR)
    planted = tmp_path / "planted"
    crafted = {b"batch_label": b"x", b"labels": [0], b"data": _Touch(how, planted)}
    (tmp_path / cifar10.BATCH_DIR / "test_batch").write_bytes(pickle.dumps(crafted, protocol=2))
    with pytest.raises(DataError, match=r"cifar-10-batches-py/test_batch is not a CIFAR-10 "
                                        r"python batch.*asks to load .*could run code"):
        load_cifar10(tmp_path, "test")
    assert not planted.exists()


@pytest.mark.parametrize("dumps", [upstream_dumps, lambda batch: pickle.dumps(batch, protocol=2)],
                         ids=["python2-numpy1", "python3-numpy2"])
def test_batches_pickled_like_upstream_with_protocol_2_still_load(tmp_path, dumps):
    expected = write_batches(tmp_path / cifar10.BATCH_DIR, dumps)
    for split in ("train", "test"):
        loaded = load_cifar10(tmp_path, split)
        np.testing.assert_array_equal(loaded.images, expected[split][0])
        np.testing.assert_array_equal(loaded.labels, expected[split][1])


def write_archive_with(folder: Path, member: tarfile.TarInfo) -> Path:
    """Write a valid small archive plus ``member`` (a file or a link) into ``folder``."""
    archive, _ = write_archive(folder)
    with tarfile.open(archive, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar]
    with tarfile.open(archive, "w:gz") as tar:
        for info, data in members + [(member, b"x" if member.isfile() else None)]:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return archive


def tar_member(name: str, link: str | None = None, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link or ""
    return info


@pytest.mark.parametrize("member", [
    tar_member("../outside.txt"),
    tar_member("/tmp/outside.txt"),
    tar_member(f"{cifar10.BATCH_DIR}/escape", "../../outside.txt", tarfile.SYMTYPE),
    tar_member(f"{cifar10.BATCH_DIR}/escape", "/etc/passwd", tarfile.SYMTYPE),
    tar_member(f"{cifar10.BATCH_DIR}/escape", "../outside.txt", tarfile.LNKTYPE),
], ids=["dotdot", "absolute", "symlink-up", "symlink-absolute", "hardlink-up"])
def test_an_archive_member_leading_outside_refuses_the_archive(tmp_path, member):
    archive = write_archive_with(tmp_path / "copy", member)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(DataError, match=rf"{re.escape(cifar10.ARCHIVE)}.*member {re.escape(repr(member.name))} has.*"
                                        rf"re-create it"):
        load_cifar10(archive.parent, "test")
    assert sorted(tmp_path.rglob("*")) == before


def test_offline_without_a_local_copy_or_cache_is_unavailable(no_local_data):
    with pytest.raises(DataUnavailableError, match="COURSE_OFFLINE=1"):
        load_cifar10()


def test_a_cached_archive_with_the_right_checksum_is_used_offline(no_local_data, tmp_path,
                                                                  monkeypatch):
    archive, expected = write_archive(tmp_path / "made")
    cached = no_local_data / cifar10.DATASET / cifar10.ARCHIVE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(archive.read_bytes())
    monkeypatch.setattr(cifar10, "SOURCE", dataclasses.replace(
        cifar10.SOURCE, sha256=hashlib.sha256(archive.read_bytes()).hexdigest()))
    test = load_cifar10(split="test")
    np.testing.assert_array_equal(test.images, expected["test"][0])
    assert cifar10.URL in test.source


def test_a_cached_archive_with_a_wrong_checksum_is_not_trusted(no_local_data, tmp_path):
    archive, _ = write_archive(tmp_path / "made")
    cached = no_local_data / cifar10.DATASET / cifar10.ARCHIVE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(archive.read_bytes())
    with pytest.raises(DataUnavailableError, match="not in the cache"):
        load_cifar10()


def test_an_archive_without_batches_is_a_data_error(tmp_path):
    archive = tmp_path / cifar10.ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("readme.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(DataError, match="not the CIFAR-10 python archive"):
        load_cifar10(tmp_path)
