"""Run course notebooks non-interactively with papermill: the instructor's and CI's tool.

    python -m course_utils.run                       # every notebook, default profile
    python -m course_utils.run 01 03 --profile smoke --data-dir /srv/course-data -p SEED 1
    python -m course_utils.run --profile full --thresholds .github/full-thresholds.toml

Each notebook is executed into the output folder with its metrics JSON beside it; one summary
table (notebook, profile, status, minutes, headline metrics), narrow enough for a terminal, is
printed and saved as CSV and Markdown, with what went wrong listed below it. Each notebook ends in
one status: ``ok``; ``no data`` (it stopped while loading: the fix is named); ``synthetic`` (it ran
on the synthetic stand-in: its metrics are kept apart from real ones); ``failed`` (the cell, as the
stored notebook counts it, and its section). A notebook that did not end ``ok`` does not stop the
others, and makes the exit status non-zero.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
# Each notebook's headline metrics with the short label the terminal table shows (00, the
# overview, trains nothing: its headline is what its set-up check found).
HEADLINE = {
    "00_overview": {"n_gpus": "GPUs", "n_datasets_ready": "data ready",
                    "download_mb": "download MB"},
    "01_satellite_pairs": {"n_tiles": "tiles", "seed_val_leaked_fraction": "seed leak",
                           "memory_ratio": "memory x"},
    "02_contrastive_siamese": {"test_accuracy_no_identical": "acc", "roc_auc": "AUC",
                               "hard_test_accuracy": "hard acc"},
    "03_vgg16_omniglot": {"one_shot_20way_accuracy": "20-way", "siamese_20way_accuracy": "siamese",
                          "nn_baseline_accuracy": "1-NN"},
    "04_plant_disease": {"fewshot_1shot_accuracy": "1-shot", "fewshot_5shot_accuracy": "5-shot",
                         "verification_auc": "AUC"},
    "05_autoencoder_retrieval": {"reconstruction_mse": "MSE", "precision_at_5": "AE P@5",
                                 "contrastive_precision_at_5": "Siamese P@5"},
}
STATUSES = ("ok", "no data", "synthetic", "failed")
TERMINAL_WIDTH = 100
# Kernels inherit this: TensorFlow's C++ start-up log is noise to a student (see runtime.py), and
# so are the debugger's note on frozen modules and the kernel's own start-up warnings.
KERNEL_ENVIRONMENT = {"MPLBACKEND": "module://matplotlib_inline.backend_inline",
                      "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
                      "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]
# Parameters that now share one name across the notebooks; papermill would silently ignore the old ones.
RENAMED = {"TEST_DATA_DIR": "EVAL_DIR", "TEST_DIR": "EVAL_DIR", "VIEW_SIZE": "IMAGE_SIZE",
           "TRAIN_LIMIT": "N_IMAGES", "TEST_LIMIT": "N_EVAL_IMAGES"}


@dataclass
class NotebookResult:
    """What one notebook run produced."""

    notebook: str
    profile: str
    status: str
    seconds: float
    output: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the notebook ran to its end on real data."""
        return self.status == "ok"


