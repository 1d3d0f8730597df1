"""Benchmark: notebook 03's one-shot accuracy on alphabets it never trained on (leave one out).

Lake's runs use the evaluation alphabets, which a course run never trains on. With only the
background sets at hand, the honest estimate of the notebook's accuracy holds one background
alphabet out, trains the notebook's own cells on the others (read from the notebook, so the
estimate is of the code students run) and scores Lake-style 20-way runs built from the held-out
alphabet: one example of each character by one drawer, the queries by another. Every fold trains
from scratch with the profile's settings, on drawings cut to their ink as the notebook cuts them
(``oneshot.crop_to_ink``); the profile's ``n_images`` limit applies to the training alphabets.
An alphabet needs 20 characters drawn by two drawers to make a run.
Prints each fold and one JSON line with the per-alphabet and the trial-weighted accuracies:
``cosine`` (embeddings + cosine), ``cosine_tta`` (embeddings averaged over distorted copies),
``turned`` (that cosine with test-time augmentation over the 8 rotations/flips of each pair, query
and candidate in the same version; the notebook's ``one_shot_20way_accuracy``), ``siamese_unturned``
(the L1 + sigmoid head on the copy-averaged embeddings) and ``siamese`` (its output averaged over
the 8 rotations/flips the same way, the notebook's ``siamese_20way_accuracy``).

    python benchmarks/omniglot_heldout.py --data-dir ../shared/data/omniglot --profile cpu
    python benchmarks/omniglot_heldout.py --data-dir ../shared/data/omniglot --profile full \
        --background images_background_small1,images_background_small2   # full settings, GPU
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03_vgg16_omniglot.ipynb"
# The notebook cells a fold runs, found by what they hold: first the definitions (tower, L1 layer,
# head, Siamese model, classifier), then the steps (the classifier's compilation and training,
# cosine, copies, turned versions, the Siamese head's training and its scoring).
DEFINITIONS = ("def vgg16_tower", "class L1Distance", "def similarity_head", "def siamese_model",
               "def character_classifier")
STEPS = ("classifier.compile(", "fit_or_resume(classifier", "def embedding_similarity",
         "TTA_COPIES =", "def turned_embeddings", "turned_result =", "tower.trainable = False",
         "def head_similarity")
MARKERS = DEFINITIONS + STEPS
N_WAY = 20
# Each reported score and the notebook result it reads.
SCORES = {"cosine": "cosine_result", "cosine_tta": "tta_result", "turned": "turned_result",
          "siamese_unturned": "unturned_siamese", "siamese": "siamese_result"}


def notebook_cells(path: Path = NOTEBOOK) -> list[str]:
    """Return the source of the first code cell holding each of ``MARKERS``."""
    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    found = []
    for marker in MARKERS:
        source = next((s for s in cells if marker in s), None)
        if source is None:
            raise SystemExit(f"{path.name} has no code cell holding {marker!r}: update MARKERS")
        found.append(source)
    return found


def training_set(background, keep: np.ndarray, limit: int | None, seed: int):
    """Return the images at ``keep`` relabelled 0..n-1, cut to ``limit`` images spread over classes."""
    from course_utils.datasets.core import ImageSet, balanced_subset

    index = np.flatnonzero(keep)
    if limit is not None and limit < len(index):
        index = index[balanced_subset(background.labels[index], limit, seed)]
    present, labels = np.unique(background.labels[index], return_inverse=True)
    return ImageSet(background.images[index], labels.astype(np.int32),
                    [background.class_names[c] for c in present],
                    [background.paths[i] for i in index], background.source)


def run_fold(cells: list[str], profile, background, alphabet_of: np.ndarray,
             drawer_of: np.ndarray, held: np.ndarray, runs: int, seed: int) -> dict:
    """Train the notebook's tower without the ``held`` images and score runs made from them."""
    import keras

    from course_utils import oneshot
    from course_utils.checkpoints import EpochClock, fit_or_resume

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model_runs = oneshot.make_runs(background.images[held], background.labels[held],
                                   alphabet_of[held], drawer_of[held], n_runs=runs, seed=seed + 1)
    train = training_set(background, ~held, profile.n_images, seed)
    ns = {"keras": keras, "np": np, "oneshot": oneshot, "time": time, "replace": replace,
          "profile": profile, "SEED": seed, "background": train, "model_runs": model_runs,
          "EpochClock": EpochClock, "fit_or_resume": fit_or_resume}
    for source in cells[:len(DEFINITIONS)]:
        exec(source, ns)
    ns["tower"] = ns["vgg16_tower"](profile.image_size, profile.width)
    ns["siamese"] = ns["siamese_model"](ns["tower"])
    # Each fold trains afresh: a folder of its own, so no fold reuses another's finished weights.
    with tempfile.TemporaryDirectory(prefix="omniglot-heldout-") as folder:
        ns["checkpoints"] = Path(folder)
        for source in cells[len(DEFINITIONS):]:
            exec(source, ns)
    return {**{key: ns[result].accuracy for key, result in SCORES.items()},
            "trials": ns["tta_result"].trials,
            "train_characters": len(train.class_names),
            "train_minutes": ns["train_seconds"] / 60}


def weighted(folds: dict, key: str) -> float:
    """Return the trial-weighted mean of ``key`` over the folds."""
    trials = sum(f["trials"] for f in folds.values())
    return sum(f[key] * f["trials"] for f in folds.values()) / trials


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
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")

    from course_utils.datasets.omniglot import alphabets, drawers, load_omniglot
    from course_utils.oneshot import crop_to_ink, runnable_alphabets
    from course_utils.profiles import get_profile

    sets = tuple(args.background.split(",")) if args.background else None
    try:
        profile = get_profile(args.profile, "03_vgg16_omniglot", epochs=args.epochs,
                              width=args.width, background=sets)
        background = load_omniglot(profile.background, args.data_dir)
    except ValueError as error:
        parser.error(str(error))
    cells = notebook_cells()
    background = replace(background, images=crop_to_ink(background.images, profile.image_size))
    alphabet_of, drawer_of = alphabets(background), drawers(background)
    usable = list(runnable_alphabets(background.labels, alphabet_of, drawer_of, N_WAY))
    chosen = args.alphabets.split(",") if args.alphabets else usable
    unusable = [a for a in chosen if a not in usable]
    if unusable:
        parser.error(f"cannot hold out {', '.join(unusable)}: usable alphabets (with {N_WAY} "
                     f"characters by two drawers) are {', '.join(usable)}")
    folds = {}
    started = time.perf_counter()
    for alphabet in chosen:
        folds[alphabet] = fold = run_fold(cells, profile, background, alphabet_of, drawer_of,
                                          alphabet_of == alphabet, args.runs, args.seed)
        print(f"held out {alphabet}: cosine {fold['cosine']:.4f}, with copies "
              f"{fold['cosine_tta']:.4f}, 8 rotations/flips {fold['turned']:.4f}, Siamese head "
              f"{fold['siamese_unturned']:.4f}, 8 rotations/flips {fold['siamese']:.4f} over "
              f"{fold['trials']} trials; trained {fold['train_minutes']:.1f} min on "
              f"{fold['train_characters']} characters", flush=True)
    result = {"profile": profile.name, "width": profile.width, "epochs": profile.epochs,
              "source": background.source, "runs_per_alphabet": args.runs, "seed": args.seed,
              "folds": folds, "trials": sum(f["trials"] for f in folds.values()),
              **{key: weighted(folds, key) for key in SCORES},
              "minutes": (time.perf_counter() - started) / 60}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
