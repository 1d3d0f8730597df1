"""Benchmark: peak memory of every notebook under the Binder profile (Binder allows 2 GB).

Runs each notebook with papermill in a fresh process under the environment ``binder/start`` sets,
samples the resident memory of that process and all its children (the kernel) and prints one row
per notebook plus one JSON line. Exits 1 when a notebook fails or peaks above the limit.

    python benchmarks/binder_memory.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
LIMIT_BYTES = 2 * 1024**3


def binder_profile() -> str:
    """Return the profile binder/start gives a session."""
    match = re.search(r'COURSE_PROFILE="\$\{COURSE_PROFILE:-(\w+)\}"', (REPO / "binder" / "start").read_text())
    if not match:
        raise SystemExit("binder/start does not set COURSE_PROFILE")
    return match[1]


def tree_rss(process: psutil.Process) -> int:
    """Return the resident memory of a process and all its descendants."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run(notebook: Path, profile: str, env: dict, out: Path) -> dict:
    """Execute one notebook with papermill while sampling its memory; return the measurement."""
    command = [sys.executable, "-m", "papermill", str(notebook), str(out / notebook.name),
               "-p", "PROFILE", profile, "-p", "METRICS_PATH", str(out / f"{notebook.stem}.json"),
               "--cwd", str(notebook.parent)]
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    process, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        peak = max(peak, tree_rss(process))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    return {"notebook": notebook.stem, "profile": profile, "ok": child.returncode == 0,
            "seconds": round(seconds, 1), "peak_mb": round(peak / 1e6, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"),
                        help="COURSE_DATA_DIR for the runs (default: ../shared/data)")
    parser.add_argument("notebooks", nargs="*", help="notebook stems (default: all)")
    args = parser.parse_args()
    profile = binder_profile()
    env = {**os.environ, "COURSE_PROFILE": profile, "COURSE_DATA_DIR": args.data_dir,
           "COURSE_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.notebooks:
        notebooks = [n for n in notebooks if n.stem in args.notebooks or n.stem[:2] in args.notebooks]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(n, profile, env, Path(tmp)) for n in notebooks]
    for row in rows:
        print(f"{row['notebook']:<28} {row['profile']:<6} {'ok' if row['ok'] else 'FAILED':<7}"
              f"{row['seconds']:>7.1f} s {row['peak_mb']:>8.1f} MB")
    worst = max(r["peak_mb"] for r in rows)
    print(json.dumps({"profile": profile, "limit_mb": LIMIT_BYTES / 1e6, "max_peak_mb": worst,
                      "notebooks": rows}))
    return 0 if all(r["ok"] for r in rows) and worst * 1e6 < LIMIT_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
