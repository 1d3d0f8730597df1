"""Benchmark: notebook 03's one-shot accuracy on alphabets it never trained on (leave one out).

Lake's runs use the evaluation alphabets, which a course run never trains on. With only the
background sets at hand, the honest estimate of the notebook's accuracy holds one background
alphabet out, trains the notebook on the others and scores Lake-style 20-way runs built from the
held-out alphabet: one example of each character by one drawer, the queries by another. Each fold
is one papermill run of notebook 03 itself (parameters ``HOLD_OUT``, ``HOLD_OUT_RUNS``, ``SEED``,
``EPOCHS``, ``WIDTH``, ``BACKGROUND``), so the estimate is of the notebook students run, and each
fold trains from scratch. An alphabet needs 20 characters drawn by two drawers to make a run.
Prints each fold and one JSON line with the per-alphabet and the trial-weighted accuracies, read
from the notebook's metrics: ``cosine`` (embeddings + cosine), ``cosine_tta`` (embeddings averaged
over distorted copies), ``turned`` (that cosine with test-time augmentation over the 8
rotations/flips; the notebook's ``one_shot_20way_accuracy``), ``siamese_unturned`` (the L1 +
sigmoid head) and ``siamese`` (its output averaged over the 8 rotations/flips, the notebook's
``siamese_20way_accuracy``). The same JSON, with the commit and date, is written to ``--output``
after every fold (default ``benchmarks/results/omniglot_heldout_<profile>_seed<seed>.json``).

    python benchmarks/omniglot_heldout.py --data-dir ../shared/data/omniglot --profile cpu
    python benchmarks/omniglot_heldout.py --data-dir ../shared/data/omniglot --profile full \
        --background images_background_small1,images_background_small2   # full settings, GPU
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's course_utils, also when run from elsewhere

from record import stamp, write  # noqa: E402  (benchmarks/record.py, beside this script)

N_WAY = 20
# Each reported score and the notebook metric it reads.
SCORES = {"cosine": "cosine_accuracy", "cosine_tta": "cosine_tta_accuracy",
          "turned": "one_shot_20way_accuracy", "siamese_unturned": "siamese_unturned_accuracy",
          "siamese": "siamese_20way_accuracy"}


def run_fold(alphabet: str, profile, args, work: Path) -> dict:
    """Run notebook 03 with ``alphabet`` held out and return its scores, trials and training time."""
    from course_utils.run import run_course, select_notebooks

    # the resolved profile's values, so every fold trains exactly what the record says
    parameters = {"HOLD_OUT": alphabet, "HOLD_OUT_RUNS": args.runs, "SEED": args.seed,
                  "EPOCHS": profile.epochs, "WIDTH": profile.width,
                  "BACKGROUND": list(profile.background)}
    if args.data_dir:
        parameters["DATA_DIR"] = str(Path(args.data_dir).resolve())
    result, = run_course(select_notebooks(["03"]), work / alphabet, profile.name, parameters=parameters)
    if not result.ok:
        raise SystemExit(f"notebook 03 with {alphabet} held out: {result.status}: {result.error}")
    m = result.metrics
    return {**{key: m[metric] for key, metric in SCORES.items()}, "trials": m["trials"],
            "train_characters": m["train_characters"], "train_minutes": m["train_seconds"] / 60}


def weighted(folds: dict, key: str) -> float:
    """Return the trial-weighted mean of ``key`` over the folds."""
    trials = sum(f["trials"] for f in folds.values())
    return sum(f[key] * f["trials"] for f in folds.values()) / trials


def usable_alphabets(profile, data_dir: str | None) -> tuple[list[str], str]:
    """Return the background alphabets that can make a 20-way run, and the data's source."""
    from course_utils.datasets.omniglot import alphabets, drawers, load_omniglot
    from course_utils.oneshot import runnable_alphabets

    background = load_omniglot(profile.background, data_dir)
    usable = runnable_alphabets(background.labels, alphabets(background), drawers(background), N_WAY)
    return list(usable), background.source


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="Omniglot folder (default: $COURSE_DATA_DIR/omniglot, "
                                           "else the download)")
    parser.add_argument("--profile", default="cpu", help="smoke | cpu | full (default cpu)")
    parser.add_argument("--alphabets", help="comma-separated alphabets to hold out (default: all usable)")
    parser.add_argument("--runs", type=int, default=40, help="20-way runs per held-out alphabet")
    parser.add_argument("--epochs", type=int, help="override the profile's epochs")
    parser.add_argument("--width", type=float, help="override the profile's WIDTH")
    parser.add_argument("--background", help="comma-separated Omniglot sets to train on (default: "
                                             "the profile's; full's images_background is not in "
                                             "the shared slice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path, help="where the executed notebooks go (default: temporary)")
    parser.add_argument("--output", type=Path, help="JSON results file (default: benchmarks/results/"
                                                    "omniglot_heldout_<profile>_seed<seed>.json)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")

    from course_utils.profiles import get_profile

    sets = tuple(args.background.split(",")) if args.background else None
    try:
        profile = get_profile(args.profile, "03_vgg16_omniglot", epochs=args.epochs,
                              width=args.width, background=sets)
        usable, source = usable_alphabets(profile, args.data_dir)
    except ValueError as error:
        parser.error(str(error))
    chosen = args.alphabets.split(",") if args.alphabets else usable
    unusable = [a for a in chosen if a not in usable]
    if unusable:
        parser.error(f"cannot hold out {', '.join(unusable)}: usable alphabets (with {N_WAY} "
                     f"characters by two drawers) are {', '.join(usable)}")
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="omniglot-heldout-"))
    output = args.output or (ROOT / "benchmarks" / "results"
                             / f"omniglot_heldout_{profile.name}_seed{args.seed}.json")
    folds, measured = {}, stamp()
    started = time.perf_counter()
    for alphabet in chosen:
        folds[alphabet] = fold = run_fold(alphabet, profile, args, work)
        print(f"held out {alphabet}: cosine {fold['cosine']:.4f}, with copies "
              f"{fold['cosine_tta']:.4f}, 8 rotations/flips {fold['turned']:.4f}, Siamese head "
              f"{fold['siamese_unturned']:.4f}, 8 rotations/flips {fold['siamese']:.4f} over "
              f"{fold['trials']} trials; trained {fold['train_minutes']:.1f} min on "
              f"{fold['train_characters']} characters", flush=True)
        # written after every fold, so a long benchmark cut short still leaves its folds on record
        result = {"benchmark": "omniglot_heldout", **measured, "profile": profile.name,
                  "width": profile.width, "epochs": profile.epochs,
                  "background": list(profile.background), "source": source,
                  "runs_per_alphabet": args.runs, "seed": args.seed, "folds": folds,
                  "trials": sum(f["trials"] for f in folds.values()),
                  **{key: weighted(folds, key) for key in SCORES},
                  "minutes": (time.perf_counter() - started) / 60}
        write(output, result)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
