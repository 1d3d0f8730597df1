"""The course map: each lesson notebook's title, the lessons it builds on and its study time.

Study hours are a planning estimate, not a measurement: reading a notebook, running it at ``cpu``
while reading, and trying its exercises. Compute time is not kept here: it comes from the profiles
(:func:`course_utils.profiles.budget`), the one source of the title cells' times too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

OVERVIEW = "00_overview"


@dataclass(frozen=True)
class Lesson:
    """One lesson notebook: its file stem, titles, the lessons it builds on, its study time."""

    stem: str
    title: str  # as the notebook's title cell reads, after "# NN. "
    short: str  # a few words, for pictures and tables
    builds_on: tuple[str, ...]  # lessons whose ideas it uses: read them first
    background: tuple[str, ...]  # lessons that help but are not needed
    study_hours: float

    @property
    def number(self) -> str:
        """Return the two-digit number (``"02"``)."""
        return self.stem[:2]

    @property
    def file(self) -> str:
        """Return the notebook's file name."""
        return f"{self.stem}.ipynb"


LESSONS: tuple[Lesson, ...] = (
    Lesson("01_satellite_pairs", "Satellite pair making", "Satellite pairs",
           (), (), 1.5),
    Lesson("02_contrastive_siamese", "The contrastive Siamese network, measured on unseen tiles",
           "Contrastive Siamese", ("01_satellite_pairs",), (), 3.0),
    Lesson("03_vgg16_omniglot",
           "A VGG16 Siamese network on Omniglot, judged by 20-way one-shot classification",
           "VGG16 Siamese, Omniglot", ("02_contrastive_siamese",), (), 3.0),
    Lesson("04_plant_disease", "Plant disease with few examples: contrastive vs triplet loss",
           "Plant disease, few-shot", ("02_contrastive_siamese",), (), 3.0),
    Lesson("05_autoencoder_retrieval", "Autoencoder codes for image retrieval",
           "Autoencoder retrieval", ("02_contrastive_siamese",),
           ("03_vgg16_omniglot", "04_plant_disease"), 2.5),
)


def lesson(key: str, lessons: Sequence[Lesson] = LESSONS) -> Lesson:
    """Return the lesson named by its number (``"02"``) or stem.

    Raises:
        ValueError: no lesson has that number or stem.
    """
    for entry in lessons:
        if key in (entry.stem, entry.number):
            return entry
    raise ValueError(f"unknown lesson {key!r}: choose from {', '.join(e.stem for e in lessons)}")


def depth(key: str, lessons: Sequence[Lesson] = LESSONS) -> int:
    """Return how many lessons precede ``key`` on its longest path (01: 0), background included.

    Raises:
        ValueError: ``key``, or a lesson it builds on, is not among ``lessons``.
    """
    entry = lesson(key, lessons)
    earlier = entry.builds_on + entry.background
    return 1 + max((depth(stem, lessons) for stem in earlier), default=-1)


def path_table(lessons: Sequence[Lesson] = LESSONS):
    """Return the learning path as a pandas table: each lesson, what to read first, its data."""
    import pandas as pd

    from .datasets.sources import NOTEBOOK_DATASETS

    def numbers(stems: tuple[str, ...]) -> str:
        return ", ".join(stem[:2] for stem in stems) or "-"

    rows = [{"notebook": e.number, "title": e.title, "builds on (read first)": numbers(e.builds_on),
             "useful background": numbers(e.background), "data": NOTEBOOK_DATASETS[e.stem]}
            for e in lessons]
    return pd.DataFrame(rows).set_index("notebook")


def time_table(lessons: Sequence[Lesson] = LESSONS):
    """Return study hours and each profile's compute budget per lesson, with a course total row."""
    import pandas as pd

    from .profiles import CONCRETE_PROFILES, MACHINES, SETTINGS, budget, format_minutes

    columns = {p: f"{p}{MACHINES[p]}" for p in CONCRETE_PROFILES}
    rows = [{"notebook": e.number, "study (hours)": f"{e.study_hours:g}",
             **{columns[p]: budget(e.stem, p) for p in CONCRETE_PROFILES}} for e in lessons]
    rows.append({"notebook": "all", "study (hours)": f"{sum(e.study_hours for e in lessons):g}",
                 **{columns[p]: format_minutes(sum(SETTINGS[e.stem][p]["minutes"] for e in lessons))
                    for p in CONCRETE_PROFILES}})
    return pd.DataFrame(rows).set_index("notebook")
