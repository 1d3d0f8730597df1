"""Benchmark: the course on a GPU, per notebook and profile: wall time, training time per step,
peak GPU memory and the headline metrics.

One script for a short GPU window, tested at ``smoke`` on a CPU first::

    python benchmarks/gpu_course.py --profiles smoke --notebooks 05 --data-dir ../shared/data
    KERAS_BACKEND=jax python benchmarks/gpu_course.py --profiles gpu full --data-dir /data

Each notebook runs through ``course_utils.run`` (papermill), one after the other. While it runs,
``nvidia-smi`` is sampled every half second for the memory in use (none without it); JAX and
TensorFlow are told to take GPU memory as they need it, so the peak means something. Steps are
counted from the profile's settings (``gpu_budget.training_steps``). The record, with date, commit,
backend and GPU, is rewritten after every notebook to ``--output`` (default
``benchmarks/results/gpu_course_<profiles>.json``), so a window that closes early keeps what ran.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's course_utils, also when run from elsewhere

from course_utils.profiles import CONCRETE_PROFILES, SETTINGS  # noqa: E402
from course_utils.run import HEADLINE, run_course, select_notebooks  # noqa: E402
from gpu_budget import training_steps  # noqa: E402
from record import stamp, write  # noqa: E402  (benchmarks/record.py, beside this script)


class MemorySampler:
    """Samples the largest GPU memory in use (MiB, summed over GPUs) while a block runs."""

    def __init__(self, interval: float = 0.5):
        self.interval, self.peak = interval, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            done = subprocess.run(["nvidia-smi", "--query-gpu=memory.used",
                                   "--format=csv,noheader,nounits"], capture_output=True, text=True)
            if done.returncode == 0:
                used = sum(float(line) for line in done.stdout.split() if line.strip())
                self.peak = used if self.peak is None else max(self.peak, used)
            self._stop.wait(self.interval)

    def __enter__(self) -> "MemorySampler":
        if shutil.which("nvidia-smi"):
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def measure(notebook: Path, profile: str, args, workdir: Path) -> dict:
    """Run one notebook under ``profile``; return its times, memory, metrics and status."""
    with MemorySampler() as memory:
        [result] = run_course([notebook], workdir / profile, profile,
                              str(args.data_dir) if args.data_dir else None,
                              offline=args.offline)
    steps = training_steps(notebook.stem, profile, args.data_dir)
    train = result.metrics.get("train_seconds")
    return {"notebook": notebook.stem, "profile": profile, "status": result.status,
            "wall_min": result.seconds / 60, "train_min": train / 60 if train else None,
            "steps": steps, "ms_per_step": 1000 * train / steps if train and steps else None,
            "peak_gpu_mib": memory.peak, "budget_min": SETTINGS[notebook.stem][profile]["minutes"],
            "metrics": {k: result.metrics.get(k) for k in HEADLINE.get(notebook.stem, {})},
            "error": result.error}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", nargs="+", default=["gpu", "full"], choices=CONCRETE_PROFILES)
    parser.add_argument("--notebooks", nargs="*", default=[], help="numbers or names (default: all)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data root laid out like shared/data (default: downloads)")
    parser.add_argument("--offline", action="store_true", help="never download (COURSE_OFFLINE=1)")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    # Memory as needed, not all of it up front: otherwise the peak is the whole card.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    from course_utils.profiles import backend_version, gpu_names

    notebooks = select_notebooks(args.notebooks)
    output = args.output or (ROOT / "benchmarks" / "results" /
                             f"gpu_course_{'_'.join(args.profiles)}.json")
    record = {"benchmark": "gpu_course", "backend": backend_version(), "gpus": gpu_names(),
              "profiles": args.profiles, "data_dir": str(args.data_dir), **stamp(), "runs": []}
    workdir = Path(tempfile.mkdtemp(prefix="gpu-course-"))
    for profile in args.profiles:
        for notebook in notebooks:
            row = measure(notebook, profile, args, workdir)
            record["runs"].append(row)
            write(output, record)
            print(f"{row['notebook']} {profile}: {row['status']}, {row['wall_min']:.1f} min "
                  f"(budget {row['budget_min']:g}), peak GPU memory {row['peak_gpu_mib']} MiB, "
                  f"{row['metrics']}", flush=True)
    print(f"executed notebooks in {workdir}")
    print(json.dumps(record))
    return record


if __name__ == "__main__":
    main()
