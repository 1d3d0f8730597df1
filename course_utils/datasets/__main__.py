"""Fill the course download cache, e.g. when building a Binder image or before going offline.

    python -m course_utils.datasets download                 # every dataset
    python -m course_utils.datasets download omniglot cifar10
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable


def _omniglot() -> list[Path]:
    from .omniglot import SETS, find_runs, find_set

    return [find_set(name, None) for name in SETS] + find_runs(None)


def _satellite() -> list[Path]:
    from .satellite import download_maps

    return download_maps()


def _plantvillage() -> list[Path]:
    from .plantvillage import download_plantvillage

    return [download_plantvillage()]


def _cifar10() -> list[Path]:
    from .cifar10 import download_cifar10

    return [download_cifar10()]


DOWNLOADS: dict[str, Callable[[], list[Path]]] = {
    "satellite": _satellite, "omniglot": _omniglot, "plantvillage": _plantvillage,
    "cifar10": _cifar10,
}


def main(argv: list[str] | None = None) -> int:
    """Download the named datasets (default: all) into the cache; exit 1 if any is unavailable."""
    from .core import DataUnavailableError, cache_dir

    parser = argparse.ArgumentParser(prog="python -m course_utils.datasets",
                                     description="Fill the course download cache.")
    parser.add_argument("command", choices=["download"])
    parser.add_argument("datasets", nargs="*", metavar="DATASET",
                        help=f"any of {', '.join(DOWNLOADS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.datasets) - set(DOWNLOADS))
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}: choose from {', '.join(DOWNLOADS)}")
    failed = 0
    for name in args.datasets or list(DOWNLOADS):
        try:
            paths = DOWNLOADS[name]()
            print(f"{name}: {len(paths)} file(s) cached under {cache_dir()}")
        except DataUnavailableError as error:
            print(f"{name}: unavailable: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
