"""Benchmark: the spread of notebook 04's headline metrics over seeds and train/held-out splits.

With a few hundred training leaves, notebook 04's numbers move with the seed and with which images
are held out far more than the ± it prints (episode noise only). This runs the notebook itself
(papermill, through ``course_utils.run.run_course``) once per split and seed and prints the mean,
min and max of each headline metric. Each split puts a seeded ``--held-out`` fraction of every
class folder of ``--data-dir`` aside (links in a temporary folder; nothing is copied) and runs the
notebook with ``DATA_DIR`` on the rest and ``EVAL_DIR`` on the aside, so nothing it reports was
trained on or chosen on. With ``--eval-dir`` the notebook trains on all of ``--data-dir`` and is
scored on that folder instead, one run per seed. The last line printed is the JSON written to
``--output`` (default ``benchmarks/results/plant_seeds_<profile>.json``), with date and commit.
``--append`` adds this invocation's runs to those already in ``--output`` (same profile, data and
held-out fraction), each run keeping the date and commit it was measured at.

    python benchmarks/plant_seeds.py --data-dir ../shared/data/plantvillage --profile cpu \
        --seeds 0 1 --splits 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's course_utils, also when run from elsewhere

from course_utils.run import run_course, select_notebooks  # noqa: E402
from record import stamp, write  # noqa: E402  (benchmarks/record.py, beside this script)

VARIANTS = ("color", "grayscale", "segmented")
HEADLINE = ("fewshot_1shot_accuracy", "fewshot_5shot_accuracy", "verification_auc",
            "contrastive_5shot_accuracy", "triplet_5shot_accuracy", "classifier_5shot_accuracy",
            "ensemble_5shot_accuracy")


def split_folder(data_dir: Path, out: Path, held_out: float, seed: int) -> tuple[Path, Path]:
    """Link a seeded ``held_out`` fraction of each class folder into out/heldout, the rest into out/train."""
    variants = [d for d in sorted(data_dir.iterdir()) if d.is_dir() and d.name in VARIANTS]
    if not variants:
        raise SystemExit(f"{data_dir} holds none of {', '.join(VARIANTS)}: give the PlantVillage root")
    shutil.rmtree(out, ignore_errors=True)  # a work dir reused by --append holds the same split already
    rng = np.random.default_rng(seed)
    for variant in variants:
        for folder in sorted(d for d in variant.iterdir() if d.is_dir()):
            files = sorted(f for f in folder.iterdir() if f.is_file())
            aside = set(rng.permutation(len(files))[:max(1, round(held_out * len(files)))].tolist())
            for i, file in enumerate(files):
                target = out / ("heldout" if i in aside else "train") / variant.name / folder.name
                target.mkdir(parents=True, exist_ok=True)
                (target / file.name).symlink_to(file.resolve())
    return out / "train", out / "heldout"


def spread(runs: list[dict]) -> dict[str, dict[str, float]]:
    """Mean, min and max of each headline metric over the runs that report it."""
    summary = {}
    for key in HEADLINE:
        values = [run["metrics"][key] for run in runs if key in run["metrics"]]
        if values:
            summary[key] = {"mean": float(np.mean(values)), "min": float(np.min(values)),
                            "max": float(np.max(values)), "runs": len(values)}
    return summary


def earlier_runs(output: Path, setting: dict) -> list[dict]:
    """The runs already in ``output``, refused when they were measured in another setting."""
    if not output.is_file():
        return []
    record = json.loads(output.read_text())
    differs = {k: record.get(k) for k, v in setting.items() if record.get(k) != v}
    if differs:
        raise SystemExit(f"--append: {output} holds runs of another setting ({differs}); "
                         f"give another --output or leave out --append")
    return [{"commit": record.get("commit"), "date": record.get("date"), **run} for run in record["runs"]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="PlantVillage root (segmented/ ...)")
    parser.add_argument("--eval-dir", type=Path, help="held-out leaves; then no split is made")
    parser.add_argument("--profile", default="cpu", choices=("smoke", "cpu", "full"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--splits", type=int, default=2, help="train/held-out splits (seeded 0, 1, ...)")
    parser.add_argument("--first-split", type=int, default=0,
                        help="seed of the first split (with --append, to add splits to a record)")
    parser.add_argument("--held-out", type=float, default=1 / 3, help="fraction of each class held out")
    parser.add_argument("--output", type=Path, help="JSON results file")
    parser.add_argument("--work-dir", type=Path, help="where the executed notebooks go (default: temporary)")
    parser.add_argument("--append", action="store_true", help="add the runs to those already in --output")
    args = parser.parse_args(argv)
    if not 0 < args.held_out < 1:
        parser.error(f"--held-out must lie between 0 and 1, got {args.held_out}")
    output = args.output or ROOT / "benchmarks" / "results" / f"plant_seeds_{args.profile}.json"
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="plant-seeds-"))
    notebook = select_notebooks(["04"])
    splits = [None] if args.eval_dir else list(range(args.first_split, args.first_split + args.splits))
    if not splits or not args.seeds:
        parser.error("need at least one split and one seed")
    measured = stamp()
    commit, today = measured["commit"], measured["date"]
    setting = {"benchmark": "plant_seeds", "profile": args.profile, "data_dir": str(args.data_dir.resolve()),
               "eval_dir": str(args.eval_dir.resolve()) if args.eval_dir else None,
               "held_out": None if args.eval_dir else args.held_out}
    runs = earlier_runs(output, setting) if args.append else []
    for split in splits:
        if split is None:
            train, heldout = args.data_dir.resolve(), args.eval_dir.resolve()
        else:
            train, heldout = split_folder(args.data_dir.resolve(), work / f"split{split}",
                                          args.held_out, split)
        for seed in args.seeds:
            name = f"split{split}_seed{seed}" if split is not None else f"seed{seed}"
            params = {"SEED": seed, "DATA_DIR": str(train), "EVAL_DIR": str(heldout)}
            result, = run_course(notebook, work / name, args.profile, parameters=params, offline=True)
            run = {"split": split, "seed": seed, "commit": commit, "date": today,
                   "status": result.status, "minutes": result.seconds / 60,
                   "metrics": {k: result.metrics[k] for k in HEADLINE if k in result.metrics},
                   "best_model": result.metrics.get("best_model"), "error": result.error}
            runs.append(run)
            shown = ", ".join(f"{k} {v:.3f}" for k, v in run["metrics"].items())
            print(f"{name}: {result.status} in {run['minutes']:.1f} min; {shown}", flush=True)
            # written after every run, so a long benchmark cut short still leaves its runs on record
            record = {**setting, "date": today, "commit": commit,
                      "seeds": sorted({r["seed"] for r in runs}),
                      "splits": len({r["split"] for r in runs}), "runs": runs,
                      "spread": spread([r for r in runs if r["status"] == "ok"])}
            write(output, record)
    for key, values in record["spread"].items():
        print(f"{key}: mean {values['mean']:.3f}, min {values['min']:.3f}, max {values['max']:.3f} "
              f"({values['runs']} runs)")
    print(json.dumps(record))
    return 0 if all(r["status"] == "ok" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
