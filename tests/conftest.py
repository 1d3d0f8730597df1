"""Shared fixtures: where the real-format data slices live, and running notebooks once per session."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
NOTEBOOK_RUNS = Path(os.environ.get("COURSE_TEST_RUNS", REPO / "build" / "notebook-runs"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-format data slices (../shared/data); skip when they are not beside the repo."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-format data slices not found at {SHARED_DATA} (../shared/data "
                    f"beside the repository)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def run_notebook(shared_data: Path):
    """Execute a notebook under ``smoke`` on the shared data, offline, once per session.

    ``run_notebook("01_satellite_pairs", SEED=1)`` returns a ``NotebookResult`` whose ``metrics``
    came from the METRICS_PATH the notebook wrote and whose ``output`` is the executed copy (left
    in build/notebook-runs for nbval-lax and for people to look at).
    """
    from course_utils.run import NOTEBOOKS_DIR, run_course

    cache: dict = {}

    def run(name: str, **parameters):
        key = (name, tuple(sorted(parameters.items())))
        if key not in cache:
            suffix = "-".join(f"{k}={v}" for k, v in sorted(parameters.items()))
            output = NOTEBOOK_RUNS / (f"{name}-{suffix}" if suffix else "")
            [result] = run_course([NOTEBOOKS_DIR / f"{name}.ipynb"], output, "smoke",
                                  str(shared_data), parameters, offline=True)
            cache[key] = result
        result = cache[key]
        assert result.ok, f"{name} failed under smoke: {result.error}"
        return result

    return run


def notebook_namespace(name: str, tag: str = "teach") -> dict:
    """Execute the code cells tagged ``tag`` of a notebook and return their namespace.

    Teaching code (layers, losses, models) lives in the notebooks where students read it; tagging
    those cells lets the tests import exactly what students see instead of a copy.
    """
    import nbformat

    from course_utils.run import NOTEBOOKS_DIR

    notebook = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    cells = [c for c in notebook.cells
             if c.cell_type == "code" and tag in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise LookupError(f"{name}.ipynb has no code cells tagged {tag!r}")
    namespace: dict = {"__name__": f"notebook_{name}"}
    for cell in cells:
        exec(compile(cell.source, f"{name}.ipynb[{tag}]", "exec"), namespace)
    return namespace


def code_outputs(notebook_path) -> list[dict]:
    """Return every output of the code cells of an executed notebook, in order."""
    import nbformat

    executed = nbformat.read(notebook_path, as_version=4)
    return [out for cell in executed.cells if cell.cell_type == "code" for out in cell.outputs]


def count_plots(notebook_path) -> int:
    """Return how many PNG images (plots) an executed notebook shows."""
    return sum("image/png" in out.get("data", {}) for out in code_outputs(notebook_path))


def glyph(k: int, size: int = 105):
    """A white image with a dark bar whose position encodes ``k`` (a stand-in drawing)."""
    import numpy as np

    image = np.full((size, size), 255, np.uint8)
    image[5 * k:5 * k + 4, 10:90] = 0
    return image