def available_notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Return the course notebooks (``NN_name.ipynb``) in ``folder``, in course order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def select_notebooks(names: Sequence[str], folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Return the notebooks named by number (``01``), stem or file name; all when none are named.

    Raises:
        ValueError: a name matches no notebook, or several.
    """
    notebooks = available_notebooks(folder)
    if not names:
        return notebooks
    chosen = []
    for name in names:
        key = Path(name).name.removesuffix(".ipynb")
        matches = [p for p in notebooks if p.stem == key or p.stem.split("_")[0] == key.zfill(2)]
        if len(matches) != 1:
            known = ", ".join(p.stem for p in notebooks)
            raise ValueError(f"unknown notebook {name!r}: choose from {known}" if not matches
                             else f"notebook name {name!r} is ambiguous: {matches}")
        chosen.append(matches[0])
    return chosen


def parse_value(text: str) -> Any:
    """Turn a command-line parameter into a Python value (number, bool, None, tuple) or keep text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _set_environment(values: Mapping[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for the kernels started inside the block."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        _set_environment(values)
        yield
    finally:
        _set_environment(saved)


def failing_cell(executed: Path, error: BaseException) -> str:
    """Describe the cell that failed: its number in the stored notebook, its section and the error.

    ``executed`` is papermill's output copy, which it writes even when a cell fails. Papermill adds
    error banners to that copy and reports the cell's index without them; its injected parameters
    cell is not counted either, so the number matches the notebook a student opens.
    """
    index = getattr(error, "cell_index", None)
    if index is None or not executed.exists():
        return f"{type(error).__name__}: {error}"
    import nbformat

    cells = [c for c in nbformat.read(executed, as_version=4).cells
             if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
    injected = sum(1 for c in cells[:index] if "injected-parameters" in c.metadata.get("tags", []))
    number = index + 1 - injected  # 1-based, as people count
    section = next((line.lstrip("#").strip() for cell in reversed(cells[:index])
                    if cell.cell_type == "markdown"
                    for line in cell.source.splitlines() if line.startswith("#")), "")
    where = f"cell {number}" + (f" in section '{section}'" if section else "")
    return f"{where}: {getattr(error, 'ename', '')}: {getattr(error, 'evalue', '')}".strip()


def check_parameters(parameters: Mapping[str, Any]) -> None:
    """Refuse parameter names the course has renamed, naming the new one."""
    old = sorted(set(parameters) & set(RENAMED))
    if old:
        raise ValueError("; ".join(f"parameter {name} is now called {RENAMED[name]}: pass "
                                   f"-p {RENAMED[name]} instead" for name in old))


def run_notebook(notebook: Path, output_dir: Path, profile: str | None = None,
                 parameters: Mapping[str, Any] | None = None,
                 cell_timeout: int | None = None) -> NotebookResult:
    """Execute one notebook with papermill into ``output_dir``; never raises on notebook errors."""
    import papermill

    output_dir.mkdir(parents=True, exist_ok=True)
    output = output_dir / notebook.name
    metrics_path = output_dir / f"{notebook.stem}.metrics.json"
    metrics_path.unlink(missing_ok=True)
    params = {**(parameters or {}), "METRICS_PATH": str(metrics_path)}
    if profile:
        params["PROFILE"] = profile
    start = time.perf_counter()
    status, error = "ok", ""
    try:
        papermill.execute_notebook(str(notebook), str(output), parameters=params,
                                   cwd=str(notebook.parent), progress_bar=False,
                                   execution_timeout=cell_timeout, kernel_name="python3",
                                   extra_arguments=KERNEL_ARGUMENTS)
    except Exception as exc:  # a failing notebook must not stop the others
        no_data = getattr(exc, "ename", "") == "DataUnavailableError"
        status = "no data" if no_data else "failed"
        error = failing_cell(output, exc)
    seconds = time.perf_counter() - start
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    if status == "ok" and not metrics:
        status, error = "failed", f"the notebook wrote no metrics to {metrics_path}"
    elif status == "ok" and metrics.get("synthetic"):
        status = "synthetic"
        error = ("ran on the synthetic stand-in: its numbers say nothing about real data; "
                 f"sources: {', '.join(_sources(metrics))}")
    return NotebookResult(notebook.stem, metrics.get("profile", profile or "auto"), status, seconds,
                          output, metrics, error)


def _sources(metrics: Mapping[str, Any]) -> list[str]:
    sources = metrics.get("sources", [])
    return list(sources.values()) if isinstance(sources, dict) else list(sources)


def run_course(notebooks: Sequence[Path], output_dir: Path, profile: str | None = None,
               data_dir: str | None = None, parameters: Mapping[str, Any] | None = None,
               offline: bool | None = None, cell_timeout: int | None = None,
               echo=None, mirror: str | None = None) -> list[NotebookResult]:
    """Run notebooks one after the other; ``data_dir`` becomes the kernels' ``COURSE_DATA_DIR``
    and ``mirror`` their ``COURSE_MIRROR``."""
    check_parameters(parameters or {})
    env: dict[str, str | None] = dict(KERNEL_ENVIRONMENT)
    if mirror is not None:
        env["COURSE_MIRROR"] = mirror
    if data_dir is not None:
        env["COURSE_DATA_DIR"] = str(Path(data_dir).expanduser().resolve())
    if offline is not None:
        env["COURSE_OFFLINE"] = "1" if offline else None
    results = []
    with environment(env):
        for notebook in notebooks:
            if echo:
                echo(f"running {notebook.name} ...")
            result = run_notebook(notebook, output_dir, profile, parameters, cell_timeout)
            if echo:
                echo(f"  {result.status} in {result.seconds / 60:.1f} min")
            results.append(result)
    return results


def summary_table(results: Sequence[NotebookResult]):
    """Return one row per run with every headline metric in its own column (for the CSV).

    Metrics of a run that is not ``ok`` are left out: a synthetic run's numbers never sit beside
    real ones (they stay in its own metrics JSON, marked synthetic).
    """
    import pandas as pd

    rows = []
    for r in results:
        row = {"notebook": r.notebook, "profile": r.profile, "status": r.status,
               "minutes": round(r.seconds / 60, 2)}
        for key in HEADLINE.get(r.notebook, {}):
            value = r.metrics.get(key, "") if r.ok else ""
            row[key] = round(value, 4) if isinstance(value, float) else value
        row["error"] = r.error
        rows.append(row)
    return pd.DataFrame(rows).astype(object).fillna("")


def headline(result: NotebookResult) -> str:
    """Return a run's headline metrics as one short text, e.g. ``20-way 0.95 · 1-NN 0.35``."""
    if not result.ok:
        return ""
    parts = []
    for key, label in HEADLINE.get(result.notebook, {}).items():
        value = result.metrics.get(key)
        if isinstance(value, float):
            parts.append(f"{label} {value:.4g}")
        elif value is not None:
            parts.append(f"{label} {value}")
    return " · ".join(parts)


def summary_text(results: Sequence[NotebookResult], width: int = TERMINAL_WIDTH) -> str:
    """Return the summary as a Markdown table that fits ``width`` columns, then what went wrong."""
    import pandas as pd

    table = pd.DataFrame([{"notebook": r.notebook, "profile": r.profile, "status": r.status,
                           "min": f"{r.seconds / 60:.1f}", "headline metrics": headline(r)}
                          for r in results])
    lines = [table.to_markdown(index=False)]
    notes = [r for r in results if r.error]
    if notes:
        lines.append("")
    for r in notes:
        lines.append(textwrap.fill(f"{r.notebook} ({r.status}): {r.error}", width,
                                   subsequent_indent="    ", break_on_hyphens=False))
    return "\n".join(lines)


def write_summary(results: Sequence[NotebookResult], output_dir: Path) -> str:
    """Save the summary as ``summary.csv`` and ``summary.md`` in ``output_dir``; return the text."""
    summary_table(results).to_csv(output_dir / "summary.csv", index=False)
    text = summary_text(results)
    (output_dir / "summary.md").write_text(text + "\n")
    return text


def load_thresholds(path: str | os.PathLike) -> dict[str, dict[str, dict[str, float]]]:
    """Read ``{notebook: {metric: {"min": x, "max": y}}}`` bounds from a TOML file.

    Raises:
        ValueError: the file is missing, not TOML, or a bound is not ``min``/``max`` with a number.
    """
    import tomllib

    try:
        table = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read thresholds {str(path)!r}: {error}") from error
    for notebook, metrics in table.items():
        for metric, bound in metrics.items():
            if not isinstance(bound, dict) or not bound or set(bound) - {"min", "max"} or not all(
                    isinstance(v, (int, float)) for v in bound.values()):
                raise ValueError(f"threshold {notebook}.{metric} in {str(path)!r} must be like "
                                 f"{{ min = 0.9 }} or {{ max = 0.01 }}, got {bound!r}")
    return table


def check_thresholds(results: Sequence[NotebookResult],
                     thresholds: Mapping[str, Mapping[str, Mapping[str, float]]]) -> list[str]:
    """Return one message per headline metric of a finished notebook outside its bounds."""
    failures = []
    for result in results:
        for metric, bound in thresholds.get(result.notebook, {}).items():
            value = result.metrics.get(metric)
            if not result.ok:
                continue
            if not isinstance(value, (int, float)):
                failures.append(f"{result.notebook}: metric {metric} missing from its metrics")
            elif "min" in bound and value < bound["min"]:
                failures.append(f"{result.notebook}: {metric} = {value:.4g} < min {bound['min']}")
            elif "max" in bound and value > bound["max"]:
                failures.append(f"{result.notebook}: {metric} = {value:.4g} > max {bound['max']}")
    return failures


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line interface."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.run",
                                     description="Run course notebooks with papermill.")
    parser.add_argument("notebooks", nargs="*", help="numbers or names (default: all)")
    parser.add_argument("--profile", help="smoke, cpu, gpu, full or auto (default: $COURSE_PROFILE "
                                          "or auto)")
    parser.add_argument("--data-dir", help="data root laid out like shared/data (one folder per "
                                           "dataset); becomes COURSE_DATA_DIR; may be read-only")
    parser.add_argument("--output", default=None, help="folder for executed notebooks, metrics "
                                                       "and the summary (default: runs/<time>)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="notebook parameter, repeatable")
    parser.add_argument("--offline", action="store_true", help="never download (COURSE_OFFLINE=1)")
    parser.add_argument("--mirror", help="base URL or folder laid out as <dataset>/<file>, tried "
                                         "before upstream downloads (becomes COURSE_MIRROR)")
    parser.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell")
    parser.add_argument("--thresholds", help="TOML file of metric bounds; fail when one is missed")
    parser.add_argument("--list", action="store_true", help="list the notebooks and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (1 when any notebook failed)."""
    args = build_parser().parse_args(argv)
    if args.list:
        print("\n".join(p.stem for p in available_notebooks()))
        return 0
    try:
        from .profiles import resolve_profile_name

        if args.profile:
            resolve_profile_name(args.profile, gpus=0)
        notebooks = select_notebooks(args.notebooks)
        if args.data_dir and not Path(args.data_dir).expanduser().is_dir():
            raise ValueError(f"--data-dir {args.data_dir!r} does not exist or is not a folder")
        thresholds = load_thresholds(args.thresholds) if args.thresholds else {}
        check_parameters(dict(args.parameter))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    output = Path(args.output or Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
    parameters = {name: parse_value(value) for name, value in args.parameter}
    results = run_course(notebooks, output, args.profile, args.data_dir, parameters,
                         True if args.offline else None, args.cell_timeout, echo=print,
                         mirror=args.mirror)
    print()
    print(write_summary(results, output))
    print(f"\nexecuted notebooks, metrics and summary in {output}")
    missed = check_thresholds(results, thresholds)
    for message in missed:
        print(f"THRESHOLD MISSED {message}")
    return 0 if all(r.ok for r in results) and not missed else 1


if __name__ == "__main__":
    sys.exit(main())
