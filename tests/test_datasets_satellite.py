"""Satellite loader: image folders, the AID slice, huggan/maps parquet shards, offline."""

import io
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from course_utils.datasets import DataError, DataUnavailableError, load_satellite, synthetic_tiles
from course_utils.datasets.satellite import tile_root


def png_bytes(colour, size=(40, 40)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def write_maps_shard(path, colours):
    """A shard in the huggan/maps layout: image structs with bytes and path, satellite and map."""
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table({
        "imageA": pa.array([{"bytes": png_bytes(c), "path": None} for c in colours], type=image),
        "imageB": pa.array([{"bytes": png_bytes((255, 255, 255)), "path": None} for c in colours],
                           type=image),
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def test_parquet_shards_give_the_satellite_half(tmp_path):
    write_maps_shard(tmp_path / "data" / "train-00000.parquet", [(10, 20, 30), (40, 50, 60)])
    write_maps_shard(tmp_path / "data" / "val-00000.parquet", [(70, 80, 90)])
    tiles = load_satellite(tmp_path, image_size=16)
    assert tiles.images.shape == (3, 16, 16, 3)
    assert sorted(tiles.images[:, 0, 0, 0].tolist()) == [10, 40, 70]
    assert "parquet" in tiles.source


def test_parquet_without_the_satellite_column_is_refused(tmp_path):
    pq.write_table(pa.table({"image": [png_bytes((1, 2, 3))]}), tmp_path / "x.parquet")
    with pytest.raises(DataError, match="no 'imageA' column.*not the huggan/maps layout"):
        load_satellite(tmp_path, image_size=16)


def test_corrupt_parquet_cell_is_skipped_and_named(tmp_path):
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table({"imageA": pa.array([{"bytes": png_bytes((9, 9, 9)), "path": None},
                                          {"bytes": b"garbage", "path": None}], type=image)})
    pq.write_table(table, tmp_path / "s.parquet")
    with pytest.warns(UserWarning, match=r"skipped 1 .*s\.parquet\[1\]"):
        tiles = load_satellite(tmp_path, image_size=8)
    assert len(tiles) == 1


def test_dataset_root_with_one_source_of_class_folders(tmp_path, monkeypatch):
    source = tmp_path / "satellite" / "MyTiles"
    for i in range(4):
        path = source / ("beach" if i % 2 else "forest") / f"tile{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (30, 30), (i * 50, 0, 0)).save(path)
    assert tile_root(tmp_path / "satellite") == source
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    tiles = load_satellite(None, image_size=12)
    assert len(tiles) == 4 and tiles.class_names == ["beach", "forest"]
    assert str(source) in tiles.source


def test_flat_folder_of_tiles(tmp_path):
    for i in range(3):
        Image.new("RGB", (30, 30), (i * 50, 0, 0)).save(tmp_path / f"tile{i}.jpg")
    tiles = load_satellite(tmp_path, image_size=12)
    assert tiles.images.shape == (3, 12, 12, 3)


def test_several_sources_are_ambiguous(tmp_path):
    for name in ("A", "B"):
        path = tmp_path / name / "cls" / "t.png"
        path.parent.mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(path)
    with pytest.raises(DataError, match="several tile sources \\(A, B\\)"):
        load_satellite(tmp_path, image_size=8)


def test_folder_without_tiles_says_what_it_expected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no satellite tiles.*expected images"):
        load_satellite(tmp_path, image_size=8)


def test_offline_without_local_copy_fails_fast(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="COURSE_OFFLINE=1"):
        load_satellite(None, image_size=8)


def test_synthetic_tiles_are_seeded_images():
    a, b = synthetic_tiles(3, 16, seed=1), synthetic_tiles(3, 16, seed=1)
    assert a.images.dtype == np.uint8 and a.images.shape == (3, 16, 16, 3)
    assert np.array_equal(a.images, b.images) and "synthetic" in a.source


def test_the_shared_aid_slice_loads_through_course_data_dir(shared_data, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(shared_data))
    tiles = load_satellite(None, image_size=32, limit=60, seed=0)
    assert len(tiles) == 60 and len(tiles.class_names) == 30
    assert np.bincount(tiles.labels).tolist() == [2] * 30
    assert os.path.join("satellite", "AID") in tiles.source
