"""Which upstream files each notebook and profile needs, and how big the download is."""

from __future__ import annotations

from .cifar10 import SOURCE as CIFAR10_SOURCE
from .downloads import Source
from .omniglot import RUNS, SOURCES as OMNIGLOT_SOURCES
from .plantvillage import SOURCE as PLANTVILLAGE_SOURCE
from .satellite import SHARDS

# Each notebook's dataset; None: it downloads nothing (the overview only looks for the data).
NOTEBOOK_DATASETS: dict[str, str | None] = {
    "00_overview": None,
    "01_satellite_pairs": "satellite",
    "02_contrastive_siamese": "satellite",
    "03_vgg16_omniglot": "omniglot",
    "04_plant_disease": "plantvillage",
    "05_autoencoder_retrieval": "cifar10",
}
DATASETS = ("satellite", "omniglot", "plantvillage", "cifar10")


def notebook_sources(notebook: str, profile: str) -> list[Source]:
    """Return the files a notebook downloads under a profile when no local copy exists.

    Raises:
        ValueError: unknown notebook or profile.
    """
    from ..profiles import SETTINGS, resolve_profile_name

    if notebook not in NOTEBOOK_DATASETS:
        raise ValueError(f"unknown notebook {notebook!r}: choose from {', '.join(NOTEBOOK_DATASETS)}")
    settings = SETTINGS[notebook][resolve_profile_name(profile, gpus=0)]
    dataset = NOTEBOOK_DATASETS[notebook]
    if dataset is None:
        return []
    if dataset == "satellite":
        return list(SHARDS[:settings["shards"]])
    if dataset == "omniglot":
        return [OMNIGLOT_SOURCES[name] for name in settings["background"]] + [RUNS]
    return [PLANTVILLAGE_SOURCE if dataset == "plantvillage" else CIFAR10_SOURCE]


def sources_for(dataset: str, profile: str) -> list[Source]:
    """Return every file that any notebook using ``dataset`` downloads under ``profile``.

    Raises:
        ValueError: unknown dataset or profile.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: choose from {', '.join(DATASETS)}")
    found: dict[str, Source] = {}
    for notebook, name in NOTEBOOK_DATASETS.items():
        if name == dataset:
            found.update((s.name, s) for s in notebook_sources(notebook, profile))
    return list(found.values())


def download_mb(notebook: str, profile: str) -> float:
    """Return the size in MB of what ``notebook`` downloads under ``profile``."""
    return sum(source.size_mb for source in notebook_sources(notebook, profile))
