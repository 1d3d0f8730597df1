"""CIFAR-10: the official python-pickle archive, or a local copy in the exported or upstream layout.

The real source is ``cifar-10-python.tar.gz`` from the University of Toronto (the file
``keras.datasets.cifar10`` downloads), fetched once into the course cache and checked against its
SHA-256 (the published MD5 is ``c58f30108f718f92721af3b95e74349a``). A local folder may hold:

- the common exported layout, ``train/<class>/*.png|jpg`` and ``test/<class>/*`` (what
  ``shared/data/cifar10`` is), or just one level of class folders (a folder of query images);
- the upstream layout: the archive itself, or its extracted ``cifar-10-batches-py/`` batches.

Labels always follow the official class order, whatever subset of class folders a copy holds.
"""

from __future__ import annotations

import codecs
import os
import pickle
import tarfile
from pathlib import Path
from typing import IO, Callable

import numpy as np

from .core import (DataError, ImageSet, balanced_subset, check_member, load_image_folder,
                   local_dataset_dir)
from .downloads import Source, fetch

DATASET = "cifar10"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
ARCHIVE = "cifar-10-python.tar.gz"
SOURCE = Source(DATASET, ARCHIVE, URL, SHA256, 170.5)
BATCH_DIR = "cifar-10-batches-py"
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
SPLITS = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
IMAGE_SIZE = 32


def load_cifar10(data_dir: str | os.PathLike | None = None, split: str = "train",
                 limit: int | None = None, seed: int = 0) -> ImageSet:
    """Load one split of CIFAR-10 from ``data_dir``, ``$COURSE_DATA_DIR/cifar10`` or the archive.

    ``limit`` keeps a seeded subset spread evenly over the classes.

    Raises:
        ValueError: ``split`` is not train or test.
        DataError: the local copy is missing, laid out wrongly or unreadable.
        DataUnavailableError: no local copy and the archive is neither cached nor downloadable.
    """
    check_split(split)
    local = local_dataset_dir(DATASET, data_dir)
    if local is not None:
        return load_cifar10_folder(local, split, limit, seed)
    archive = download_cifar10()
    return load_cifar10_archive(archive, split, limit, seed, source=f"{URL} (cached as {archive})")


def check_split(split: str) -> None:
    """Raise ``ValueError`` unless ``split`` is one of CIFAR-10's splits."""
    if split not in SPLITS:
        raise ValueError(f"unknown CIFAR-10 split {split!r}: choose {' or '.join(SPLITS)}")


def download_cifar10() -> Path:
    """Download (once) the official python-pickle archive into the course cache; return its path.

    Raises:
        DataUnavailableError: the archive is not cached and ``COURSE_OFFLINE`` is set or the
            download fails.
    """
    return fetch(SOURCE)


def load_cifar10_folder(folder: str | os.PathLike, split: str = "train", limit: int | None = None,
                        seed: int = 0) -> ImageSet:
    """Load ``split`` from a local copy: split folders, class folders, batches or the archive.

    Raises:
        ValueError: ``split`` is not train or test.
        DataError: the folder holds none of these layouts, or a file in it is unreadable.
    """
    check_split(split)
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"CIFAR-10 folder {str(folder)!r} does not exist or is not a folder")
    if any((folder / name).is_dir() for name in SPLITS):
        if not (folder / split).is_dir():
            raise DataError(f"{str(folder)!r} has no {split}/ folder (the exported layout is "
                            f"train/<class>/ and test/<class>/)")
        return _official_labels(load_image_folder(folder / split, IMAGE_SIZE, limit=limit,
                                                  seed=seed))
    for batches in (folder / BATCH_DIR, folder):
        if (batches / SPLITS[split][0]).is_file():
            return load_cifar10_batches(batches, split, limit, seed)
    if (folder / ARCHIVE).is_file():
        return load_cifar10_archive(folder / ARCHIVE, split, limit, seed,
                                    source=f"local archive {folder / ARCHIVE}")
    if any(p.is_dir() and p.name in CLASS_NAMES for p in folder.iterdir()):
        return _official_labels(load_image_folder(folder, IMAGE_SIZE, limit=limit, seed=seed))
    raise DataError(f"no CIFAR-10 in {str(folder)!r}: expected train/<class>/ and test/<class>/ "
                    f"image folders, class folders ({', '.join(CLASS_NAMES[:3])}, ...), the "
                    f"python batches ({BATCH_DIR}/) or {ARCHIVE}")


def _official_labels(images: ImageSet) -> ImageSet:
    """Relabel an image folder so that label i means CLASS_NAMES[i].

    Raises:
        DataError: a class folder is not a CIFAR-10 class.
    """
    unknown = sorted(set(images.class_names) - set(CLASS_NAMES))
    if unknown:
        raise DataError(f"class folder(s) {', '.join(unknown)} in {images.source} are not "
                        f"CIFAR-10 classes: choose from {', '.join(CLASS_NAMES)}")
    official = np.array([CLASS_NAMES.index(name) for name in images.class_names], dtype=np.int32)
    return ImageSet(images.images, official[images.labels], list(CLASS_NAMES), images.paths,
                    images.source, images.skipped)


