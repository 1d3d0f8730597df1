"""The shared data layer: where data lives, reading folders, bad input, offline downloads."""

import shutil
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from course_utils.datasets import core
from course_utils.datasets.core import DataError


def write_image(path, colour=(200, 10, 10), size=(20, 16)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def test_data_dir_wins_over_course_data_dir(tmp_path, monkeypatch):
    root, mine = tmp_path / "root", tmp_path / "mine"
    (root / "satellite").mkdir(parents=True)
    mine.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))
    assert core.local_dataset_dir("satellite") == root / "satellite"
    assert core.local_dataset_dir("satellite", mine) == mine
    assert core.local_dataset_dir("omniglot") is None


def test_missing_data_dir_is_named(tmp_path):
    with pytest.raises(DataError, match="DATA_DIR .*nowhere.* does not exist"):
        core.local_dataset_dir("satellite", tmp_path / "nowhere")


def test_class_folders_become_labels(tmp_path):
    write_image(tmp_path / "forest" / "a.jpg", (0, 120, 0))
    write_image(tmp_path / "forest" / "b.png", (0, 130, 0))
    write_image(tmp_path / "river" / "c.tif", (0, 0, 200))
    images = core.load_image_folder(tmp_path, size=8)
    assert images.images.shape == (3, 8, 8, 3) and images.images.dtype == np.uint8
    assert images.class_names == ["forest", "river"]
    assert images.labels.tolist() == [0, 0, 1]
    assert images.images[2, 4, 4].tolist() == [0, 0, 200]


def test_flat_folder_and_grayscale(tmp_path):
    write_image(tmp_path / "a.png")
    images = core.load_image_folder(tmp_path, size=None, mode="L")
    assert images.images.shape == (1, 16, 20)
    assert images.class_names == [tmp_path.name]


def test_empty_folder_and_mixed_layout_are_refused(tmp_path):
    with pytest.raises(DataError, match="no image files"):
        core.load_image_folder(tmp_path, size=8)
    write_image(tmp_path / "a.png")
    write_image(tmp_path / "forest" / "b.png")
    with pytest.raises(DataError, match="mixes 1 image file.*1 folder"):
        core.load_image_folder(tmp_path, size=8)


def test_unknown_class_is_named(tmp_path):
    write_image(tmp_path / "forest" / "a.png")
    with pytest.raises(DataError, match="class folder.*desert.*not found"):
        core.load_image_folder(tmp_path, size=8, classes=["forest", "desert"])


def test_one_corrupt_image_is_skipped_named_and_counted(tmp_path):
    for i in range(3):
        write_image(tmp_path / f"good{i}.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image file\(s\): .*broken\.jpg"):
        images = core.load_image_folder(tmp_path, size=8)
    assert len(images) == 3 and images.skipped == [str(tmp_path / "broken.jpg")]
    assert all("good" in p for p in images.paths)


