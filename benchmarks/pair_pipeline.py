"""Benchmark: the seed's make_pairs (pixel pairs) against index pairs streamed by tf.data.

Each measurement runs in a fresh Python process (imports and TensorFlow warmed up first), so one
method's freed-but-cached memory never counts against the other. Time is "pairs ready to train":
the seed's whole pixel array, against the index pairs plus the pipeline and its first batch (later
batches are gathered while the model trains). Peak memory is the growth of the process's resident
memory; for the index pipeline it covers streaming one whole epoch, whose time is reported too.
TensorFlow's one-off start-up allocations (thread pools, allocator arenas filled by the first
epoch), which a training run pays once whatever the number of pairs, are reported separately as
``index_first_epoch_mb``; the ratio uses the steady-state epoch, the memory that scales with data.
Prints the runs and one JSON line with the medians.

    python benchmarks/pair_pipeline.py --images 2000 --size 128 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys
import numpy as np
from course_utils import pairs
from course_utils.memory import measure

method, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
images = np.random.default_rng(0).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
groups = np.arange(n) // 3
if method == "seed":
    images = images.astype(np.float32) / 255
    work = lambda: len(pairs.seed_make_pairs(images)[1])
else:
    measure(lambda: next(iter(pairs.pair_dataset(images[:6], pairs.make_pairs(groups[:6]), 2))))
    def ready():
        index = pairs.make_pairs(groups, include_identical=True)
        dataset = pairs.pair_dataset(images, index, 32)
        next(iter(dataset))
        return len(index), dataset
    def epoch():
        return sum(1 for _ in ready()[1])
    first_epoch = measure(epoch)
    epoch_run = measure(epoch)
    work = lambda: ready()[0]
result = measure(work)
print(json.dumps({"pairs": result.result, "seconds": result.seconds,
                  "peak_mb": (epoch_run if method == "index" else result).peak_bytes / 1e6,
                  "epoch_seconds": epoch_run.seconds if method == "index" else result.seconds,
                  "first_epoch_mb": first_epoch.peak_bytes / 1e6 if method == "index" else 0}))
"""


def run_child(method: str, images: int, size: int) -> dict:
    """Run one measurement in a fresh process and return its JSON result."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", CHILD, method, str(images), str(size)],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    runs = {m: [run_child(m, args.images, args.size) for _ in range(args.repeats)]
            for m in ("index", "seed")}
    median = {m: {k: statistics.median(r[k] for r in rs) for k in ("seconds", "peak_mb")}
              for m, rs in runs.items()}
    for method, rs in runs.items():
        print(f"{method:>5}: pairs {rs[0]['pairs']}, ready in seconds "
              f"{[round(r['seconds'], 3) for r in rs]}, epoch seconds "
              f"{[round(r['epoch_seconds'], 2) for r in rs]}, first epoch MB "
              f"{[round(r.get('first_epoch_mb', 0), 1) for r in rs]}, peak MB "
              f"{[round(r['peak_mb'], 1) for r in rs]}")
    print(json.dumps({
        "images": args.images, "size": args.size, "repeats": args.repeats,
        "seed_seconds": median["seed"]["seconds"], "index_seconds": median["index"]["seconds"],
        "index_epoch_seconds": statistics.median(r["epoch_seconds"] for r in runs["index"]),
        "index_first_epoch_mb": statistics.median(r["first_epoch_mb"] for r in runs["index"]),
        "seed_peak_mb": median["seed"]["peak_mb"], "index_peak_mb": median["index"]["peak_mb"],
        "memory_ratio": median["seed"]["peak_mb"] / max(median["index"]["peak_mb"], 1e-3),
        "speedup": median["seed"]["seconds"] / median["index"]["seconds"],
    }))


if __name__ == "__main__":
    main()