def load_cifar10_batches(folder: Path, split: str, limit: int | None = None,
                         seed: int = 0) -> ImageSet:
    """Load ``split`` from extracted python batches (``data_batch_1`` ... ``test_batch``).

    Raises:
        DataError: a batch file is missing or is not a CIFAR-10 batch.
    """
    def open_batch(name: str) -> IO[bytes]:
        path = folder / name
        if not path.is_file():
            raise DataError(f"CIFAR-10 batch {str(path)!r} is missing")
        return path.open("rb")

    return _load_batches(open_batch, split, limit, seed, f"local batches {folder}",
                         f"{folder}/")


def load_cifar10_archive(archive: Path, split: str, limit: int | None = None, seed: int = 0,
                         source: str | None = None) -> ImageSet:
    """Load ``split`` straight from ``cifar-10-python.tar.gz`` without extracting it to disk.

    Raises:
        DataError: the archive is unreadable, lacks a batch of ``split``, or has a member with an
            absolute path, a ``..`` part or a link leading out of it.
    """
    try:
        with tarfile.open(archive, "r:gz") as tar:
            # Nothing is extracted (so no filter="data" is needed), but a link member would let
            # extractfile read another member than the one named; refuse such archives whole.
            for member in tar.getmembers():
                check_member(archive, member.name, member.linkname if member.issym()
                             or member.islnk() else None, hardlink=member.islnk())

            def open_batch(name: str) -> IO[bytes]:
                try:
                    member = tar.extractfile(f"{BATCH_DIR}/{name}")
                except KeyError:
                    member = None
                if member is None:
                    raise DataError(f"{str(archive)!r} has no {BATCH_DIR}/{name}: not the "
                                    f"CIFAR-10 python archive")
                return member

            return _load_batches(open_batch, split, limit, seed, source or f"archive {archive}",
                                 f"{archive}:{BATCH_DIR}/")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DataError(f"cannot read CIFAR-10 archive {str(archive)!r}: {error}") from error


def _load_batches(open_batch: Callable[[str], IO[bytes]], split: str, limit: int | None,
                  seed: int, source: str, where: str = "") -> ImageSet:
    images, labels, paths = [], [], []
    for name in SPLITS[split]:
        with open_batch(name) as handle:
            batch_images, batch_labels = read_batch(handle, where + name)
        images.append(batch_images)
        labels.append(batch_labels)
        paths += [f"{name}[{i}]" for i in range(len(batch_labels))]
    images, labels = np.concatenate(images), np.concatenate(labels)
    if limit is not None and limit < len(labels):
        keep = balanced_subset(labels, limit, seed)
        images, labels, paths = images[keep], labels[keep], [paths[i] for i in keep]
    return ImageSet(images, labels, list(CLASS_NAMES), paths, source)


def _latin1(text: str, encoding: str) -> bytes:
    """Rebuild bytes as Python 3 pickles them in protocols 0-2: ``_codecs.encode(text, 'latin1')``.

    Raises:
        pickle.UnpicklingError: another encoding is asked for.
    """
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"it encodes bytes as {encoding!r}, not latin1")
    return codecs.encode(text, "latin1")


# Every global a CIFAR-10 batch can name: numpy's array and dtype rebuilders (numpy 2 moved
# numpy.core to numpy._core; protocol 5 uses _frombuffer) and Python 3's protocol-2 bytes.
_BATCH_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"),
                  ("numpy.core.multiarray", "_reconstruct"),
                  ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}


class _BatchUnpickler(pickle.Unpickler):
    """Unpickle dicts, lists, bytes, str, numbers and numpy arrays, and no other class or function.

    A pickle can name any importable callable and call it while loading (``os.system``, ...);
    allowing only what a batch holds means a crafted batch fails before it runs anything.
    """

    def find_class(self, module: str, name: str) -> object:
        """Return an allowed global; refuse every other one.

        Raises:
            pickle.UnpicklingError: ``module.name`` is not something a CIFAR-10 batch holds.
        """
        if (module, name) == ("_codecs", "encode"):
            return _latin1
        if (module, name) in _BATCH_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it asks to load {module}.{name}, which no CIFAR-10 batch "
                                     f"holds and which could run code, so it was not loaded")


def read_batch(handle: IO[bytes], name: str = "<batch>") -> tuple[np.ndarray, np.ndarray]:
    """Decode one python-pickle batch into uint8 images (N, 32, 32, 3) and int32 labels.

    The batch is unpickled with only the types a batch holds (dicts, lists, bytes, numbers, numpy
    arrays), so a crafted file cannot run code.

    Raises:
        DataError: the file is not a CIFAR-10 batch or names anything else.
    """
    try:
        batch = _BatchUnpickler(handle, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int32)
    except (pickle.UnpicklingError, EOFError, KeyError, IndexError, AttributeError, TypeError,
            ValueError, MemoryError) as error:
        raise DataError(f"{name} is not a CIFAR-10 python batch: {error!r}; use the official "
                        f"archive from {URL}") from error
    size = IMAGE_SIZE * IMAGE_SIZE * 3
    if data.ndim != 2 or data.shape[1] != size or len(labels) != len(data):
        raise DataError(f"{name} holds data {data.shape} and {len(labels)} labels; a CIFAR-10 "
                        f"batch holds (N, {size}) uint8 rows and N labels")
    if labels.size and (labels.min() < 0 or labels.max() >= len(CLASS_NAMES)):
        raise DataError(f"{name} has labels outside 0..{len(CLASS_NAMES) - 1}")
    # Rows are channel-planar (1024 red, 1024 green, 1024 blue); images are channels-last.
    return data.reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE).transpose(0, 2, 3, 1).copy(), labels
