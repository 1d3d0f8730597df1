"""What a benchmark records beside its numbers: the commit and date it was measured at."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def git_commit() -> str:
    """The checkout's commit, with '+changes' when the tree differs from it ('unknown' without git)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


def stamp() -> dict[str, str]:
    """Return the commit and today's date, to store with a measurement."""
    return {"commit": git_commit(), "date": time.strftime("%Y-%m-%d")}


def write(output: Path, record: dict) -> None:
    """Write ``record`` as indented JSON to ``output``, making its folder."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(record, indent=2) + "\n")
