"""Every file the course downloads, and the one way it downloads them: mirror first, then upstream.

A :class:`Source` names one upstream file: the dataset folder it belongs to, its upstream file name,
its URL and its SHA-256. :func:`fetch` puts it into the course cache (``$COURSE_CACHE_DIR``, else
``~/.cache/siamese-course``) once, checksummed and written atomically with a progress bar, trying
``$COURSE_MIRROR`` first when set: a base URL or a local folder laid out as
``<dataset>/<upstream file name>``. A mirror serves the upstream bytes, so the same checks apply.
``COURSE_OFFLINE=1`` forbids every download; ``COURSE_DOWNLOAD_TIMEOUT`` (seconds, default 30)
bounds every connection and every read, so a server that stalls ends in an error, never a hang.

A mirror that serves *repacked* files instead (a class's subset of PlantVillage, the test suite's
slices of every dataset) publishes their checksums in a JSON file named by ``COURSE_CHECKSUMS``,
``{"<dataset>/<file>": "<sha256>"}``; the course then checks those files against it instead.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .core import DataUnavailableError, cache_dir, is_offline

MIRROR_VAR = "COURSE_MIRROR"
CHECKSUMS_VAR = "COURSE_CHECKSUMS"
TIMEOUT_VAR = "COURSE_DOWNLOAD_TIMEOUT"
DEFAULT_TIMEOUT_S = 30.0
HUB_ENDPOINT = "https://huggingface.co"
FIX = ("put a local copy in DATA_DIR or $COURSE_DATA_DIR/{dataset}, or set COURSE_MIRROR to a "
       "mirror that holds {dataset}/{name}")


@dataclass(frozen=True)
class Source:
    """One upstream file: where it goes, where it comes from, and how to check it."""

    dataset: str
    name: str
    url: str
    sha256: str | None
    size_mb: float

    @property
    def upstream_url(self) -> str:
        """Return the URL to download from; ``hf://`` URLs go to ``$HF_ENDPOINT`` (the hub)."""
        if not self.url.startswith("hf://"):
            return self.url
        endpoint = os.environ.get("HF_ENDPOINT") or HUB_ENDPOINT
        return f"{endpoint.rstrip('/')}/{self.url.removeprefix('hf://')}"


def mirror() -> str | None:
    """Return ``$COURSE_MIRROR`` (a base URL or a local folder), or None when unset."""
    value = os.environ.get(MIRROR_VAR, "").strip()
    return value or None


def expected_sha256(source: Source) -> str | None:
    """Return the SHA-256 to check ``source`` against: ``$COURSE_CHECKSUMS``'s entry, else upstream's.

    Raises:
        ValueError: ``COURSE_CHECKSUMS`` names a file that is missing or not a JSON object.
    """
    path = os.environ.get(CHECKSUMS_VAR, "").strip()
    if not path:
        return source.sha256
    try:
        table = json.loads(Path(path).expanduser().read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{CHECKSUMS_VAR}={path!r} is not a readable JSON file: {error}") from error
    if not isinstance(table, dict):
        raise ValueError(f"{CHECKSUMS_VAR}={path!r} must hold an object like "
                         f'{{"cifar10/cifar-10-python.tar.gz": "<sha256>"}}')
    return table.get(f"{source.dataset}/{source.name}", source.sha256)


def download_timeout() -> float:
    """Return the seconds a download may wait for a connection or for the next bytes.

    Raises:
        ValueError: ``COURSE_DOWNLOAD_TIMEOUT`` is not a positive number.
    """
    text = os.environ.get(TIMEOUT_VAR, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(f"{TIMEOUT_VAR}={text!r} is not a positive number of seconds")
    return seconds


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached(source: Source) -> Path | None:
    """Return the cached, verified copy of ``source``, or None (a damaged copy is removed).

    A stamp beside the file records its size, time and SHA-256 once verified, so a large file is
    not hashed again on every load; a file that changed since is hashed again.
    """
    target = cache_dir() / source.dataset / source.name
    if not target.is_file():
        return None
    expected = expected_sha256(source)
    stamp, key = _stamp(target)
    if stamp.is_file():
        recorded_key, _, recorded_sha = stamp.read_text().strip().rpartition(" ")
        if recorded_key == key and expected in (None, recorded_sha):
            return target
    digest = file_sha256(target)
    if expected is not None and digest != expected:
        target.unlink(missing_ok=True)
        stamp.unlink(missing_ok=True)
        return None
    _write_atomically(stamp, f"{key} {digest}\n")
    return target


def _stamp(target: Path) -> tuple[Path, str]:
    """Return the stamp file of a cached file and the size-and-time key it records."""
    stat = target.stat()
    return target.with_name(f".{target.name}.sha256"), f"{stat.st_size} {stat.st_mtime_ns}"


def _write_atomically(path: Path, text: str) -> None:
    """Write a small text file so that a concurrent reader sees the old or the new one, whole."""
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.",
                                     delete=False) as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)


