"""Omniglot: Brenden Lake's handwritten characters, from the upstream zips or their extracted folders.

The upstream repository (``github.com/brendenlake/omniglot``, ``python/`` folder) ships four image
sets, each a zip whose top folder has the set's name, then ``Alphabet/characterNN/NNNN_DD.png``
(105x105, 1-bit, black ink on white; ``DD`` is the drawer, 1-20):

- ``images_background`` (30 alphabets, 964 characters) and ``images_evaluation`` (20 alphabets,
  659 characters);
- ``images_background_small1`` / ``_small2``: two 5-alphabet subsets of the background set for
  "small background" experiments. They share Greek and Latin, so loading both keeps one copy.

plus ``one-shot-classification/all_runs.zip``, the 20 runs of Lake's 20-way one-shot task (parsed
by :mod:`course_utils.oneshot`). A local folder may hold any of these zips or their extracted
folders; missing sets are downloaded into the course cache, checksummed, unless offline.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from .core import (DataError, DataUnavailableError, ImageSet, balanced_subset, check_member,
                   decode_image, local_dataset_dir, read_image, warn_skipped)
from .downloads import Source, fetch

DATASET = "omniglot"
BASE_URL = "https://github.com/brendenlake/omniglot/raw/master/python/"
RUNS_ARCHIVE = "all_runs.zip"
# SHA-256 of the image sets as recorded by TensorFlow Datasets (url_checksums/omniglot.txt); the
# small sets are byte-identical to shared/data's copies. all_runs.zip's was given by the course's
# maintainers. Sizes in MB are rounded, for "what you need".
SOURCES = {
    name: Source(DATASET, f"{name}.zip", BASE_URL + f"{name}.zip", sha256, size_mb)
    for name, (sha256, size_mb) in {
        "images_background": (
            "ad41ab679c8b5d90b271ef46be6987cc81211774a695c29dcc5367b2b26ee640", 9.5),
        "images_evaluation": (
            "1f61a8f3366785b057fc117d9228e78a16e3d976c8953b2a10fcc74cf0609cee", 6.5),
        "images_background_small1": (
            "f38eb80f801274ac2b4dff5b24289016bfaba4a7d5bb50deebf27104ad6cb8a4", 1.3),
        "images_background_small2": (
            "3ccaa407515a8778e5d0861875af38b17e418f301ad5bb3b5a6b65d901a41c7f", 1.6),
    }.items()
}
SETS = tuple(SOURCES)
RUNS = Source(DATASET, RUNS_ARCHIVE, BASE_URL + "one-shot-classification/" + RUNS_ARCHIVE,
              "437c1eeab0af8484112e1b4cc0f3d541ec727f7c47b9b202da738af9dfd6c325", 0.4)
IMAGE_SIZE = 105
_IMAGE_PATH = re.compile(r"(?:^|/)(?P<alphabet>[^/]+)/(?P<character>character\d+)/"
                         r"(?P<file>\d+_(?P<drawer>\d+)\.png)$")
_RUN_NAME = re.compile(r"run\d+")


def load_omniglot(sets: str | Sequence[str] = ("images_background",),
                  data_dir: str | os.PathLike | None = None, image_size: int = IMAGE_SIZE,
                  limit: int | None = None, seed: int = 0) -> ImageSet:
    """Load Omniglot image sets from ``data_dir``, ``$COURSE_DATA_DIR/omniglot`` or the download.

    Images are grayscale uint8 (ink dark, as upstream), labelled by character; class names read
    ``Alphabet/characterNN``. A character found in several sets (Greek and Latin are in both small
    sets) is kept once. ``limit`` keeps a seeded subset spread evenly over the characters.

    Raises:
        ValueError: an unknown set name.
        DataError: a local zip or folder is laid out wrongly or holds no readable image.
        DataUnavailableError: a set is neither local nor downloadable.
    """
    names = [sets] if isinstance(sets, str) else list(sets)
    unknown = [name for name in names if name not in SETS]
    if unknown or not names:
        raise ValueError(f"unknown Omniglot set(s) {', '.join(map(repr, unknown)) or '(none)'}: "
                         f"choose from {', '.join(SETS)}")
    local = local_dataset_dir(DATASET, data_dir)
    entries: dict[str, tuple[str, object]] = {}
    sources = []
    for name in names:
        location = find_set(name, local)
        sources.append(str(location))
        for key, item in set_members(location, name):
            entries.setdefault(key, item)
    keys = sorted(entries)
    class_names = sorted({key.rsplit("/", 1)[0] for key in keys})
    index = {name: i for i, name in enumerate(class_names)}
    labels = np.array([index[key.rsplit("/", 1)[0]] for key in keys], dtype=np.int32)
    if limit is not None and limit < len(keys):
        keep = balanced_subset(labels, limit, seed)
        keys, labels = [keys[i] for i in keep], labels[keep]
    images, kept, skipped = _read_members([entries[key] for key in keys], keys, image_size)
    present = sorted(set(labels[kept]))
    relabel = np.full(len(class_names), -1, dtype=np.int32)
    relabel[present] = np.arange(len(present), dtype=np.int32)
    return ImageSet(images, relabel[labels[kept]], [class_names[i] for i in present],
                    [keys[i] for i in kept], " + ".join(sources), skipped)


def find_set(name: str, local: Path | None) -> Path:
    """Return the local folder or zip of set ``name``, else download its zip into the cache.

    Raises:
        DataUnavailableError: the set is not local and cannot be downloaded.
    """
    if local is not None:
        for candidate in (local / name, local / f"{name}.zip", local / "python" / f"{name}.zip"):
            if candidate.exists():
                return candidate
    try:
        return fetch(SOURCES[name])
    except DataUnavailableError as error:
        where = f"{local} holds neither {name}.zip nor {name}/" if local else "no local copy"
        raise DataUnavailableError(f"Omniglot set {name} is unavailable ({where}): "
                                   f"{error}") from error


def set_members(location: Path, name: str) -> list[tuple[str, tuple[str, object]]]:
    """Return ``(Alphabet/characterNN/file, (kind, handle))`` for every image of a zip or folder.

    Raises:
        DataError: the zip is unreadable or has a member with an absolute path or a ``..`` part,
            or neither holds ``Alphabet/characterNN/NNNN_DD.png``.
    """
    members = []
    if location.is_dir():
        root = location
        for path in sorted(root.rglob("*.png")):
            match = _IMAGE_PATH.search(path.relative_to(root).as_posix())
            if match:
                members.append((_key(match), ("file", path)))
    else:
        try:
            with zipfile.ZipFile(location) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError) as error:
            raise DataError(f"cannot read Omniglot zip {str(location)!r}: {error}") from error
        for member in names:
            check_member(location, member)
            match = _IMAGE_PATH.search(member)
            if match and member.split("/")[0] == name:
                members.append((_key(match), ("zip", (location, member))))
    if not members:
        raise DataError(f"{str(location)!r} holds no Omniglot images: expected "
                        f"{name}/Alphabet/characterNN/NNNN_DD.png (the upstream {name}.zip layout)")
    return members


def _key(match: re.Match) -> str:
    return f"{match['alphabet']}/{match['character']}/{match['file']}"


def _read_members(items: Sequence[tuple[str, object]], keys: Sequence[str],
                  size: int) -> tuple[np.ndarray, list[int], list[str]]:
    """Decode images from files or zip members; skip (and warn about) unreadable ones."""
    arrays, kept, skipped = [], [], []
    archives: dict[Path, zipfile.ZipFile] = {}
    try:
        for i, (kind, handle) in enumerate(items):
            try:
                if kind == "file":
                    arrays.append(read_image(handle, size, "L"))
                else:
                    archive_path, member = handle
                    if archive_path not in archives:
                        archives[archive_path] = zipfile.ZipFile(archive_path)
                    data = archives[archive_path].read(member)
                    arrays.append(decode_image(data, size, "L", f"{archive_path}:{member}"))
                kept.append(i)
            except (DataError, zipfile.BadZipFile, KeyError, OSError):
                skipped.append(keys[i])
    finally:
        for archive in archives.values():
            archive.close()
    warn_skipped(skipped)
    if not arrays:
        raise DataError(f"none of the {len(items)} Omniglot image(s) could be read")
    return np.stack(arrays), kept, skipped


def alphabets(images: ImageSet) -> np.ndarray:
    """Return the alphabet name of every image of an Omniglot ``ImageSet``."""
    return np.array([images.class_names[label].split("/")[0] for label in images.labels])


def hold_out_alphabet(images: ImageSet, alphabet: str, limit: int | None = None,
                      seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """Split one alphabet's drawings off; return (the rest relabelled 0..n-1, the alphabet's).

    ``limit`` cuts the rest to that many images spread over its characters, as a profile's
    ``n_images`` cuts a whole set.

    Raises:
        ValueError: ``alphabet`` is not among the images (the message lists those that are).
    """
    of = alphabets(images)
    if alphabet not in set(of.tolist()):
        raise ValueError(f"alphabet {alphabet!r} is not in {images.source}: choose one of "
                         f"{', '.join(sorted(set(of.tolist())))}")
    rest = np.flatnonzero(of != alphabet)
    if limit is not None and limit < len(rest):
        rest = rest[balanced_subset(images.labels[rest], limit, seed)]
    present, labels = np.unique(images.labels[rest], return_inverse=True)
    kept = ImageSet(images.images[rest], labels.astype(images.labels.dtype),
                    [images.class_names[c] for c in present], [images.paths[i] for i in rest],
                    images.source, images.skipped, images.synthetic)
    return kept, images.subset(np.flatnonzero(of == alphabet))


def drawers(images: ImageSet) -> np.ndarray:
    """Return the drawer number (1-20, from ``NNNN_DD.png``) of every image.

    Raises:
        DataError: a path does not end in the upstream ``NNNN_DD.png`` file name.
    """
    numbers = []
    for path in images.paths:
        match = re.search(r"_(\d+)\.png$", path)
        if not match:
            raise DataError(f"{path!r} is not an Omniglot file name (NNNN_DD.png)")
        numbers.append(int(match.group(1)))
    return np.array(numbers, dtype=np.int32)


def find_runs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Return the local zips/folders holding one-shot runs, else the downloaded ``all_runs.zip``.

    Locally this finds ``all_runs.zip`` and other ``*run*.zip`` (such as ``one_shot_run01.zip``)
    and extracted ``runNN/`` folders, in the folder itself or in ``all_runs/`` or
    ``one-shot-classification/`` (also under ``python/``, as in a clone of the repository).

    Raises:
        DataUnavailableError: no runs are local and ``all_runs.zip`` cannot be downloaded.
    """
    local = local_dataset_dir(DATASET, data_dir)
    found: list[Path] = []
    if local is not None:
        for folder in (local, local / "all_runs", local / "one-shot-classification",
                       local / "python" / "one-shot-classification"):
            if folder.is_dir():
                found += _runs_in(folder)
    if found:
        return found
    try:
        return [fetch(RUNS)]
    except DataUnavailableError as error:
        where = f"no runs in {local}" if local else "no local copy"
        raise DataUnavailableError(f"Omniglot one-shot runs are unavailable ({where}; or pass "
                                   f"ONE_SHOT_RUNS): {error}") from error


def _runs_in(folder: Path) -> list[Path]:
    entries = sorted(folder.iterdir())
    return ([p for p in entries if p.is_file() and p.suffix == ".zip" and "run" in p.name.lower()]
            + [p for p in entries if p.is_dir() and _RUN_NAME.fullmatch(p.name)])