def write_blank_png(path, width, height):
    """Write a valid white 1-bit PNG of ``width`` x ``height``: a few kB on disk even when huge."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter byte, then 8 white pixels per byte
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                                     1, 0, 0, 0, 0))
                     + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return path


def copy_tiles(shared_data, root, classes=("Beach", "Forest"), per_class=2):
    """Copy a few real AID satellite tiles into ``root``/<Class>/."""
    for name in classes:
        (root / name).mkdir(parents=True)
        for tile in sorted((shared_data / "satellite" / "AID" / name).iterdir())[:per_class]:
            shutil.copy(tile, root / name / tile.name)
    return root


def test_an_image_far_over_the_pixel_limit_is_skipped_named_and_counted(shared_data, tmp_path):
    copy_tiles(shared_data, tmp_path)
    bomb = write_blank_png(tmp_path / "Forest" / "bomb.png", 20_000, 20_000)
    assert bomb.stat().st_size < 1_000_000
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image file\(s\): .*bomb\.png"):
        tiles = core.load_image_folder(tmp_path, size=32)
    assert len(tiles) == 4 and tiles.skipped == [str(bomb)]
    assert tiles.class_names == ["Beach", "Forest"] and tiles.labels.tolist() == [0, 0, 1, 1]


def test_an_image_just_over_the_limit_is_refused_unread_though_pil_only_warns(tmp_path,
                                                                              monkeypatch):
    # 60 M pixels: above the course's 50 M, below the 100 M at which PIL itself raises.
    big = write_blank_png(tmp_path / "big.png", 8_000, 7_500)
    write_image(tmp_path / "small.png")
    decoded = []
    load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load",
                        lambda image: decoded.append(image.size) or load(image))
    with pytest.warns(UserWarning, match=r"skipped 1 .*big\.png"):
        images = core.load_image_folder(tmp_path, size=8)
    assert images.skipped == [str(big)] and (8_000, 7_500) not in decoded
    with pytest.raises(DataError, match=r"big\.png.*60000000 pixels.*at most 50,000,000 pixels"):
        core.read_image(big)


def test_image_bytes_over_the_pixel_limit_are_a_data_error_naming_them(tmp_path):
    data = write_blank_png(tmp_path / "bomb.png", 20_000, 20_000).read_bytes()
    with pytest.raises(DataError, match=r"shard\[3\].*MAX_IMAGE_PIXELS"):
        core.decode_image(data, 32, name="shard[3]")


@pytest.mark.parametrize("name, link, hardlink, problem", [
    ("../outside.txt", None, False, "'..' part"),
    ("data/../../outside.txt", None, False, "'..' part"),
    ("..\\outside.txt", None, False, "'..' part"),
    ("/tmp/outside.txt", None, False, "absolute path"),
    ("C:/outside.txt", None, False, "absolute path"),
    ("data/escape", "../../outside.txt", False, "link to '../../outside.txt'"),
    ("data/escape", "/etc/passwd", False, "link to '/etc/passwd'"),
    ("data/escape", "../outside.txt", True, "link to '../outside.txt'"),
])
def test_an_archive_member_leading_outside_is_refused_naming_archive_member_and_fix(
        name, link, hardlink, problem):
    with pytest.raises(DataError) as refused:
        core.check_member("data.tar.gz", name, link, hardlink=hardlink)
    message = str(refused.value)
    assert "'data.tar.gz'" in message and repr(name) in message and problem in message
    assert "re-create it with relative paths" in message


@pytest.mark.parametrize("name, link, hardlink", [
    ("data/batch_1", None, False), ("data/", None, False), ("data/..hidden", None, False),
    ("data/latest", "batch_1", False), ("data/sub/latest", "../batch_1", False),
    ("data/copy", "data/batch_1", True),
])
def test_an_archive_member_inside_its_folder_passes(name, link, hardlink):
    core.check_member("data.tar.gz", name, link, hardlink=hardlink)


def test_only_corrupt_images_is_an_error(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError, match="none of the 1 image"):
            core.load_image_folder(tmp_path, size=8)


def test_images_of_different_sizes_need_a_size(tmp_path):
    write_image(tmp_path / "a.png", size=(10, 10))
    write_image(tmp_path / "b.png", size=(12, 10))
    with pytest.raises(DataError, match="pass an image size"):
        core.load_image_folder(tmp_path, size=None)


def test_limit_is_balanced_over_classes_and_seeded(tmp_path):
    for name in ("a", "b"):
        for i in range(6):
            write_image(tmp_path / name / f"{i}.png", (i * 40, 0, 0))
    first = core.load_image_folder(tmp_path, size=4, limit=4, seed=1)
    again = core.load_image_folder(tmp_path, size=4, limit=4, seed=1)
    assert np.bincount(first.labels).tolist() == [2, 2]
    assert first.paths == again.paths


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    assert core.cache_dir() == tmp_path / "cache"


def test_synthetic_banner_is_loud():
    banner = core.announce_synthetic("satellite tiles", "offline")
    assert "SYNTHETIC STAND-IN" in banner and "offline" in banner and banner.count("\n") >= 3
