"""Files in each dataset's upstream download format, built from the real slices in ../shared/data.

The Omniglot sets are the upstream bytes themselves; the others are repacked slices (the real images
in the real archive layout), so a mirror of them publishes its own checksums (COURSE_CHECKSUMS).
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from course_utils.datasets import cifar10, omniglot, plantvillage, satellite


def omniglot_set(shared: Path, name: str) -> bytes:
    """Return an Omniglot set's zip exactly as upstream ships it."""
    return (shared / "omniglot" / f"{name}.zip").read_bytes()


def all_runs_zip(shared: Path) -> bytes:
    """Return ``all_runs.zip`` holding the one run of the slice (``run01/...``, as upstream)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(shared / "omniglot" / "one_shot_run01.zip") as source, \
            zipfile.ZipFile(buffer, "w") as target:
        for member in source.infolist():
            target.writestr(member, source.read(member))
    return buffer.getvalue()


def cifar10_archive(shared: Path, per_class: int = 30) -> bytes:
    """Return ``cifar-10-python.tar.gz`` with python batches of the slice's images."""
    def batch(split: str, part: int, parts: int) -> bytes:
        rows, labels, names = [], [], []
        for label, name in enumerate(cifar10.CLASS_NAMES):
            files = sorted((shared / "cifar10" / split / name).iterdir())[:per_class]
            for path in files[part::parts]:
                image = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)
                rows.append(image.transpose(2, 0, 1).reshape(-1))
                labels.append(label)
                names.append(path.name.encode())
        record = {b"batch_label": f"{split} batch {part + 1}".encode(), b"labels": labels,
                  b"data": np.stack(rows), b"filenames": names}
        return pickle.dumps(record, protocol=2)

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        members = {f"data_batch_{i + 1}": batch("train", i, 5) for i in range(5)}
        members["test_batch"] = batch("test", 0, 1)
        for name, data in members.items():
            info = tarfile.TarInfo(f"{cifar10.BATCH_DIR}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def plantvillage_archive(shared: Path) -> bytes:
    """Return the PlantVillage archive's layout holding the slice's apple leaves."""
    buffer = io.BytesIO()
    root = plantvillage.ARCHIVE_ROOT
    with zipfile.ZipFile(buffer, "w") as bundle:
        for folder in sorted((shared / "plantvillage" / "segmented").iterdir()):
            for path in sorted(folder.iterdir()):
                bundle.write(path, f"{root}/{folder.name}/{path.name}")
        bundle.writestr(f"{root}/Background_without_leaves/empty.txt", b"")
    return buffer.getvalue()


def maps_shard(shared: Path, tiles: int = 40) -> bytes:
    """Return a huggan/maps parquet shard: ``imageA`` satellite photo, ``imageB`` map."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = sorted((shared / "satellite" / "AID").rglob("*.jpg"))[:tiles]
    cells = [{"bytes": p.read_bytes(), "path": p.name} for p in paths]
    table = pa.table({satellite.SATELLITE_COLUMN: cells, "imageB": cells})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def smoke_mirror(shared: Path) -> dict[str, bytes]:
    """Return every file the smoke course downloads, keyed ``<dataset>/<upstream file name>``."""
    files = {f"omniglot/{omniglot.SOURCES[name].name}": omniglot_set(shared, name)
             for name in ("images_background_small1", "images_background_small2")}
    files["omniglot/" + omniglot.RUNS.name] = all_runs_zip(shared)
    files["cifar10/" + cifar10.ARCHIVE] = cifar10_archive(shared)
    files["plantvillage/" + plantvillage.ARCHIVE_NAME] = plantvillage_archive(shared)
    files["satellite/" + satellite.SHARDS[0].name] = maps_shard(shared)
    return files


def write_checksums(files: dict[str, bytes], path: Path) -> Path:
    """Write the COURSE_CHECKSUMS file for repacked ``files``; return its path."""
    path.write_text(json.dumps({k: hashlib.sha256(v).hexdigest() for k, v in files.items()}))
    return path
