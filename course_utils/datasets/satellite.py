"""Satellite tiles: the pix2pix maps data (the seed's source) or any local folder of tiles.

The course default is ``huggan/maps`` on the Hugging Face hub: four parquet shards (about 1.9 GB in
all) whose ``imageA`` column is the satellite photo and ``imageB`` the map; the loader keeps the
satellite half and downloads only the shards a run needs (one for ``smoke`` and ``cpu``). They come
by URL from ``$HF_ENDPOINT`` (default ``https://huggingface.co``), at a pinned revision. A local
folder may hold such parquet files, or plain tiles (jpg/png/tif), flat or in one level of class
folders, like the AID slice in ``shared/data/satellite/AID``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .core import (DataError, ImageSet, balanced_subset, decode_image, list_images,
                   load_image_folder, local_dataset_dir, warn_skipped)
from .downloads import Source, fetch

DATASET = "satellite"
HUB_REPO = "huggan/maps"
# The commit that uploaded the shards; the files have not changed since.
REVISION = "31d6d6489ff052afd8a31bf4cef027ec4461d58b"
SATELLITE_COLUMN = "imageA"
# The hub publishes each shard's SHA-256 as its LFS object id, but none could be read from this
# offline workplace: the first download is hashed and recorded, and later loads check against it.
SHARDS = tuple(
    Source(DATASET, f"train-0000{i}-of-00004.parquet",
           f"hf://datasets/{HUB_REPO}/resolve/{REVISION}/data/train-0000{i}-of-00004.parquet",
           None, size)
    for i, size in enumerate((427, 433, 507, 505)))


def load_satellite(data_dir: str | os.PathLike | None = None, image_size: int = 128,
                   limit: int | None = None, seed: int = 0, shards: int | None = None) -> ImageSet:
    """Load satellite tiles from ``data_dir``, ``$COURSE_DATA_DIR/satellite`` or the hub.

    ``shards`` is how many huggan/maps shards a download fetches (None: all four).

    Raises:
        ValueError: ``shards`` is not between 1 and 4.
        DataError: the local folder is empty, laid out wrongly or unreadable.
        DataUnavailableError: no local copy and no download possible.
    """
    local = local_dataset_dir(DATASET, data_dir)
    if local is not None:
        return load_satellite_folder(tile_root(local), image_size, limit, seed)
    files = download_maps(shards)
    return load_parquet_tiles(files, image_size, limit, seed,
                              source=f"hub {HUB_REPO}, {len(files)} of {len(SHARDS)} shard(s)")


def tile_root(folder: Path) -> Path:
    """Return the folder that holds the tiles: ``folder`` itself or its single source subfolder.

    A dataset root like ``shared/data/satellite`` holds one folder per source (``AID/``); a tile
    folder holds images or class folders of images directly.

    Raises:
        DataError: the folder holds several sources and it is unclear which one to use.
    """
    if parquet_files(folder) or list_images(folder):
        return folder
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if any(list_images(d) for d in subdirs):
        return folder
    sources = [d for d in subdirs if parquet_files(d) or any(
        list_images(c) for c in d.iterdir() if c.is_dir())]
    if len(sources) == 1:
        return sources[0]
    if len(sources) > 1:
        names = ", ".join(d.name for d in sources)
        raise DataError(f"{str(folder)!r} holds several tile sources ({names}): point DATA_DIR at one")
    raise DataError(f"no satellite tiles in {str(folder)!r}: expected images (jpg/png/tif), one "
                    f"level of class folders of images, or huggan/maps parquet shards")


def parquet_files(folder: Path) -> list[Path]:
    """Return the parquet shards under ``folder`` (the hub layout keeps them in ``data/``)."""
    return sorted(folder.rglob("*.parquet"))


def load_satellite_folder(folder: Path, image_size: int, limit: int | None,
                          seed: int) -> ImageSet:
    """Load tiles from a folder of parquet shards or of images (flat or class folders)."""
    shards = parquet_files(folder)
    if shards:
        return load_parquet_tiles(shards, image_size, limit, seed, source=f"local parquet {folder}")
    return load_image_folder(folder, image_size, "RGB", limit=limit, seed=seed)


def load_parquet_tiles(shards: list[Path], image_size: int, limit: int | None, seed: int,
                       source: str) -> ImageSet:
    """Decode the satellite column of pix2pix-maps parquet shards.

    Raises:
        DataError: a shard has no ``imageA`` column or no readable image.
    """
    import pyarrow.parquet as pq

    cells: list[tuple[str, bytes]] = []
    for shard in shards:
        schema = pq.read_schema(shard)
        if SATELLITE_COLUMN not in schema.names:
            raise DataError(f"parquet file {str(shard)!r} has no {SATELLITE_COLUMN!r} column "
                            f"(columns: {', '.join(schema.names)}): not the huggan/maps layout")
        column = pq.read_table(shard, columns=[SATELLITE_COLUMN]).column(0).to_pylist()
        for row, cell in enumerate(column):
            data = cell.get("bytes") if isinstance(cell, dict) else cell
            cells.append((f"{shard.name}[{row}]", data or b""))
    if limit is not None and limit < len(cells):
        keep = balanced_subset(np.zeros(len(cells), dtype=int), limit, seed)
        cells = [cells[i] for i in keep]
    images, names, skipped = [], [], []
    for name, data in cells:
        try:
            images.append(decode_image(data, image_size, "RGB", name))
            names.append(name)
        except DataError:
            skipped.append(name)
    warn_skipped(skipped)
    if not images:
        raise DataError(f"no readable {SATELLITE_COLUMN} image in {len(shards)} parquet shard(s)")
    return ImageSet(np.stack(images), np.zeros(len(images), dtype=np.int32), ["maps"], names,
                    source, skipped)


def download_maps(shards: int | None = None) -> list[Path]:
    """Download (once) the first ``shards`` huggan/maps parquet shards; return their cached paths.

    Raises:
        ValueError: ``shards`` is not between 1 and 4.
        DataUnavailableError: a shard is neither cached nor downloadable.
    """
    count = len(SHARDS) if shards is None else shards
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= len(SHARDS):
        raise ValueError(f"shards must be a whole number from 1 to {len(SHARDS)}, got {shards!r}")
    return [fetch(source) for source in SHARDS[:count]]


def synthetic_tiles(n: int, image_size: int, seed: int = 0) -> ImageSet:
    """Return ``n`` seeded synthetic 'tiles' (smooth random textures) as a stand-in for real ones."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(0, 2 * np.pi, image_size, dtype=np.float32)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    freqs = rng.uniform(0.5, 6.0, size=(n, 4, 2, 1, 1)).astype(np.float32)
    phases = rng.uniform(0, 2 * np.pi, size=(n, 4, 1, 1)).astype(np.float32)
    waves = np.sin(freqs[:, :, 0] * xx + freqs[:, :, 1] * yy + phases)
    colours = rng.uniform(0.2, 1.0, size=(n, 4, 3)).astype(np.float32)
    images = np.einsum("nkhw,nkc->nhwc", (waves + 1) / 2, colours) / 4
    images = (255 * np.clip(images, 0, 1)).astype(np.uint8)
    return ImageSet(images, np.zeros(n, dtype=np.int32), ["synthetic"],
                    [f"synthetic[{i}]" for i in range(n)], "synthetic stand-in (no real tiles)",
                    synthetic=True)
