"""The course runner: papermill execution, failing cells named, summary table, command line."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_utils import run

WRITE_METRICS = """
from course_utils.metrics import write_metrics
write_metrics(METRICS_PATH, {"answer": ANSWER * 2}, notebook=NAME, profile=PROFILE, sources="test")
"""


def make_notebook(folder, name, body):
    parameters = new_code_cell(f'PROFILE = "auto"\nMETRICS_PATH = None\nANSWER = 1\nNAME = "{name}"')
    parameters.metadata["tags"] = ["parameters"]
    notebook = new_notebook(cells=[new_markdown_cell(f"# {name}"), parameters, *body],
                            metadata={"kernelspec": {"name": "python3", "language": "python",
                                                     "display_name": "Python 3"}})
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


NO_DATA = """
from course_utils.datasets import DataUnavailableError
raise DataUnavailableError("no tiles here: set DATA_DIR, COURSE_DATA_DIR or COURSE_MIRROR")
"""
SYNTHETIC = """
from course_utils.metrics import write_metrics
write_metrics(METRICS_PATH, {"acc": 0.5}, notebook=NAME, profile=PROFILE, sources="stand-in",
              synthetic=True)
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notebooks")
    good = make_notebook(folder, "01_good", [new_code_cell(WRITE_METRICS)])
    bad = make_notebook(folder, "02_bad", [new_markdown_cell("## 1. Load"),
                                           new_code_cell("x = 1"),
                                           new_markdown_cell("## 2. Train the model"),
                                           new_code_cell("raise RuntimeError('loss is NaN')")])
    silent = make_notebook(folder, "03_silent", [new_code_cell("x = 1")])
    no_data = make_notebook(folder, "04_no_data", [new_markdown_cell("## 1. Load the tiles"),
                                                   new_code_cell(NO_DATA)])
    synthetic = make_notebook(folder, "05_synthetic", [new_code_cell(SYNTHETIC)])
    output = tmp_path_factory.mktemp("runs")
    results = run.run_course([good, bad, silent, no_data, synthetic], output, "smoke",
                             parameters={"ANSWER": 21}, offline=True)
    return folder, output, results


def test_parameters_and_profile_reach_the_notebook(course):
    _, output, results = course
    good = results[0]
    assert good.ok and good.metrics["answer"] == 42 and good.profile == "smoke"
    assert (output / "01_good.ipynb").exists()
    assert json.loads((output / "01_good.metrics.json").read_text())["answer"] == 42


def test_each_notebook_ends_in_one_status_and_the_others_still_run(course):
    _, _, results = course
    assert [r.status for r in results] == ["ok", "failed", "failed", "no data", "synthetic"]


def test_a_failing_cell_is_named_by_its_stored_number_and_its_own_section(course):
    error = course[2][1].error
    assert error.startswith("cell 6 in section '2. Train the model': ")  # the sixth cell as stored
    assert "RuntimeError: loss is NaN" in error


def test_a_notebook_that_stops_for_want_of_data_says_no_data_and_names_the_fix(course):
    error = course[2][3].error
    assert "section '1. Load the tiles'" in error and "COURSE_MIRROR" in error


def test_a_synthetic_run_keeps_its_metrics_out_of_the_summary(course):
    synthetic = course[2][4]
    assert synthetic.metrics["acc"] == 0.5 and "synthetic stand-in" in synthetic.error
    assert run.headline(synthetic) == ""


def test_a_notebook_that_writes_no_metrics_fails(course):
    _, _, results = course
    assert "wrote no metrics" in results[2].error


def test_summary_fits_a_terminal_and_lists_errors_below_the_table(course):
    _, output, results = course
    text = run.write_summary(results, output)
    assert (output / "summary.csv").exists() and (output / "summary.md").read_text().strip() == text
    assert max(len(line) for line in text.splitlines()) <= run.TERMINAL_WIDTH
    table, _, notes = text.partition("\n\n")
    assert "02_bad" in table and "failed" in table and "loss is NaN" not in table
    assert "02_bad (failed): cell 6" in notes and "loss is NaN" in notes


def test_headline_metrics_appear_in_the_summary(tmp_path):
    result = run.NotebookResult("02_contrastive_siamese", "cpu", "ok", 90.0, tmp_path,
                                {"test_accuracy_no_identical": 0.991234, "roc_auc": 0.9999})
    row = run.summary_table([result]).iloc[0]
    assert row["minutes"] == 1.5 and row["test_accuracy_no_identical"] == 0.9912
    assert run.headline(result) == "acc 0.9912 · AUC 0.9999"


