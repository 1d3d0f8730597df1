"""Every notebook keeps the course contracts: badges, Colab cell, parameters, stored clean, documented."""

import ast
import re
import urllib.parse
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SLUG = "siamese-course/siamese-course"
COLAB = re.compile(r"\(https://colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/([^/]+)/([^)]+)\)")
BINDER = re.compile(r"\(https://mybinder\.org/v2/gh/([^/]+/[^/]+)/([^?]+)\?labpath=([^)]+)\)")
REQUIRED = {"PROFILE": "auto", "DATA_DIR": None, "METRICS_PATH": None, "SEED": 0}


def read(path: Path):
    return nbformat.read(path, as_version=4)


def parameters(notebook) -> dict:
    """Return the names and default values of the ``parameters``-tagged cell."""
    [cell] = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    values = {}
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign), f"parameters cell holds more than assignments: {cell.source}"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def test_the_course_starts_at_the_overview_and_numbers_its_lessons_without_gaps():
    assert [p.name for p in NOTEBOOKS[:2]] == ["00_overview.ipynb", "01_satellite_pairs.ipynb"]
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(len(NOTEBOOKS))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_badges_point_at_this_notebook(path):
    title = read(path).cells[0]
    assert title.cell_type == "markdown" and title.source.startswith(f"# {path.stem[:2]}. ")
    [(repo, branch, colab_path)] = COLAB.findall(title.source)
    [(binder_repo, binder_branch, labpath)] = BINDER.findall(title.source)
    assert repo == binder_repo == SLUG and branch == binder_branch == "main"
    for target in (colab_path, urllib.parse.unquote(labpath)):
        assert (REPO / target).resolve() == path


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_installs_the_package_only_on_colab(path):
    first = next(c for c in read(path).cells if c.cell_type == "code")
    lines = [l for l in first.source.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    assert lines[:2] == ["import sys", 'if "google.colab" in sys.modules:']
    assert len(lines) == 3 and lines[2].strip().startswith("%pip install")
    assert f"git+https://github.com/{SLUG}" in lines[2]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_has_the_common_contract(path):
    values = parameters(read(path))
    for name, default in REQUIRED.items():
        assert name in values and values[name] == default, f"{name} missing or not {default!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_stored_without_outputs(path):
    for cell in read(path).cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_ends_with_exercises(path):
    markdown = [c.source for c in read(path).cells if c.cell_type == "markdown"]
    assert any("Exercises" in text for text in markdown[-2:])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_instructor_docs_list_every_parameter_with_its_default(path):
    docs = (REPO / "docs" / "instructors.md").read_text()
    section = docs.split(f"### {path.stem}")[1].split("\n### ")[0]
    for name, default in parameters(read(path)).items():
        assert re.search(rf"^\| `{name}` \| `{re.escape(repr(default))}` \|", section, re.M), \
            f"docs/instructors.md: {path.stem} lacks the row for {name} = {default!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_title_cell_gives_time_and_download_size_from_the_profiles(path):
    from course_utils.profiles import what_you_need

    title = " ".join(read(path).cells[0].source.split())
    assert what_you_need(path.stem) in title, \
        f"{path.name}: the title cell's 'What you need' must read: {what_you_need(path.stem)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_setup_cell_silences_tensorflow_before_anything_loads_it(path):
    setup = [c for c in read(path).cells if c.cell_type == "code"][1].source
    statements = [line for line in setup.splitlines() if line.strip() and not line.startswith("#")]
    assert statements[0] == "from course_utils.runtime import quiet_tensorflow"
    assert statements[1].startswith("quiet_tensorflow()")
