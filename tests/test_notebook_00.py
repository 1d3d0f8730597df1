"""Notebook 00 (the overview) executed under smoke on the shared data, and what it found checked."""

import re

import nbformat
import pytest
from conftest import code_outputs, count_plots

from course_utils import syllabus
from course_utils.datasets.sources import DATASETS
from course_utils.run import NOTEBOOKS_DIR, headline, run_course

NAME = "00_overview"
VERSIONS = ("python", "tensorflow", "keras", "numpy")


def markdown() -> str:
    notebook = nbformat.read(NOTEBOOKS_DIR / f"{NAME}.ipynb", as_version=4)
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


@pytest.mark.notebook
def test_notebook_00_reports_versions_backend_gpus_and_every_dataset(run_notebook, shared_data):
    result = run_notebook(NAME)
    m = result.metrics
    assert m["notebook"] == NAME and m["profile"] == "smoke"
    assert all(isinstance(m[key], str) and m[key][0].isdigit() for key in VERSIONS)
    assert m["backend"] and m["n_gpus"] == len(m["gpus"])
    assert m["datasets"] == {name: "local" for name in DATASETS}  # all four are in shared/data
    assert m["n_datasets_ready"] == len(DATASETS) and m["download_mb"] == 0
    assert m["sources"]["cifar10"] == str(shared_data.resolve() / "cifar10")
    assert m["free_disk_mb"] > 0 and m["offline"] is True
    assert headline(result).startswith(f"GPUs {m['n_gpus']} · data ready {len(DATASETS)}")


@pytest.mark.notebook
def test_notebook_00_draws_the_path_and_shows_its_tables(run_notebook):
    output = run_notebook(NAME).output
    assert count_plots(output) == 1
    shown = " ".join(str(out.get("data", {}).get("text/html", "")) for out in code_outputs(output))
    for lesson in syllabus.LESSONS:
        assert lesson.title in shown
    assert "free disk" in shown and "Keras backend" in shown


@pytest.mark.notebook
def test_notebook_00_with_no_data_and_offline_names_each_missing_dataset(tmp_path, monkeypatch):
    for name in ("COURSE_DATA_DIR", "COURSE_MIRROR", "COURSE_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "empty-cache"))
    [result] = run_course([NOTEBOOKS_DIR / f"{NAME}.ipynb"], tmp_path / "run", "smoke",
                          offline=True)
    assert result.ok, result.error
    assert result.metrics["datasets"] == {name: "offline" for name in DATASETS}
    assert result.metrics["n_datasets_ready"] == 0 and result.seconds < 120
    printed = result.output.read_text()
    for name in DATASETS:
        assert f"{name} is neither local nor cached and COURSE_OFFLINE=1" in printed


def test_notebook_00_links_every_lesson():
    text = markdown()
    for lesson in syllabus.LESSONS:
        assert f"]({lesson.file})" in text, f"notebook 00 does not link {lesson.file}"


GLOSSARY = ("tower", "embedding", "distance", "margin", "contrastive loss", "triplet loss",
            "mining", "verification vs N-way K-shot", "prototype", "one-shot run",
            "test-time augmentation", "precision@k and mAP", "LSH and HNSW")


def test_glossary_names_the_notebook_that_teaches_each_term():
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| \*\*(.+?)\*\* \|.*\| (.+) \|$",
                                                        markdown(), re.M)}
    assert set(GLOSSARY) <= set(rows), set(GLOSSARY) - set(rows)
    for term in GLOSSARY:
        linked = re.findall(r"\]\((\d\d_\w+\.ipynb)\)", rows[term])
        assert linked, f"glossary term {term!r} names no notebook"
        assert all((NOTEBOOKS_DIR / name).exists() for name in linked), (term, linked)


def test_prerequisites_link_python_numpy_and_keras_basics():
    text = markdown()
    for url in ("https://docs.python.org/3/tutorial/",
                "https://numpy.org/doc/stable/user/absolute_beginners.html",
                "https://keras.io/getting_started/intro_to_keras_for_engineers/"):
        assert f"({url})" in text