def test_a_notebook_without_accuracy_metrics_has_its_own_headline(tmp_path):
    overview = run.NotebookResult("00_overview", "smoke", "ok", 12.0, tmp_path,
                                  {"n_gpus": 0, "n_datasets_ready": 4, "download_mb": 0.0})
    assert run.headline(overview) == "GPUs 0 · data ready 4 · download MB 0"
    row = run.summary_table([overview]).iloc[0]
    assert row["n_gpus"] == 0 and row["download_mb"] == 0.0
    unknown = run.NotebookResult("07_new", "smoke", "ok", 1.0, tmp_path, {"anything": 1})
    assert run.headline(unknown) == ""
    text = run.summary_text([overview, unknown])
    assert "00_overview" in text
    assert max(len(line) for line in text.splitlines()) <= run.TERMINAL_WIDTH


def test_notebook_selection_by_number_and_name():
    names = [p.stem for p in run.available_notebooks()]
    assert names == sorted(names) and names[:2] == ["00_overview", "01_satellite_pairs"]
    assert run.select_notebooks(["0"])[0].stem == "00_overview"
    assert run.select_notebooks(["1"])[0].stem == "01_satellite_pairs"
    assert run.select_notebooks(["01_satellite_pairs.ipynb"])[0].stem == "01_satellite_pairs"
    with pytest.raises(ValueError, match="unknown notebook '42'"):
        run.select_notebooks(["42"])


@pytest.mark.parametrize("text, value", [("5", 5), ("0.5", 0.5), ("None", None), ("True", True),
                                         ("(1, 5)", (1, 5)), ("/srv/data", "/srv/data"),
                                         ("imagenet", "imagenet")])
def test_parameter_values_are_parsed(text, value):
    assert run.parse_value(text) == value


@pytest.mark.parametrize("argv, message", [
    (["--profile", "turbo"], "unknown profile 'turbo'"),
    (["99"], "unknown notebook '99'"),
    (["--data-dir", "/no/such/dir"], "does not exist"),
    (["05", "-p", "TEST_DIR", "/srv/queries"], "parameter TEST_DIR is now called EVAL_DIR: pass -p EVAL_DIR"),
])
def test_bad_command_lines_exit_2_with_a_clear_message(argv, message, capsys):
    assert run.main(argv) == 2
    assert message in capsys.readouterr().err


def test_list_prints_the_notebooks(capsys):
    assert run.main(["--list"]) == 0
    assert "01_satellite_pairs" in capsys.readouterr().out


def test_environment_is_restored(monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    with run.environment({"COURSE_OFFLINE": None, "COURSE_DATA_DIR": "/x"}):
        import os
        assert "COURSE_OFFLINE" not in os.environ and os.environ["COURSE_DATA_DIR"] == "/x"
    import os
    assert os.environ["COURSE_OFFLINE"] == "0"


def test_thresholds_flag_metrics_out_of_bounds(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('["02_x"]\nacc = { min = 0.9 }\nmse = { max = 0.01 }\ngone = { min = 0 }\n')
    thresholds = run.load_thresholds(path)
    good = run.NotebookResult("02_x", "full", "ok", 1.0, tmp_path, {"acc": 0.95, "mse": 0.005, "gone": 1})
    bad = run.NotebookResult("02_x", "full", "ok", 1.0, tmp_path, {"acc": 0.5, "mse": 0.02})
    assert run.check_thresholds([good], thresholds) == []
    assert run.check_thresholds([bad], thresholds) == [
        "02_x: acc = 0.5 < min 0.9", "02_x: mse = 0.02 > max 0.01",
        "02_x: metric gone missing from its metrics"]


def test_malformed_thresholds_are_refused(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('["02_x"]\nacc = 0.9\n')
    with pytest.raises(ValueError, match=r"02_x.acc .* must be like"):
        run.load_thresholds(path)
    assert run.main(["--thresholds", str(tmp_path / "none.toml")]) == 2


def test_the_gpu_thresholds_file_names_real_headline_metrics():
    from pathlib import Path

    thresholds = run.load_thresholds(Path(run.__file__).parents[1] / ".github" / "full-thresholds.toml")
    assert set(thresholds) == set(run.HEADLINE)
