"""What every dataset loader shares: where data lives, downloads, reading image folders, errors.

Resolution order for a dataset's local copy: the notebook's ``DATA_DIR`` (one dataset's folder),
then ``$COURSE_DATA_DIR/<dataset>`` (a root laid out like ``shared/data``). Downloads
(:mod:`.downloads`) go to one course cache directory (``$COURSE_CACHE_DIR``, else
``~/.cache/siamese-course``) and never happen when ``COURSE_OFFLINE=1``.
"""

from __future__ import annotations

import os
import posixpath
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
# Larger images are refused from their header, before any pixel is decoded: a small crafted file
# can claim billions of pixels and fill the memory of a shared kernel (a decompression bomb).
MAX_IMAGE_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
_BOMB_IS_ERROR = ("error", None, Image.DecompressionBombWarning, None, 0)


class DataError(ValueError):
    """A dataset folder or file is missing, empty, corrupt or laid out wrongly."""


class DataUnavailableError(DataError):
    """No local copy was found and the data cannot be downloaded (offline or no network)."""

    def _render_traceback_(self) -> list[str]:
        """Show a notebook reader the message and its fix, not a stack of library frames."""
        return [f"{type(self).__name__}: {self}"]


@dataclass
class ImageSet:
    """Images as one uint8 array with integer labels, plus where they came from."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    paths: list[str]
    source: str
    skipped: list[str] = field(default_factory=list)
    synthetic: bool = False

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index: np.ndarray | Sequence[int]) -> "ImageSet":
        """Return the images at ``index`` (same class names and source)."""
        index = np.asarray(index, dtype=int)
        return ImageSet(self.images[index], self.labels[index], self.class_names,
                        [self.paths[i] for i in index], self.source, self.skipped, self.synthetic)


def is_offline() -> bool:
    """Return True when ``COURSE_OFFLINE`` asks for no network access at all."""
    return os.environ.get("COURSE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def cache_dir() -> Path:
    """Return the course download cache (``$COURSE_CACHE_DIR`` or ``~/.cache/siamese-course``)."""
    root = os.environ.get("COURSE_CACHE_DIR") or Path.home() / ".cache" / "siamese-course"
    return Path(root).expanduser()


def local_dataset_dir(dataset: str, data_dir: str | os.PathLike | None = None) -> Path | None:
    """Return the local folder for ``dataset``: ``data_dir`` wins, then ``$COURSE_DATA_DIR/dataset``.

    Raises:
        DataError: ``data_dir`` was given but is not an existing directory.
    """
    if data_dir is not None and str(data_dir) != "":
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise DataError(f"DATA_DIR {str(path)!r} for {dataset} does not exist or is not a folder")
        return path
    root = os.environ.get("COURSE_DATA_DIR")
    return dataset_in_root(root, dataset) if root else None


def dataset_in_root(root: str | os.PathLike, dataset: str) -> Path | None:
    """Return ``<root>/<dataset>`` if that folder exists: where a data root keeps each dataset."""
    path = Path(root).expanduser() / dataset
    return path if path.is_dir() else None


def check_member(archive: str | os.PathLike, name: str, link: str | None = None,
                 hardlink: bool = False) -> None:
    """Refuse an archive member whose path or link target leads out of the archive's folder.

    ``link`` is a link member's target, relative to the member's folder for a symbolic link and
    to the archive's top for a hard link (``hardlink=True``), as tar stores them. Backslashes
    count as separators, as they do when the archive is unpacked on Windows.

    Raises:
        DataError: ``name`` is absolute or has a ``..`` part, or ``link`` leads outside.
    """
    def absolute(path: str) -> bool:
        return path.startswith("/") or re.match(r"[A-Za-z]:", path) is not None

    path = name.replace("\\", "/")
    target = None if link is None else link.replace("\\", "/")
    if target is not None and not hardlink:
        target = posixpath.join(posixpath.dirname(path), target)
    if absolute(path):
        problem = "an absolute path"
    elif ".." in path.split("/"):
        problem = "a '..' part in its path"
    elif target is not None and (absolute(target)
                                 or posixpath.normpath(target).split("/")[0] == ".."):
        problem = f"a link to {link!r} that leads out of the archive"
    else:
        return
    raise DataError(f"archive {str(archive)!r}: member {name!r} has {problem}, so reading or "
                    f"unpacking it could touch files outside the archive's folder; the archive "
                    f"is refused. Use the official archive, or re-create it with relative paths "
                    f"inside one folder (no '..', no absolute paths, no links leading out)")


def read_image(path: str | os.PathLike, size: int | None = None, mode: str = "RGB") -> np.ndarray:
    """Read one image as uint8 (``mode`` RGB or L), resized with area averaging to ``size``.

    Raises:
        DataError: the file is missing, truncated, not an image or has more than
            ``MAX_IMAGE_PIXELS`` pixels.
    """
    _make_bomb_warnings_errors()
    try:
        with Image.open(path) as image:
            _check_pixels(image)
            image = image.convert(mode)
            if size is not None and image.size != (size, size):
                image = image.resize((size, size), Image.Resampling.BOX if size < min(image.size)
                                     else Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as error:
        raise DataError(f"cannot read image {str(path)!r}: {_reason(error)}") from error


def _make_bomb_warnings_errors() -> None:
    """Make PIL's DecompressionBombWarning an error, adding the filter again if it was reset.

    PIL only warns between its limit and twice it; such an image is refused all the same. The
    filter is added once, not per image: every change of the filters resets Python's record of
    warnings already shown, so PIL's other warnings (corrupt EXIF data, ...) would repeat for
    every image of a folder.
    """
    if _BOMB_IS_ERROR not in warnings.filters:
        warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def _check_pixels(image: Image.Image) -> None:
    """Refuse an opened (not yet decoded) image above ``MAX_IMAGE_PIXELS``.

    This holds where PIL's own check does not: after ``Image.MAX_IMAGE_PIXELS`` was raised or set
    to None, or where the warning filters were reset (``simplefilter("always")``, pytest.warns).

    Raises:
        Image.DecompressionBombError: its header claims more pixels than the course reads.
    """
    if image.width * image.height > MAX_IMAGE_PIXELS:
        raise Image.DecompressionBombError(f"Image size ({image.width}x{image.height} = "
                                           f"{image.width * image.height} pixels) exceeds limit of "
                                           f"{MAX_IMAGE_PIXELS} pixels")


def _reason(error: BaseException | None) -> str:
    """Return why an image could not be read, with the fix for one that is too large."""
    if isinstance(error, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return (f"{error} It was not decoded: the course reads images of at most "
                f"{MAX_IMAGE_PIXELS:,} pixels (course_utils.datasets.core.MAX_IMAGE_PIXELS); "
                f"shrink or tile it")
    return str(error)


def decode_image(data: bytes, size: int | None = None, mode: str = "RGB",
                 name: str = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes (PNG/JPEG/...) like :func:`read_image`.

    Raises:
        DataError: the bytes are not a readable image or have more than ``MAX_IMAGE_PIXELS``
            pixels.
    """
    import io

    if not data:
        raise DataError(f"cannot read image {name!r}: it is empty")
    try:
        return read_image(io.BytesIO(data), size, mode)
    except DataError as error:
        raise DataError(f"cannot read image {name!r}: {_reason(error.__cause__)}") from error


