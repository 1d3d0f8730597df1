"""Benchmark: approximate search (an HNSW graph, hnswlib) against the seed's exact search.

The seed finds similar images with scikit-learn ``NearestNeighbors`` by brute force, one
``kneighbors`` call per query image (its ``get_similar``). This times the same queries through both,
in one process, and reports recall@k of the HNSW answer against the exact one and two speed-ups
(fastest of ``--repeats`` runs each):

- ``speedup`` (the headline): one query per call on both sides, single-threaded index, as the seed
  and an interactive search serve them. Part of brute force's time per call is scikit-learn's
  fixed overhead; ``numpy_per_query_speedup`` divides a bare numpy exact search instead, the
  floor any brute force could reach per call;
- ``batch_speedup``: all queries in one call each, every core on both sides (BLAS threads for the
  brute force, ``num_threads=-1`` for hnswlib). Brute force then becomes one matrix product and a
  partial sort, and the index wins far less: this is the number to use for offline batch jobs.

Building the index (and fitting ``NearestNeighbors``) is paid once and timed apart from the queries.

The index is tuned on separate validation queries: for each number of links ``m`` in ``--m``, the
smallest ``ef`` in a sweep whose recall@k reaches ``--select-recall``, and of those the fastest
setting one query per call. Only that setting is then measured on the test queries, so the reported recall and
speed-up are not tuned on the queries they are reported for.

Data: ``--codes FILE.npy`` takes real codes (rows = images, e.g. an encoder's output on CIFAR-10);
without it, a synthetic stand-in shaped like the course's autoencoder codes: ten overlapping
Gaussian clusters (the classes) in 32 dimensions whose spread decays like a PCA spectrum (the
scale of dimension j is j**-0.4). It was calibrated so that HNSW needs about the same ``ef`` for a
given recall as on samples from a Gaussian mixture fitted to notebook 05's real CIFAR-10 codes
(well-separated clusters would make the index look better than it is). Database and queries are
drawn from the same mixture; queries are never database rows. Prints the sweep and one JSON line.

    python benchmarks/ann_retrieval.py --database 50000 --queries 1000 --dim 32
    python benchmarks/ann_retrieval.py --clusters 100 --separation 3 --decay 0.5   # well separated
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sklearn.neighbors import NearestNeighbors

from course_utils import retrieval

EF_SWEEP = (10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 192, 256)


def synthetic_codes(n: int, dim: int, clusters: int = 10, separation: float = 1.0,
                    decay: float = 0.4, seed: int = 0) -> np.ndarray:
    """Return ``n`` vectors from Gaussian clusters whose spread decays over the dimensions."""
    rng = np.random.default_rng(seed)
    spread = np.arange(1, dim + 1) ** -decay
    centres = rng.normal(size=(clusters, dim)) * spread * separation
    widths = rng.uniform(0.5, 1.5, size=clusters)
    members = rng.integers(0, clusters, size=n)
    noise = rng.normal(size=(n, dim)) * spread * widths[members, None]
    return (centres[members] + noise).astype(np.float32)


def split_codes(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Return database, validation queries, test queries and a description of the data."""
    needed = args.database + args.validation + args.queries
    if args.codes:
        codes = np.load(args.codes).astype(np.float32)
        if codes.ndim != 2 or len(codes) < needed:
            raise SystemExit(f"--codes {args.codes!r} holds {codes.shape}; need a 2-D array with "
                             f"at least {needed} rows (database + validation + test queries)")
        codes = codes[np.random.default_rng(args.seed).permutation(len(codes))[:needed]]
        source = f"codes from {args.codes}"
    else:
        codes = synthetic_codes(needed, args.dim, args.clusters, args.separation, args.decay,
                                args.seed)
        source = (f"synthetic: {args.clusters} Gaussian clusters in {args.dim}-d, separation "
                  f"{args.separation:g}, spread j**-{args.decay:g}")
    database = codes[:args.database]
    validation = codes[args.database:args.database + args.validation]
    return database, validation, codes[args.database + args.validation:], source


