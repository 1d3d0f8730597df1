"""Check a student's set-up before the lessons: versions, Keras' backend, GPUs, data, disk space.

Nothing here downloads or reads a dataset: a dataset counts as *local* when its folder exists
where the loaders look (a data root's ``<dataset>/`` folder, else ``$COURSE_DATA_DIR/<dataset>``,
as :func:`course_utils.datasets.local_dataset_dir` resolves it), as *cached* when every file the
profile needs is in the download cache (checked for presence only: the loaders verify checksums),
and otherwise as a *download* of the sizes :mod:`course_utils.datasets.sources` records, or as
*offline* when ``COURSE_OFFLINE=1`` forbids that download.
"""

from __future__ import annotations

import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

STATES = ("local", "cached", "download", "offline")


@dataclass(frozen=True)
class DatasetStatus:
    """Where one dataset will come from under a profile, and what it would download."""

    dataset: str
    notebooks: tuple[str, ...]
    state: str  # one of STATES
    where: str  # the local folder, the cache folder, or where a download comes from
    download_mb: float  # still to download under the profile (0 when local or cached)


@dataclass(frozen=True)
class SetupReport:
    """Everything the set-up check found, as data."""

    profile: str
    versions: dict[str, str]
    backend: str
    gpus: tuple[str, ...]
    offline: bool
    cache: Path
    free_mb: float
    datasets: tuple[DatasetStatus, ...]

    @property
    def download_mb(self) -> float:
        """Return the MB the profile's lessons still download, all datasets together."""
        return sum(d.download_mb for d in self.datasets if d.state == "download")


def versions() -> dict[str, str]:
    """Return the versions of Python, TensorFlow, Keras and numpy."""
    import keras
    import numpy
    import tensorflow as tf

    return {"Python": platform.python_version(), "TensorFlow": tf.__version__,
            "Keras": keras.__version__, "numpy": numpy.__version__}


def data_root(data_dir: str | os.PathLike | None = None) -> Path | None:
    """Return the data root datasets are looked for in: ``data_dir``, else ``$COURSE_DATA_DIR``.

    Raises:
        ValueError: ``data_dir`` is given but is not an existing folder.
    """
    if data_dir is not None and str(data_dir) != "":
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise ValueError(f"DATA_DIR {str(root)!r} does not exist or is not a folder: give a "
                             f"data root with one folder per dataset, or None for $COURSE_DATA_DIR")
        return root
    env = os.environ.get("COURSE_DATA_DIR")
    return Path(env).expanduser() if env else None


def dataset_status(dataset: str, profile: str,
                   data_dir: str | os.PathLike | None = None) -> DatasetStatus:
    """Return where ``dataset`` comes from under a concrete ``profile``; never downloads.

    Raises:
        ValueError: unknown dataset or profile, or ``data_dir`` is not a folder.
    """
    from .datasets import cache_dir, is_offline
    from .datasets.core import dataset_in_root
    from .datasets.downloads import mirror
    from .datasets.sources import NOTEBOOK_DATASETS, sources_for

    sources = sources_for(dataset, profile)
    notebooks = tuple(stem for stem, name in NOTEBOOK_DATASETS.items() if name == dataset)
    root = data_root(data_dir)
    local = dataset_in_root(root, dataset) if root is not None else None
    if local is not None:
        return DatasetStatus(dataset, notebooks, "local", str(local), 0.0)
    folder = cache_dir() / dataset
    missing = [s for s in sources if not (folder / s.name).is_file()]
    if not missing:
        return DatasetStatus(dataset, notebooks, "cached", str(folder), 0.0)
    size = sum(s.size_mb for s in missing)
    if is_offline():
        return DatasetStatus(dataset, notebooks, "offline", "COURSE_OFFLINE=1: no download", size)
    origin = f"mirror {mirror()}, else upstream" if mirror() else "upstream"
    return DatasetStatus(dataset, notebooks, "download", f"{origin}, into {folder}", size)


