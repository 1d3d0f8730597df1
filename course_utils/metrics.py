"""Run metrics: verification scores computed from distances, and the metrics JSON of a run.

Every notebook writes its headline numbers with :func:`write_metrics`; instructors read many runs
back with :func:`read_metrics`. Each record carries the notebook, the profile and the data sources
it came from, so a number never travels without its context.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

REQUIRED_CONTEXT = ("notebook", "profile", "sources")


@dataclass(frozen=True)
class Verification:
    """Accuracy, precision, recall and the confusion counts of 'similar' decisions at a threshold."""

    threshold: float
    accuracy: float
    precision: float
    recall: float
    tp: int
    fp: int
    tn: int
    fn: int


def _check_scores(scores: np.ndarray, positives: np.ndarray) -> None:
    if scores.shape != positives.shape or scores.ndim != 1:
        raise ValueError(f"scores {scores.shape} and labels {positives.shape} must be 1-D and "
                         f"the same length")
    if len(scores) == 0:
        raise ValueError("no pairs to score")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or infinite values: the model diverged")


def verify(distances: Sequence[float], is_similar: Sequence[bool],
           threshold: float) -> Verification:
    """Score the decision 'similar when distance <= threshold' against the true pair labels.

    Raises:
        ValueError: shapes differ, nothing to score, or a distance is not finite.
    """
    distances = np.asarray(distances, dtype=np.float64).ravel()
    positives = np.asarray(is_similar, dtype=bool).ravel()
    _check_scores(distances, positives)
    predicted = distances <= threshold
    tp = int(np.sum(predicted & positives))
    fp = int(np.sum(predicted & ~positives))
    tn = int(np.sum(~predicted & ~positives))
    fn = int(np.sum(~predicted & positives))
    return Verification(float(threshold), (tp + tn) / len(positives),
                        tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0,
                        tp, fp, tn, fn)


def best_threshold(distances: Sequence[float], is_similar: Sequence[bool]) -> float:
    """Return the distance threshold that maximises accuracy on these (validation) pairs.

    The threshold sits halfway between two neighbouring distinct distances, so it transfers to new
    pairs without sitting exactly on a training value.

    Raises:
        ValueError: shapes differ, nothing to score, or a distance is not finite.
    """
    distances = np.asarray(distances, dtype=np.float64).ravel()
    positives = np.asarray(is_similar, dtype=bool).ravel()
    _check_scores(distances, positives)
    values = np.unique(distances)
    candidates = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2,
                                 [values[-1] + 1e-6]])
    order = np.argsort(distances, kind="stable")
    sorted_d, sorted_pos = distances[order], positives[order]
    # For each candidate, similar-and-below plus dissimilar-and-above, counted with cumulative sums.
    below = np.searchsorted(sorted_d, candidates, side="right")
    pos_below = np.concatenate([[0], np.cumsum(sorted_pos)])[below]
    neg_above = (~sorted_pos).sum() - (below - pos_below)
    return float(candidates[int(np.argmax(pos_below + neg_above))])


def roc_auc(distances: Sequence[float], is_similar: Sequence[bool]) -> float:
    """Return the ROC AUC of 'smaller distance means similar'.

    Raises:
        ValueError: only one kind of pair, or a distance is not finite.
    """
    from sklearn.metrics import roc_auc_score

    distances = np.asarray(distances, dtype=np.float64).ravel()
    positives = np.asarray(is_similar, dtype=bool).ravel()
    _check_scores(distances, positives)
    if positives.all() or not positives.any():
        raise ValueError("ROC AUC needs both similar and dissimilar pairs")
    return float(roc_auc_score(positives, -distances))


def _jsonable(value: Any, key: str) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            raise ValueError(f"metric {key!r} is {value}: refusing to write a non-finite number")
        return float(value)
    if isinstance(value, np.ndarray):
        return [_jsonable(v, key) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, key) for v in value]
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise TypeError(f"metric {key!r} has type {type(value).__name__}, which JSON cannot hold")


def write_metrics(path: str | os.PathLike | None, metrics: Mapping[str, Any], *, notebook: str,
                  profile: str, sources: Mapping[str, str] | Sequence[str] | str,
                  **context: Any) -> dict[str, Any] | None:
    """Write ``metrics`` plus their context to ``path`` as JSON (atomically); no-op when None.

    Returns the record written (or that would have been), so a notebook can show it.

    Raises:
        ValueError: a metric is NaN/infinite or clashes with a context key.
        TypeError: a metric is not JSON-serialisable.
    """
    clash = set(metrics) & (set(REQUIRED_CONTEXT) | set(context) | {"written_at"})
    if clash:
        raise ValueError(f"metric name(s) {', '.join(sorted(clash))} clash with context keys")
    record = {"notebook": notebook, "profile": profile,
              "sources": [sources] if isinstance(sources, str) else sources,
              **context, **metrics,
              "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    record = {k: _jsonable(v, k) for k, v in record.items()}
    if path is None or str(path) == "":
        return record
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        json.dump(record, tmp, indent=2, sort_keys=False)
        tmp.write("\n")
    os.replace(tmp.name, path)
    return record


def read_metrics(paths: Iterable[str | os.PathLike]):
    """Read metrics JSON files into one pandas DataFrame, a row per run.

    Raises:
        ValueError: a file is not a metrics record (not JSON, or lacks notebook/profile/sources).
    """
    import pandas as pd

    rows = []
    for path in paths:
        try:
            record = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read metrics file {str(path)!r}: {error}") from error
        missing = [k for k in REQUIRED_CONTEXT if k not in record]
        if not isinstance(record, dict) or missing:
            raise ValueError(f"{str(path)!r} is not a course metrics record (missing "
                             f"{', '.join(missing)})")
        rows.append({"metrics_file": str(path), **record})
    return pd.DataFrame(rows)


def results_table(rows: Sequence[Mapping[str, Any]]):
    """Return a results table (pandas DataFrame) from rows of {"model"/"source", metric: value}."""
    import pandas as pd

    return pd.DataFrame(list(rows)).astype(object).fillna("")


BENCHMARK_RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def spread_summary(benchmark: str, profile: str, folder: str | os.PathLike = BENCHMARK_RESULTS) -> str | None:
    """Return the spread a seeds benchmark wrote (``<benchmark>_<profile>.json``) as text; None if absent."""
    path = Path(folder) / f"{benchmark}_{profile}.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    runs = record.get("runs", [])
    measured = sorted({(run["date"], run["commit"]) for run in runs if "commit" in run}) \
        or [(record.get("date"), record.get("commit"))]
    when = "; ".join(f"{date}, commit {commit}" for date, commit in measured)
    lines = [f"{path.name}: {len(runs)} runs of the {record.get('profile')} profile, {when}",
             f"  trained on {record.get('data_dir')}, scored on "
             f"{record.get('eval_dir') or 'a held-out part of it per split'}"]
    for key, values in record.get("spread", {}).items():
        lines.append(f"  {key}: mean {values['mean']:.3f}, min {values['min']:.3f}, "
                     f"max {values['max']:.3f} ({values['runs']} runs)")
    return "\n".join(lines)