def fetch(source: Source) -> Path:
    """Return the cached copy of ``source``, downloading it from the mirror or upstream if needed.

    Processes sharing one cache (a class on one JupyterHub) take turns through a file lock: one
    downloads, the others wait and then find the verified file.

    Raises:
        DataUnavailableError: not cached, and offline, or too little disk space, or every location
            failed (each one is named with its error, and the message says how to fix it).
    """
    from filelock import FileLock

    found = cached(source)
    if found is not None:
        return found
    if is_offline():
        raise DataUnavailableError(f"{source.dataset}/{source.name} is not in the cache "
                                   f"{cache_dir() / source.dataset} and COURSE_OFFLINE=1 forbids "
                                   f"downloading it: {_fix(source)}")
    folder = cache_dir() / source.dataset
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / f".{source.name}.lock")):
        found = cached(source)  # another process may have fetched it while this one waited
        if found is not None:
            return found
        _check_space(source, folder)
        return _download_from_any(source)


def _download_from_any(source: Source) -> Path:
    """Try each location in turn; return the verified cached file."""
    failures = []
    for location in locations(source):
        try:
            _download(location, source)
        except OSError as error:  # requests' errors are OSErrors too
            if error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise _no_space(source, cache_dir() / source.dataset) from error
            failures.append(f"{location}: {_reason(error)}")
            continue
        except ValueError as error:  # pooch's checksum check
            failures.append(f"{location}: {_reason(error)}")
            continue
        target = cache_dir() / source.dataset / source.name
        expected = expected_sha256(source)
        if expected is not None:  # the download was just checked against it: no second hash
            stamp, key = _stamp(target)
            _write_atomically(stamp, f"{key} {expected}\n")
            return target
        found = cached(source)
        if found is not None:
            return found
        failures.append(f"{location}: the file changed after it was verified")
    raise DataUnavailableError(f"could not download {source.dataset}/{source.name}; tried "
                               + "; ".join(failures) + f". Fix: {_fix(source)}")


def _fix(source: Source) -> str:
    return FIX.format(dataset=source.dataset, name=source.name)


def _check_space(source: Source, folder: Path) -> None:
    """Refuse a download that cannot fit on the cache's disk, before it starts."""
    if shutil.disk_usage(folder).free < source.size_mb * 1e6:
        raise _no_space(source, folder)


def _no_space(source: Source, folder: Path) -> DataUnavailableError:
    free = shutil.disk_usage(folder).free / 1e6
    return DataUnavailableError(
        f"not enough disk space for {source.dataset}/{source.name}: it needs about "
        f"{source.size_mb:g} MB in {folder}, which has {free:.0f} MB free (or a size limit on "
        f"files); free some space there or set COURSE_CACHE_DIR to a disk with room")


def locations(source: Source) -> Iterator[str]:
    """Yield where to look for ``source``: the mirror's copy first (when set), then upstream."""
    base = mirror()
    if base is not None:
        if "://" in base:
            yield f"{base.rstrip('/')}/{source.dataset}/{source.name}"
        else:
            yield str(Path(base).expanduser() / source.dataset / source.name)
    yield source.upstream_url


def _download(location: str, source: Source) -> None:
    """Copy or download ``location`` into the cache, verified, atomically."""
    import pooch

    target = cache_dir() / source.dataset / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    expected = expected_sha256(source)
    known = f"sha256:{expected}" if expected else None
    if "://" not in location:
        _copy_verified(Path(location), target, expected)
        return
    downloader = pooch.HTTPDownloader(progressbar=True, timeout=download_timeout())
    pooch.retrieve(location, known_hash=known, fname=source.name, path=target.parent,
                   downloader=downloader)


def _copy_verified(path: Path, target: Path, sha256: str | None) -> None:
    """Copy a local mirror's file next to ``target``, check it, then move it into place."""
    if not path.is_file():
        raise FileNotFoundError(f"no such file {path}")
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.",
                                     delete=False) as tmp:
        partial = Path(tmp.name)
    try:
        shutil.copyfile(path, partial)
        if sha256 is not None and file_sha256(partial) != sha256:
            raise ValueError(f"its SHA-256 does not match the expected {sha256}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _reason(error: BaseException) -> str:
    """Return one readable line for a download error (requests nests the useful part)."""
    text = " ".join(str(error).split())
    if "does not match" in text.lower():
        return f"checksum mismatch, the file is not the expected one ({text})"
    return text or type(error).__name__
