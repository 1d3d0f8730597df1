"""The course map: lessons, what each builds on, study hours, and the tables built from them."""

import matplotlib

matplotlib.use("Agg")

import nbformat
import pytest

from course_utils import diagrams, profiles, syllabus
from course_utils.run import NOTEBOOKS_DIR, available_notebooks

STEMS = [lesson.stem for lesson in syllabus.LESSONS]


def test_every_lesson_notebook_is_listed_once_and_exists():
    on_disk = [p.stem for p in available_notebooks() if p.stem != syllabus.OVERVIEW]
    assert STEMS == on_disk
    assert (NOTEBOOKS_DIR / f"{syllabus.OVERVIEW}.ipynb").exists()


@pytest.mark.parametrize("lesson", syllabus.LESSONS, ids=lambda lesson: lesson.number)
def test_each_title_matches_the_notebooks_title_cell(lesson):
    title = nbformat.read(NOTEBOOKS_DIR / lesson.file, as_version=4).cells[0].source
    assert title.splitlines()[0] == f"# {lesson.number}. {lesson.title}"


@pytest.mark.parametrize("lesson", syllabus.LESSONS, ids=lambda lesson: lesson.number)
def test_prerequisites_are_earlier_lessons(lesson):
    earlier = STEMS[:STEMS.index(lesson.stem)]
    assert set(lesson.builds_on) <= set(earlier) and set(lesson.background) <= set(earlier)
    assert not set(lesson.builds_on) & set(lesson.background)
    assert 0 < lesson.study_hours <= 8


def test_the_path_is_01_then_02_then_03_04_05_on_02():
    needs = {lesson.number: {stem[:2] for stem in lesson.builds_on} for lesson in syllabus.LESSONS}
    assert needs == {"01": set(), "02": {"01"}, "03": {"02"}, "04": {"02"}, "05": {"02"}}
    assert syllabus.depth("03") == syllabus.depth("04") == 2  # independent of each other


def test_lesson_lookup_by_number_or_stem_and_a_clear_error():
    assert syllabus.lesson("02") is syllabus.lesson("02_contrastive_siamese")
    with pytest.raises(ValueError, match="unknown lesson '09': choose from 01_satellite_pairs"):
        syllabus.lesson("09")


def test_time_table_takes_compute_times_from_the_profiles():
    table = syllabus.time_table()
    assert list(table.index) == [lesson.number for lesson in syllabus.LESSONS] + ["all"]
    for lesson in syllabus.LESSONS:
        for name in profiles.CONCRETE_PROFILES:
            column = f"{name}{profiles.MACHINES[name]}"
            assert table.loc[lesson.number, column] == profiles.budget(lesson.stem, name)
            assert profiles.budget(lesson.stem, name) in profiles.what_you_need(lesson.stem)
    total = sum(lesson.study_hours for lesson in syllabus.LESSONS)
    assert table.loc["all", "study (hours)"] == f"{total:g}"


def test_path_table_names_what_to_read_first_and_the_data():
    table = syllabus.path_table()
    assert table.loc["01", "builds on (read first)"] == "-"
    assert table.loc["05", "builds on (read first)"] == "02"
    assert table.loc["05", "useful background"] == "03, 04"
    assert table.loc["04", "data"] == "plantvillage"


def test_learning_path_draws_every_lesson_and_the_legend():
    fig = diagrams.learning_path(syllabus.LESSONS)
    shown = " ".join(t.get_text().replace("\n", " ") for ax in fig.axes for t in ax.texts)
    for lesson in syllabus.LESSONS:
        assert f"{lesson.number} {lesson.short}" in shown
    assert "builds on" in shown and "useful background" in shown
