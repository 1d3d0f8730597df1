"""Benchmark: how long each notebook's ``gpu`` profile should take on a T4-class GPU, by arithmetic.

No T4 is at hand, so the ``gpu`` budgets are sized from what this machine measures:

1. each notebook runs under ``--base`` (default ``cpu``) here, through ``course_utils.run``; its
   metrics give the seconds spent training every model (``all_training_seconds``), the rest of
   its wall time is the work that stays on the CPU (loading, evaluation, plots);
2. the training work of ``--target`` (``gpu``; ``full``'s epochs depend on the data) over that of
   ``--base`` is counted from the two profiles' settings (steps x batch x pixels x width^2, per notebook below);
3. this CPU's float32 matrix-multiply speed is measured; training on the GPU takes the CPU's
   training time x the work ratio x (CPU FLOP/s / GPU FLOP/s) / ``--efficiency`` (how much worse
   than this CPU the GPU uses its peak: 0.5 assumes half as well), but no less than the target's
   optimizer steps x ``--step-ms`` (the fixed cost of launching a step's kernels, 10 ms assumed);
4. the input pipelines that run on the CPU whatever the accelerator (random views and warps in
   ``tf.data`` or NumPy; Colab gives a T4 two CPU cores, as here) are timed at the target's sizes:
   a GPU cannot train faster than its batches arrive;
5. the estimate is the CPU-side work (scaled by how much more data the target reads) plus the
   larger of GPU training and input pipeline.

The last line printed is the JSON written to ``--output`` (default
``benchmarks/results/gpu_budget_<target>.json``), with date and commit::

    python benchmarks/gpu_budget.py --data-dir ../shared/data
    python benchmarks/gpu_budget.py --reuse runs/cpu   # a finished run of the base profile
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's course_utils, also when run from elsewhere
sys.path.insert(0, str(ROOT / "tests"))  # notebook_namespace: the lessons' own teaching code

from course_utils.profiles import SETTINGS  # noqa: E402
from record import stamp, write  # noqa: E402  (benchmarks/record.py, beside this script)

TRAINING_NOTEBOOKS = ("02_contrastive_siamese", "03_vgg16_omniglot", "04_plant_disease",
                      "05_autoencoder_retrieval")
# NVIDIA's T4 datasheet: 8.1 TFLOP/s in float32 (65 in float16 with tensor cores).
GPU_FLOPS = {"T4": 8.1e12}
# Omniglot's full background set: 964 characters of 30 alphabets (Lake et al. 2015); the small sets
# are counted from the zips the notebook reads.
OMNIGLOT_CHARACTERS = {"images_background": 964}
OMNIGLOT_DRAWERS = 20
HEAD_EPOCHS = 3  # notebook 03's parameter of that name, at its default
CIFAR10_TRAIN_IMAGES = 50_000  # the training split's size (Krizhevsky 2009): n_images None


def matmul_flops(n: int = 2048, repeats: int = 10) -> float:
    """Return this machine's float32 matrix-multiply speed in FLOP/s (TensorFlow, all cores)."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    tf.linalg.matmul(a, a).numpy()  # warm up
    started = time.perf_counter()
    for _ in range(repeats):
        result = tf.linalg.matmul(a, a)
    result.numpy()
    return 2 * n ** 3 * repeats / (time.perf_counter() - started)


def omniglot_characters(sets: tuple[str, ...], data_dir: Path | None) -> int:
    """Return how many characters the Omniglot background sets hold."""
    total = 0
    for name in sets:
        archive = data_dir / "omniglot" / f"{name}.zip" if data_dir else None
        if archive is not None and archive.exists():
            with zipfile.ZipFile(archive) as z:
                total += len({tuple(n.split("/")[1:3]) for n in z.namelist() if n.count("/") >= 3})
        elif name in OMNIGLOT_CHARACTERS:
            total += OMNIGLOT_CHARACTERS[name]
        else:
            raise SystemExit(f"{name}.zip is not in {data_dir}/omniglot: give --data-dir")
    return total


