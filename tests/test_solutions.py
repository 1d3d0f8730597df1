"""Every exercise of every lesson has a worked solution that runs under smoke and passes its checks."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from conftest import NOTEBOOK_RUNS, code_outputs

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted(p for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb") if p.name[:2] != "00")
SOLUTIONS = REPO / "notebooks" / "solutions"
ITEM = re.compile(r"^(\d+)\. ", re.M)


def solutions_of(lesson: Path) -> Path:
    return SOLUTIONS / f"{lesson.stem}_solutions.ipynb"


def exercises(lesson: Path) -> tuple[str, list[int]]:
    """Return the lesson's exercises cell and the numbers of its exercises."""
    [cell] = [c for c in nbformat.read(lesson, as_version=4).cells
              if c.cell_type == "markdown" and "## Exercises" in c.source]
    return cell.source, [int(n) for n in ITEM.findall(cell.source.split("## Exercises", 1)[1])]


def headings(solutions: Path) -> list[int]:
    cells = nbformat.read(solutions, as_version=4).cells
    return [int(m) for c in cells if c.cell_type == "markdown"
            for m in re.findall(r"^## Exercise (\d+)\b", c.source, re.M)]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem[:2])
def test_every_exercise_has_a_solution_heading_and_the_lesson_links_to_it(lesson):
    text, numbers = exercises(lesson)
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 3
    assert solutions_of(lesson).exists(), f"no worked solutions for {lesson.name}"
    assert headings(solutions_of(lesson)) == numbers
    assert f"solutions/{solutions_of(lesson).name}" in text


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem[:2])
def test_checked_exercises_show_the_call_in_the_lesson(lesson):
    from course_utils.checks import CHECKS

    text, _ = exercises(lesson)
    for name in (n for n in CHECKS if n.startswith(lesson.stem[:2])):
        assert f'check("{name}"' in text, f"exercise {name} has a self-check the lesson does not show"


@pytest.mark.notebook
@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem[:2])
def test_solutions_run_under_smoke_and_pass_their_checks(lesson, shared_data):
    from course_utils.checks import CHECKS
    from course_utils.run import run_course

    [result] = run_course([solutions_of(lesson)], NOTEBOOK_RUNS / "solutions", "smoke",
                          str(shared_data), offline=True)
    assert result.ok, f"{solutions_of(lesson).name} failed under smoke: {result.error}"
    shown = "\n".join(str(o.get("data", {}).get("text/plain", "")) + o.get("text", "")
                      for o in code_outputs(result.output))
    assert "✗ not yet" not in shown
    for name in (n for n in CHECKS if n.startswith(lesson.stem[:2])):
        assert f"✓ right (exercise {name})" in shown, f"the solution to {name} does not pass its check"


SOLUTION_FILES = sorted(SOLUTIONS.glob("*.ipynb"))


@pytest.mark.parametrize("path", SOLUTION_FILES, ids=lambda p: p.stem[:2])
def test_solutions_keep_the_notebook_contracts(path):
    import urllib.parse

    from test_notebooks import BINDER, COLAB, REQUIRED, parameters

    notebook = nbformat.read(path, as_version=4)
    title = notebook.cells[0].source
    assert title.startswith(f"# Solutions: {path.stem[:2]}. ") and f"(../{path.stem[:-10]}.ipynb)" in title
    [(_, _, colab_path)] = COLAB.findall(title)
    [(_, _, labpath)] = BINDER.findall(title)
    for target in (colab_path, urllib.parse.unquote(labpath)):
        assert (REPO / target).resolve() == path
    values = parameters(notebook)
    assert all(values.get(name, "missing") == default for name, default in REQUIRED.items())
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