def dataset_statuses(profile: str,
                     data_dir: str | os.PathLike | None = None) -> list[DatasetStatus]:
    """Return the status of every course dataset under a concrete ``profile``.

    Raises:
        ValueError: unknown profile, or ``data_dir`` is not a folder.
    """
    from .datasets.sources import DATASETS

    return [dataset_status(name, profile, data_dir) for name in DATASETS]


def free_mb(path: str | os.PathLike) -> float:
    """Return the free space in MB on the disk holding ``path`` (or its nearest existing parent)."""
    folder = Path(path).expanduser().absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free / 1e6


def check_setup(profile: str, data_dir: str | os.PathLike | None = None) -> SetupReport:
    """Run every check for a concrete ``profile``; fast, and never downloads.

    Raises:
        ValueError: unknown profile, or ``data_dir`` is not a folder.
    """
    from .datasets import cache_dir, is_offline
    from .profiles import backend_version, gpu_names

    statuses = tuple(dataset_statuses(profile, data_dir))
    return SetupReport(profile, versions(), backend_version(), tuple(gpu_names()), is_offline(),
                       cache_dir(), free_mb(cache_dir()), statuses)


def problems(report: SetupReport) -> list[str]:
    """Return what stands in the way of the lessons, one fix-naming sentence each (empty: none)."""
    from .profiles import GPU_PROFILES, format_megabytes

    found = []
    if int(report.versions["Keras"].split(".")[0]) < 3:
        found.append("this course needs Keras 3: run `pip install -U keras` and restart")
    if report.profile in GPU_PROFILES and not report.gpus:
        found.append(f"profile {report.profile} without a GPU takes far longer than its budgets: "
                     f"use cpu")
    for status in report.datasets:
        if status.state == "offline":
            lessons = ", ".join(stem[:2] for stem in status.notebooks)
            found.append(f"{status.dataset} is neither local nor cached and COURSE_OFFLINE=1 "
                         f"forbids its download: notebook(s) {lessons} will lack it; put a copy in "
                         f"$COURSE_DATA_DIR/{status.dataset} or go online")
    if report.download_mb > report.free_mb:
        found.append(f"the downloads need {format_megabytes(report.download_mb)} but "
                     f"{report.cache} has {format_megabytes(report.free_mb)} free: free space "
                     f"or set COURSE_CACHE_DIR to a larger disk")
    return found


def setup_table(report: SetupReport):
    """Return the report as a two-column pandas table (check, result) to show a student."""
    import pandas as pd

    from .profiles import format_megabytes, resolve_profile_name

    rows = [(name, version) for name, version in report.versions.items()]
    rows.append(("Keras backend", report.backend))
    auto = resolve_profile_name("auto", gpus=len(report.gpus))
    rows.append(("GPUs seen", f"{len(report.gpus)}{': ' if report.gpus else ''}"
                              f"{', '.join(report.gpus)} (profile auto runs {auto})"))
    rows.append(("COURSE_OFFLINE", "1: nothing will be downloaded" if report.offline else
                 "not set: a missing dataset downloads on first use"))
    for d in report.datasets:
        lessons = ("notebook " if len(d.notebooks) == 1 else "notebooks ") + ", ".join(
            stem[:2] for stem in d.notebooks)
        result = {"local": f"local: {d.where}", "cached": f"in the download cache: {d.where}",
                  "download": f"will download {format_megabytes(d.download_mb)} from {d.where}",
                  "offline": f"missing ({format_megabytes(d.download_mb)} to download, but "
                             f"COURSE_OFFLINE=1)"}[d.state]
        rows.append((f"{d.dataset} ({lessons})", result))
    rows.append((f"downloads at {report.profile}", format_megabytes(report.download_mb)
                 if report.download_mb else "none"))
    rows.append(("free disk", f"{format_megabytes(report.free_mb)} where the cache lives "
                              f"({report.cache})"))
    return pd.DataFrame(rows, columns=["check", "result"]).set_index("check")