def training_steps(notebook: str, profile: str, data_dir: Path | None) -> int:
    """Return the optimizer steps a notebook takes under ``profile`` (0 where it trains nothing).

    Notebook 04's Kaggle model may stop early; its full count is included.
    """
    s = SETTINGS[notebook][profile]
    if notebook == "02_contrastive_siamese":
        # Four models for `epochs` (seed, raw distance, improved, hard positive), eight for the ablation.
        return (4 * s["epochs"] + 8 * s["ablation_epochs"]) * s["steps_per_epoch"]
    if notebook == "03_vgg16_omniglot":
        drawings = s["n_images"] or omniglot_characters(s["background"], data_dir) * OMNIGLOT_DRAWERS
        head = HEAD_EPOCHS * max(1, s["siamese_steps"] // 3)  # the Siamese head on embeddings
        return s["epochs"] * -(-drawings * (8 if s["mirror"] else 4) // s["batch_size"]) + head
    if notebook == "04_plant_disease":
        return 4 * s["epochs"] * s["steps_per_epoch"]
    if notebook == "05_autoencoder_retrieval":
        images = s["n_images"] or CIFAR10_TRAIN_IMAGES
        return (2 * s["epochs"] * -(-images // s["batch_size"])
                + s["contrastive_epochs"] * (images // min(s["contrastive_batch_size"], images)))
    return 0


def training_work(notebook: str, profile: str, data_dir: Path | None) -> float:
    """Return the notebook's training work under ``profile``, in units that cancel in a ratio
    between two profiles of one notebook (images through the model x pixels x width^2)."""
    s = SETTINGS[notebook][profile]
    if notebook in ("02_contrastive_siamese", "04_plant_disease"):  # every step one batch size
        return training_steps(notebook, profile, data_dir) * s["batch_size"] * s["image_size"] ** 2
    if notebook == "03_vgg16_omniglot":
        images = omniglot_characters(s["background"], data_dir) * OMNIGLOT_DRAWERS
        return s["epochs"] * images * s["image_size"] ** 2 * s["width"] ** 2
    if notebook == "05_autoencoder_retrieval":
        images = s["n_images"] or CIFAR10_TRAIN_IMAGES
        return (2 * s["epochs"] + 2 * s["contrastive_epochs"]) * images * s["width"] ** 2
    raise ValueError(f"no training work is counted for {notebook}")


def data_ratio(notebook: str, base: str, target: str, data_dir: Path | None) -> float:
    """Return how much more data the target's CPU-side work handles than the base's (at least 1)."""
    b, t = SETTINGS[notebook][base], SETTINGS[notebook][target]
    if notebook == "03_vgg16_omniglot":
        ratio = omniglot_characters(t["background"], data_dir) / omniglot_characters(
            b["background"], data_dir)
    elif notebook == "04_plant_disease":  # few-shot episodes dominate what stays on the CPU
        ratio = t["episodes"] / b["episodes"]
    elif notebook == "05_autoencoder_retrieval":
        ratio = ((t["n_images"] or CIFAR10_TRAIN_IMAGES)
                 / (b["n_images"] or CIFAR10_TRAIN_IMAGES))
    else:
        ratio = (t["image_size"] / b["image_size"]) ** 2
    return max(1.0, ratio)


def time_batches(batches: Callable[[], object], n: int) -> float:
    """Return the seconds per batch of an iterable's first ``n`` batches, after one to warm up."""
    iterator = iter(batches())
    next(iterator)
    started = time.perf_counter()
    for _ in range(n):
        next(iterator)
    return (time.perf_counter() - started) / n


def input_seconds(notebook: str, profile: str, data_dir: Path | None) -> float:
    """Return the seconds the notebook's CPU-side input pipelines take under ``profile``, measured
    here on batches of that profile's size (0 where the batches come ready from memory)."""
    s = SETTINGS[notebook][profile]
    rng = np.random.default_rng(0)
    if notebook == "02_contrastive_siamese":
        from course_utils import pairs
        from course_utils.augment import FreshPairs
        from course_utils.datasets import load_satellite

        tiles = load_satellite(str(data_dir / "satellite") if data_dir else None,
                               image_size=pairs.load_size(s["image_size"]), seed=0)
        seconds = 0.0
        for hard in (False, True):  # fresh views for the improved model, hard ones for the last
            data = FreshPairs(tiles.images, s["image_size"], s["batch_size"], hard=hard,
                              batches_per_epoch=s["steps_per_epoch"])
            started = time.perf_counter()
            data._draw()
            seconds += (time.perf_counter() - started) * s["epochs"]
        return seconds
    if notebook == "03_vgg16_omniglot":
        from course_utils import character_streams

        size, batch = s["image_size"], s["batch_size"]
        images = rng.integers(0, 256, (batch * 60, size, size), dtype=np.uint8)
        labels = np.arange(len(images)) % 100
        per_batch = time_batches(lambda: character_streams.class_stream(images, labels, batch), 40)
        drawings = omniglot_characters(s["background"], data_dir) * OMNIGLOT_DRAWERS
        return per_batch * s["epochs"] * -(-drawings * (8 if s["mirror"] else 4) // batch)
    if notebook == "05_autoencoder_retrieval":
        import tensorflow as tf
        from conftest import notebook_namespace

        augment = notebook_namespace(notebook)["augment"]
        batch = s["contrastive_batch_size"]
        images = rng.random((batch * 20, s["image_size"], s["image_size"], 3), dtype=np.float32)
        views = (tf.data.Dataset.from_tensor_slices(images).batch(batch)
                 .map(lambda b: (augment(b), augment(b))).repeat())
        per_batch = time_batches(lambda: views, 15)
        steps = (s["n_images"] or CIFAR10_TRAIN_IMAGES) // batch
        return per_batch * s["contrastive_epochs"] * steps
    return 0.0  # notebook 04 feeds arrays from memory; its augmentation layers run on the GPU


def base_runs(notebooks: list[str], base: str, data_dir: Path | None, reuse: Path | None):
    """Return {notebook: (wall seconds, training seconds)} of the notebooks under the base profile."""
    from course_utils.run import NOTEBOOKS_DIR, run_course

    if reuse is None:
        output = Path(tempfile.mkdtemp(prefix="gpu-budget-"))
        results = run_course([NOTEBOOKS_DIR / f"{n}.ipynb" for n in notebooks], output, base,
                             str(data_dir) if data_dir else None, offline=data_dir is not None)
        failed = [f"{r.notebook}: {r.error}" for r in results if not r.ok]
        if failed:
            raise SystemExit("the base run failed:\n" + "\n".join(failed))
        return {r.notebook: (r.seconds, r.metrics["all_training_seconds"]) for r in results}
    import nbformat

    runs = {}
    for notebook in notebooks:
        metrics = json.loads((reuse / f"{notebook}.metrics.json").read_text())
        if metrics.get("profile") != base:
            raise SystemExit(f"{reuse}: {notebook} ran under {metrics.get('profile')}, not {base}")
        executed = nbformat.read(reuse / f"{notebook}.ipynb", as_version=4)
        runs[notebook] = (executed.metadata["papermill"]["duration"],
                          metrics["all_training_seconds"])
    return runs


def estimate(notebook: str, wall: float, train: float, cpu_flops: float, args) -> dict:
    """Return the arithmetic for one notebook: the target's minutes on the GPU and their parts."""
    work = training_work(notebook, args.target, args.data_dir) / training_work(
        notebook, args.base, args.data_dir)
    steps = training_steps(notebook, args.target, args.data_dir)
    gpu_train = max(train * work * cpu_flops / (GPU_FLOPS[args.gpu] * args.efficiency),
                    steps * args.step_ms / 1000)
    pipeline = input_seconds(notebook, args.target, args.data_dir)
    cpu_side = (wall - train) * data_ratio(notebook, args.base, args.target, args.data_dir)
    minutes = (cpu_side + max(gpu_train, pipeline)) / 60
    return {"base_wall_min": wall / 60, "base_train_min": train / 60, "work_ratio": work,
            "target_steps": steps,
            "gpu_train_min": gpu_train / 60, "input_pipeline_min": pipeline / 60,
            "cpu_side_min": cpu_side / 60, "estimate_min": minutes,
            "budget_min": SETTINGS[notebook][args.target]["minutes"],
            "within_budget": minutes <= SETTINGS[notebook][args.target]["minutes"]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data root laid out like shared/data (default: downloads)")
    parser.add_argument("--base", default="cpu", choices=("smoke", "cpu"))
    parser.add_argument("--target", default="gpu", choices=("gpu",))
    parser.add_argument("--gpu", default="T4", choices=sorted(GPU_FLOPS))
    parser.add_argument("--efficiency", type=float, default=0.5,
                        help="the GPU's share of its peak over this CPU's share (default 0.5)")
    parser.add_argument("--step-ms", type=float, default=10.0,
                        help="fixed GPU milliseconds per optimizer step (default 10)")
    parser.add_argument("--notebooks", nargs="+", default=list(TRAINING_NOTEBOOKS),
                        choices=TRAINING_NOTEBOOKS)
    parser.add_argument("--reuse", type=Path, default=None,
                        help="a course_utils.run output folder of the base profile to read, not rerun")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if not 0 < args.efficiency <= 10:
        parser.error(f"--efficiency must be above 0 and at most 10, got {args.efficiency}")
    if args.step_ms < 0:
        parser.error(f"--step-ms must be 0 or more, got {args.step_ms}")
    runs = base_runs(args.notebooks, args.base, args.data_dir, args.reuse)
    cpu_flops = matmul_flops()
    record = {"benchmark": "gpu_budget", "base": args.base, "target": args.target, "gpu": args.gpu,
              "gpu_flops": GPU_FLOPS[args.gpu], "cpu_flops": cpu_flops,
              "efficiency": args.efficiency, "step_ms": args.step_ms,
              "data_dir": str(args.data_dir), "base_run": str(args.reuse or "this invocation"),
              **stamp(),
              "notebooks": {n: estimate(n, *runs[n], cpu_flops, args) for n in args.notebooks}}
    output = args.output or ROOT / "benchmarks" / "results" / f"gpu_budget_{args.target}.json"
    write(output, record)
    for notebook, row in record["notebooks"].items():
        print(f"{notebook}: {row['estimate_min']:.1f} min on a {args.gpu} (budget "
              f"{row['budget_min']:g}): CPU side {row['cpu_side_min']:.1f}, training "
              f"{row['gpu_train_min']:.1f}, input pipeline {row['input_pipeline_min']:.1f}")
    print(json.dumps(record))
    return record


if __name__ == "__main__":
    main()
