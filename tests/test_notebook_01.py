"""Notebook 01 executed under smoke on the shared AID slice, and its metrics checked."""

from conftest import count_plots
import pytest

pytestmark = pytest.mark.notebook

NAME = "01_satellite_pairs"


def test_notebook_01_runs_and_reports_its_numbers(run_notebook):
    result = run_notebook(NAME)
    m = result.metrics
    assert m["notebook"] == NAME and m["profile"] == "smoke"
    assert any("satellite" in source for source in m["sources"].values())
    assert m["n_tiles"] == 60 and m["n_views"] == 3 * m["n_tiles"]
    assert m["train_pairs"] > m["val_pairs"] > 0 and m["test_pairs"] > 0
    # (i, i) always, and random.choice(range(i, i + 3)) gives i again a third of the time: 4/9
    assert m["seed_identical_fraction"] == pytest.approx(4 / 9, abs=0.05)
    # range(i, i + 3) runs into the next tile unless i opens its triplet: 1/3 of a third of the pairs
    assert m["seed_wrong_positive_fraction"] == pytest.approx(1 / 9, abs=0.05)
    assert m["seed_val_leaked_fraction"] > 0.8  # the seed's ordered split leaks through its negatives
    assert m["val_leaked_fraction"] == 0 and m["test_leaked_fraction"] == 0
    assert m["memory_ratio"] > 1 and m["speedup"] > 0


def test_notebook_01_shows_pictures(run_notebook):
    output = run_notebook(NAME).output
    images = count_plots(output)
    assert images >= 5


def test_notebook_01_on_an_instructors_own_flat_folder_of_tiles(tmp_path, shared_data):
    from course_utils.run import NOTEBOOKS_DIR, run_course

    tiles = tmp_path / "my_tiles"
    tiles.mkdir()
    for path in sorted((shared_data / "satellite" / "AID").glob("*/*.jpg"))[::20]:
        (tiles / path.name).symlink_to(path)
    [result] = run_course([NOTEBOOKS_DIR / f"{NAME}.ipynb"], tmp_path / "run", "smoke",
                          parameters={"DATA_DIR": str(tiles)}, offline=True)
    assert result.ok, result.error
    assert result.metrics["n_tiles"] == 30
    assert str(tiles) in result.metrics["sources"]["tiles"]
