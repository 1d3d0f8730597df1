"""Fill the course download cache, e.g. when building a Binder image or before going offline.

    python -m course_utils.datasets download                       # what `full` needs: everything
    python -m course_utils.datasets download omniglot cifar10 --profile cpu
    python -m course_utils.datasets download --mirror https://mirror.example.org/course-data
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Download what a profile needs of the named datasets (default: all); exit 1 if any fails."""
    from ..profiles import CONCRETE_PROFILES
    from .core import DataError, cache_dir
    from .downloads import MIRROR_VAR, fetch
    from .sources import DATASETS, sources_for

    parser = argparse.ArgumentParser(prog="python -m course_utils.datasets",
                                     description="Fill the course download cache.")
    parser.add_argument("command", choices=["download"])
    parser.add_argument("datasets", nargs="*", metavar="DATASET",
                        help=f"any of {', '.join(DATASETS)} (default: all)")
    parser.add_argument("--profile", default="full", choices=CONCRETE_PROFILES,
                        help="download what this profile's notebooks need (default: full, all)")
    parser.add_argument("--mirror", help=f"base URL or folder laid out as <dataset>/<file>, tried "
                                         f"before upstream (default: ${MIRROR_VAR})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.datasets) - set(DATASETS))
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}: choose from {', '.join(DATASETS)}")
    if args.mirror:
        os.environ[MIRROR_VAR] = args.mirror
    failed = 0
    for name in args.datasets or list(DATASETS):
        try:
            paths: list[Path] = [fetch(source) for source in sources_for(name, args.profile)]
            print(f"{name}: {len(paths)} file(s) cached under {cache_dir() / name}")
        except DataError as error:
            print(f"{name}: unavailable: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
