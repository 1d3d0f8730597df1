"""PlantVillage leaves: a local copy in the upstream layout, or the public archive TFDS uses.

The upstream dataset (github.com/spMohanty/PlantVillage-Dataset, ``raw/``) has three variants,
``color/``, ``grayscale/`` and ``segmented/`` (leaf cut out on black), each with 38 class folders
named ``Crop___Disease`` (``Apple___Apple_scab``, ``Tomato___healthy``, ...). A local folder may be
the dataset root holding the variant folders (or ``raw/`` with them), or one variant folder itself;
any subset of the classes works.

The download is the archive TensorFlow Datasets' ``plant_village`` uses (Mendeley Data,
``tywbtsjrjv``, CC0): the 54,303 colour images, without augmentation, in
``Plant_leave_diseases_dataset_without_augmentation/<class>/``. It holds no segmented images;
the grayscale variant is the colour one converted to one channel, as upstream made it. Only the
class folders a run asks for are extracted from it.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Iterable

from filelock import FileLock

from .core import (DataError, DataUnavailableError, ImageSet, cache_dir, check_member,
                   load_image_folder, local_dataset_dir)
from .downloads import Source, fetch

DATASET = "plantvillage"
VARIANTS = ("color", "grayscale", "segmented")
MODES = ("RGB", "L")
ARCHIVE_URL = ("https://data.mendeley.com/public-files/datasets/tywbtsjrjv/files/"
               "d5652a28-c1d8-4b76-97f3-72fb80f94efc/file_downloaded")
ARCHIVE_SHA256 = "ac3432453984d02a86197987e775a5429d0d59e7cc7c35bcf5a8f50349b90ff0"
ARCHIVE_NAME = "Plant_leaf_diseases_dataset_without_augmentation.zip"
ARCHIVE_ROOT = "Plant_leave_diseases_dataset_without_augmentation"
CLASS_SEPARATOR = "___"
# 827.8 MiB as TensorFlow Datasets records it.
SOURCE = Source(DATASET, ARCHIVE_NAME, ARCHIVE_URL, ARCHIVE_SHA256, 868.0)


def load_plantvillage(data_dir: str | os.PathLike | None = None, variant: str | None = None,
                      image_size: int | None = 112, classes: Iterable[str] | None = None,
                      limit: int | None = None, seed: int = 0, mode: str = "RGB") -> ImageSet:
    """Load PlantVillage leaves from ``data_dir``, ``$COURSE_DATA_DIR/plantvillage`` or the archive.

    ``variant`` None picks one with :func:`choose_variant`; ``classes`` picks class folders by name
    (default: every ``Crop___Disease`` folder); ``limit`` keeps a seeded subset spread evenly over
    the classes; ``mode`` "L" reads one channel (always so for the grayscale variant).
    Unreadable images are skipped, named and counted (``ImageSet.skipped`` and one warning).

    Raises:
        ValueError: unknown variant or mode.
        DataError: the local folder lacks the variant, has no class folders, lacks a class asked
            for, or has no readable image.
        DataUnavailableError: no local copy and no download possible (offline, no network, or
            the segmented variant, which the public archive does not hold).
    """
    variant = choose_variant(data_dir, variant)
    if mode not in MODES:
        raise ValueError(f"unknown image mode {mode!r}: choose {' or '.join(MODES)}")
    if variant == "grayscale":
        mode = "L"
    local = local_dataset_dir(DATASET, data_dir)
    wanted = None if classes is None else list(classes)
    if local is not None:
        folder = variant_folder(local, variant)
        source = f"local folder {folder} ({variant})"
    else:
        if variant == "segmented":
            raise DataUnavailableError(
                "no local PlantVillage copy (set DATA_DIR or COURSE_DATA_DIR) and the public "
                "archive holds no segmented images: use VARIANT='color' or 'grayscale', or a "
                "local copy of the upstream segmented/ folder")
        folder = download_plantvillage(wanted)
        source = f"PlantVillage archive {ARCHIVE_NAME} ({variant} from the colour images)"
    names = class_folders(folder) if wanted is None else wanted
    images = load_image_folder(folder, image_size, mode, limit=limit, seed=seed, classes=names)
    images.source = source
    return images


def choose_variant(data_dir: str | os.PathLike | None, variant: str | None) -> str:
    """Return ``variant``, or for None the one the data holds: colour first, as the download has.

    Raises:
        ValueError: ``variant`` is not one of color, grayscale, segmented or None.
    """
    if variant is not None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown PlantVillage variant {variant!r}: choose "
                             f"{', '.join(VARIANTS)} or None (the one the data holds)")
        return variant
    local = local_dataset_dir(DATASET, data_dir)
    if local is None:
        return "color"
    for name in ("color", "segmented", "grayscale"):
        if (local / name).is_dir() or (local / "raw" / name).is_dir():
            return name
    return local.name if local.name in VARIANTS else "color"


def class_folders(folder: Path) -> list[str]:
    """Return the ``Crop___Disease`` class folder names in ``folder``, sorted.

    Raises:
        DataError: there is none.
    """
    names = sorted(d.name for d in folder.iterdir() if d.is_dir() and CLASS_SEPARATOR in d.name)
    if not names:
        raise DataError(f"no PlantVillage class folders (named like Apple___Apple_scab) in "
                        f"{str(folder)!r}")
    return names


def variant_folder(root: Path, variant: str) -> Path:
    """Return the folder of ``variant`` under a local copy: ``root/variant``, ``root/raw/variant``,
    the extracted archive (colour) or ``root`` itself when it holds the class folders.

    Raises:
        DataError: no such variant there, or ``root`` is the folder of another variant.
    """
    for candidate in (root / variant, root / "raw" / variant):
        if candidate.is_dir():
            return candidate
    if variant == "color" and (root / ARCHIVE_ROOT).is_dir():
        return root / ARCHIVE_ROOT
    if any(d.is_dir() and CLASS_SEPARATOR in d.name for d in root.iterdir()):
        if root.name in VARIANTS and root.name != variant:
            raise DataError(f"{str(root)!r} is the {root.name!r} variant but variant {variant!r} "
                            f"was asked for: point DATA_DIR at the dataset root or set "
                            f"VARIANT={root.name!r}")
        return root
    found = [v for v in VARIANTS if (root / v).is_dir() or (root / "raw" / v).is_dir()]
    raise DataError(f"no {variant!r} PlantVillage images in {str(root)!r}: expected {variant}/ "
                    f"with Crop___Disease class folders (as upstream: color/, grayscale/, "
                    f"segmented/), or the class folders themselves; variants found: "
                    f"{', '.join(found) or 'none'}")


def download_plantvillage(classes: Iterable[str] | None = None) -> Path:
    """Download (once, checksummed) the archive, extract ``classes`` (None: all) and return the
    folder that holds the class folders.

    Raises:
        DataUnavailableError: the archive is not cached and cannot be downloaded.
        DataError: the archive is not PlantVillage's, or lacks a class asked for.
    """
    try:
        archive = fetch(SOURCE)
    except DataUnavailableError as error:
        raise DataUnavailableError(f"no local PlantVillage copy (set DATA_DIR or COURSE_DATA_DIR) "
                                   f"and {error}") from error
    target = cache_dir() / DATASET / "extracted"
    available = archive_classes(archive)
    wanted = available if classes is None else list(classes)
    missing = sorted(set(wanted) - set(available))
    if missing:
        raise DataError(f"class(es) {', '.join(missing)} are not in {ARCHIVE_NAME}: choose from "
                        f"{', '.join(available)}")
    target.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target / ".extract.lock")):  # students sharing a cache extract in turn
        todo = [name for name in wanted if not _done_marker(target, name).exists()]
        if todo:
            extract_archive(archive, target, [f"{ARCHIVE_ROOT}/{name}/" for name in todo])
            for name in todo:
                _done_marker(target, name).touch()
    return target / ARCHIVE_ROOT


def archive_classes(archive: Path) -> list[str]:
    """Return the ``Crop___Disease`` class folders inside the archive, sorted.

    Raises:
        DataError: the file is not a zip or holds no ``Plant_leave_diseases...`` class folders.
    """
    try:
        with zipfile.ZipFile(archive) as bundle:
            names = bundle.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"{str(archive)!r} is not a zip archive: {error}") from error
    classes = sorted({parts[1] for parts in (n.split("/") for n in names)
                      if len(parts) > 2 and parts[0] == ARCHIVE_ROOT and CLASS_SEPARATOR in parts[1]})
    if not classes:
        raise DataError(f"{str(archive)!r} holds no {ARCHIVE_ROOT}/<Crop___Disease>/ folders: not "
                        f"the PlantVillage archive")
    return classes


def _done_marker(target: Path, name: str) -> Path:
    return target / f".{ARCHIVE_SHA256[:16]}.{name}.complete"


def extract_archive(archive: Path, target: Path, prefixes: Iterable[str] = ("",)) -> None:
    """Extract the members of ``archive`` under ``prefixes`` into ``target``, refusing the
    archive whole if any member would land outside it.

    Raises:
        DataError: the file is not a zip archive, or a member has an absolute path or a ``..``
            part (checked before anything is extracted).
    """
    from tqdm.auto import tqdm

    try:
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.infolist():
                check_member(archive, member.filename)
            members = [m for m in bundle.infolist() if m.filename.startswith(tuple(prefixes))]
            target.mkdir(parents=True, exist_ok=True)
            for member in tqdm(members, desc=f"extracting {archive.name}", leave=False,
                               disable=len(members) < 500):
                bundle.extract(member, target)
    except zipfile.BadZipFile as error:
        raise DataError(f"{str(archive)!r} is not a zip archive: {error}") from error