def list_images(folder: Path) -> list[Path]:
    """Return the image files directly inside ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_images(paths: Sequence[Path], size: int | None, mode: str = "RGB",
                desc: str = "reading images") -> tuple[np.ndarray, list[int], list[str]]:
    """Read many images; return the array, the indices that were read and the skipped paths.

    Unreadable files are skipped and reported once in a single warning that names and counts them.

    Raises:
        DataError: none of the images could be read.
    """
    from tqdm import tqdm

    arrays, kept, skipped = [], [], []
    shape = None
    for i, path in enumerate(tqdm(paths, desc=desc, leave=False, disable=len(paths) < 500)):
        try:
            array = read_image(path, size, mode)
        except DataError:
            skipped.append(str(path))
            continue
        if shape is None:
            shape = array.shape
        if array.shape != shape:
            raise DataError(f"image {str(path)!r} is {array.shape[1]}x{array.shape[0]} but the "
                            f"first one was {shape[1]}x{shape[0]}: pass an image size to resize them")
        arrays.append(array)
        kept.append(i)
    warn_skipped(skipped)
    if not arrays:
        raise DataError(f"none of the {len(paths)} image(s) could be read, e.g. {paths[0]!s}"
                        if paths else "no images to read")
    return np.stack(arrays), kept, skipped


def warn_skipped(skipped: Sequence[str]) -> None:
    """Warn once about unreadable files, naming (up to ten of) them and counting them all."""
    if skipped:
        names = ", ".join(skipped[:10]) + (", ..." if len(skipped) > 10 else "")
        warnings.warn(f"skipped {len(skipped)} unreadable image file(s): {names}", stacklevel=3)


def load_image_folder(root: str | os.PathLike, size: int | None, mode: str = "RGB",
                      limit: int | None = None, seed: int = 0,
                      classes: Iterable[str] | None = None) -> ImageSet:
    """Read a folder of images, flat or with one level of class folders.

    With class folders, each image is labelled by its folder (sorted by name); a flat folder gives
    every image label 0 and class name ``root``'s name. ``limit`` keeps a seeded random subset,
    spread evenly over the classes.

    Raises:
        DataError: missing folder, no images, mixed layout, unknown class or no readable image.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"image folder {str(root)!r} does not exist or is not a folder")
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    flat = list_images(root)
    if subdirs and flat:
        raise DataError(f"{str(root)!r} mixes {len(flat)} image file(s) with {len(subdirs)} "
                        f"folder(s): use either a flat folder of images or one folder per class")
    if subdirs:
        wanted = list(classes) if classes is not None else [d.name for d in subdirs]
        missing = sorted(set(wanted) - {d.name for d in subdirs})
        if missing:
            raise DataError(f"class folder(s) {', '.join(missing)} not found in {str(root)!r}")
        per_class = {name: list_images(root / name) for name in wanted}
        per_class = {name: files for name, files in per_class.items() if files}
        class_names = sorted(per_class)
        paths = [p for name in class_names for p in per_class[name]]
        labels = np.array([i for i, name in enumerate(class_names) for _ in per_class[name]])
    else:
        class_names, paths = [root.name], flat
        labels = np.zeros(len(paths), dtype=int)
    if not paths:
        raise DataError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) found in {str(root)!r} "
                        f"or in its class folders")
    if limit is not None and limit < len(paths):
        order = balanced_subset(labels, limit, seed)
        paths, labels = [paths[i] for i in order], labels[order]
    images, kept, skipped = read_images(paths, size, mode, desc=f"reading {root.name}")
    return ImageSet(images, labels[kept].astype(np.int32), class_names,
                    [str(paths[i]) for i in kept], f"local folder {root}", skipped)


def balanced_subset(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Return ``limit`` sorted indices drawn round-robin over the classes, seeded."""
    rng = np.random.default_rng(seed)
    pools = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    depth = max(len(p) for p in pools)
    interleaved = [p[i] for i in range(depth) for p in pools if i < len(p)]
    return np.sort(np.array(interleaved[:limit], dtype=int))


def announce_synthetic(what: str, reason: str) -> str:
    """Return a loud, multi-line banner saying that a synthetic stand-in replaces real data."""
    line = "!" * 78
    return (f"{line}\n!! SYNTHETIC STAND-IN: {what}\n!! Reason: {reason}\n"
            f"!! Numbers from this run say nothing about the real dataset.\n{line}")