def bare_exact_search(database: np.ndarray, squared_norms: np.ndarray, query: np.ndarray,
                      k: int) -> np.ndarray:
    """Return the ``k`` nearest database rows of one query: a dot product and a partial sort."""
    scores = squared_norms - 2.0 * (database @ query)
    nearest = np.argpartition(scores, k)[:k]
    return nearest[np.argsort(scores[nearest])]


def choose_ef(index: retrieval.HnswIndex, queries: np.ndarray, exact: np.ndarray, k: int,
              target: float) -> tuple[int, float]:
    """Return the smallest swept ef whose recall@k on ``queries`` reaches ``target``, and it."""
    for ef in (e for e in EF_SWEEP if e >= k):
        recall = retrieval.recall_at_k(index.search(queries, k, ef)[0], exact, k)
        if recall >= target:
            break
    return ef, recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", help=".npy file of real codes (default: synthetic stand-in)")
    parser.add_argument("--database", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--validation", type=int, default=500, help="queries for choosing ef")
    parser.add_argument("--dim", type=int, default=32, help="code size of the synthetic set")
    parser.add_argument("--clusters", type=int, default=10, help="clusters of the synthetic set")
    parser.add_argument("--separation", type=float, default=1.0,
                        help="spread of the synthetic cluster centres relative to the clusters")
    parser.add_argument("--decay", type=float, default=0.4,
                        help="the synthetic spread of dimension j is j**-decay")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--m", type=int, nargs="+", default=[8, 16, 32],
                        help="HNSW links per node to try")
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--select-recall", type=float, default=0.96,
                        help="validation recall@k the chosen ef must reach")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    database, validation, queries, source = split_codes(args)
    validation_exact, _ = retrieval.exact_search(database, validation, args.k)
    candidates = []
    for m in args.m:
        start = time.perf_counter()
        index = retrieval.HnswIndex(database, m=m, ef_construction=args.ef_construction,
                                    seed=args.seed)
        build_seconds = time.perf_counter() - start
        ef, recall = choose_ef(index, validation, validation_exact, args.k, args.select_recall)
        seconds, _ = retrieval.best_time(
            lambda: [index.search(query[None], args.k, ef, threads=1) for query in validation], 3)
        print(f"m={m:>3}: built in {build_seconds:.1f} s; ef={ef} gives validation recall@{args.k} "
              f"{recall:.3f} in {seconds * 1e3:.1f} ms")
        candidates.append((recall < args.select_recall, seconds, m, ef, index, build_seconds))
    _, _, m, ef, index, build_seconds = min(candidates, key=lambda c: c[:2])

    seed_search = NearestNeighbors(n_neighbors=args.k, algorithm="brute").fit(database)
    seed_search.kneighbors(queries[:10])  # warm up BLAS and scikit-learn
    exact_batch, (_, exact) = retrieval.best_time(lambda: seed_search.kneighbors(queries),
                                                  args.repeats)
    ann_batch, (found, _) = retrieval.best_time(lambda: index.search(queries, args.k, ef),
                                                args.repeats)
    exact_single, _ = retrieval.best_time(
        lambda: [seed_search.kneighbors(query[None]) for query in queries], args.repeats)
    norms = np.einsum("ij,ij->i", database, database)
    numpy_single, _ = retrieval.best_time(
        lambda: [bare_exact_search(database, norms, query, args.k) for query in queries],
        args.repeats)
    ann_single, _ = retrieval.best_time(
        lambda: [index.search(query[None], args.k, ef, threads=1) for query in queries],
        args.repeats)
    print(json.dumps({
        "data": source, "database": len(database), "queries": len(queries),
        "dim": database.shape[1], "k": args.k, "m": m, "ef": ef,
        "build_seconds": round(build_seconds, 3),
        f"recall_at_{args.k}": retrieval.recall_at_k(found, exact, args.k),
        "speedup": exact_single / ann_single,
        "exact_seconds": exact_single, "ann_seconds": ann_single,
        "numpy_per_query_speedup": numpy_single / ann_single,
        "batch_speedup": exact_batch / ann_batch,
        "batch_exact_seconds": exact_batch, "batch_ann_seconds": ann_batch,
    }))

if __name__ == "__main__":
    main()
