"""The benchmarks still run and print what their docstrings promise (tiny sizes, no timing asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ann_benchmark_prints_recall_and_speedups_as_one_json_line():
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ann_retrieval.py"), "--database", "3000",
         "--queries", "40", "--validation", "40", "--m", "8", "--repeats", "1"],
        capture_output=True, text=True, cwd=ROOT, check=True, timeout=300)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["database"] == 3000 and result["queries"] == 40 and result["m"] == 8
    assert 0.0 <= result["recall_at_10"] <= 1.0
    assert result["ef"] >= 10
    for key in ("speedup", "batch_speedup", "numpy_per_query_speedup"):
        assert result[key] > 0
    assert result["speedup"] == result["exact_seconds"] / result["ann_seconds"]


def test_ann_benchmark_rejects_too_few_real_codes(tmp_path):
    codes = tmp_path / "codes.npy"
    np.save(codes, np.zeros((100, 32), np.float32))
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ann_retrieval.py"), "--codes", str(codes)],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert completed.returncode != 0
    assert "need a 2-D array with at least" in completed.stderr


def heldout(shared_data, output, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "omniglot_heldout.py"), "--data-dir",
         str(shared_data / "omniglot"), "--profile", "smoke", "--output", str(output), *args],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env={**os.environ, "COURSE_OFFLINE": "1"})


def test_omniglot_heldout_trains_without_the_alphabet_on_the_sets_given_and_scores_its_runs(
        shared_data, tmp_path):
    output = tmp_path / "heldout.json"
    completed = heldout(shared_data, output, "--background", "images_background_small2",
                        "--alphabets", "Latin", "--runs", "2", "--width", "0.0625")
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert json.loads(output.read_text()) == result  # the file on record is what was printed
    assert result["commit"] and result["date"]
    fold = result["folds"]["Latin"]
    assert list(result["folds"]) == ["Latin"] and result["profile"] == "smoke"
    assert result["width"] == 0.0625 and result["epochs"] == 1  # what was trained is on record
    assert fold["trials"] == result["trials"] == 2 * 20
    assert "images_background_small2" in result["source"]
    assert "images_background_small1" not in result["source"]
    # small2's Greek, Katakana, Latin, Sanskrit and Tagalog, without Latin's 26
    assert fold["train_characters"] == 24 + 47 + 42 + 17
    for key in ("cosine", "cosine_tta", "turned", "siamese_unturned", "siamese"):
        assert result[key] == fold[key]
        assert 0.0 <= fold[key] <= 1.0
        assert fold[key] * 40 == round(fold[key] * 40)  # a fraction of the 40 trials
    assert "held out Latin: cosine" in completed.stdout


def test_omniglot_heldout_names_the_usable_alphabets_for_one_it_cannot_hold_out(shared_data, tmp_path):
    completed = heldout(shared_data, tmp_path / "h.json", "--alphabets", "Tagalog")  # 17 characters: no 20-way run
    assert completed.returncode != 0
    assert "cannot hold out Tagalog" in completed.stderr and "Korean" in completed.stderr


def test_omniglot_heldout_refuses_a_width_that_is_no_tower(shared_data, tmp_path):
    completed = heldout(shared_data, tmp_path / "h.json", "--width", "0")
    assert completed.returncode != 0
    assert "width must be a number above 0" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_omniglot_heldout_names_an_unknown_background_set(shared_data, tmp_path):
    completed = heldout(shared_data, tmp_path / "h.json", "--background", "images_backround_small1")
    assert completed.returncode != 0
    assert "unknown Omniglot set(s) 'images_backround_small1'" in completed.stderr
    assert "Traceback" not in completed.stderr


def plant_seeds(*args):
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "plant_seeds.py"), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=900,
                          env={**os.environ, "COURSE_OFFLINE": "1"})


def test_plant_seeds_runs_the_notebook_per_seed_on_a_held_out_split(shared_data, tmp_path):
    output, work = tmp_path / "spread.json", tmp_path / "work"
    # An earlier run of the same setting, measured at another commit: this seed joins it.
    earlier = {"split": 0, "seed": 0, "status": "ok", "minutes": 1.0, "best_model": "triplet",
               "error": "", "metrics": {"fewshot_1shot_accuracy": 0.5, "fewshot_5shot_accuracy": 0.6,
                                        "verification_auc": 0.7}}
    output.write_text(json.dumps({
        "benchmark": "plant_seeds", "profile": "smoke", "held_out": 1 / 3, "eval_dir": None,
        "data_dir": str((shared_data / "plantvillage").resolve()), "commit": "abc1234",
        "date": "2026-01-01", "runs": [earlier]}))
    completed = plant_seeds("--data-dir", str(shared_data / "plantvillage"), "--profile", "smoke",
                            "--splits", "1", "--output", str(output), "--work-dir", str(work),
                            "--seeds", "1", "--append")
    assert completed.returncode == 0, completed.stderr[-2000:]
    record = json.loads(output.read_text())
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == record
    assert record["profile"] == "smoke" and record["date"] and record["commit"] != "abc1234"
    assert [(run["split"], run["seed"], run["status"]) for run in record["runs"]] == [(0, 0, "ok"), (0, 1, "ok")]
    assert [run["commit"] for run in record["runs"]] == ["abc1234", record["commit"]]
    assert record["runs"][0]["date"] == "2026-01-01" and record["runs"][1]["date"] == record["date"]
    for key in ("fewshot_1shot_accuracy", "fewshot_5shot_accuracy", "verification_auc"):
        values = [run["metrics"][key] for run in record["runs"]]
        spread = record["spread"][key]
        assert spread["runs"] == 2 and spread["min"] == min(values) and spread["max"] == max(values)
        assert spread["mean"] == np.mean(values)
        assert f"{key}: mean {spread['mean']:.3f}" in completed.stdout
    # a third of each class held out, never trained on: 60 images -> 40 to train, 20 to score
    for folder in (shared_data / "plantvillage" / "segmented").iterdir():
        train = {p.name for p in (work / "split0" / "train" / "segmented" / folder.name).iterdir()}
        heldout = {p.name for p in (work / "split0" / "heldout" / "segmented" / folder.name).iterdir()}
        assert len(train) == 40 and len(heldout) == 20 and not train & heldout


def test_plant_seeds_appends_only_to_runs_of_the_same_setting(tmp_path):
    output = tmp_path / "spread.json"
    output.write_text(json.dumps({"benchmark": "plant_seeds", "profile": "cpu", "held_out": 0.25,
                                  "data_dir": str(tmp_path), "eval_dir": None, "runs": []}))
    completed = plant_seeds("--data-dir", str(tmp_path), "--output", str(output), "--append")
    assert completed.returncode != 0
    assert "holds runs of another setting ({'held_out': 0.25})" in completed.stderr


def test_plant_seeds_refuses_a_held_out_fraction_outside_zero_to_one(tmp_path):
    completed = plant_seeds("--data-dir", str(tmp_path), "--held-out", "1.5")
    assert completed.returncode != 0
    assert "--held-out must lie between 0 and 1" in completed.stderr


def test_gpu_budget_estimates_a_notebook_from_a_finished_run_of_the_base_profile(
        run_notebook, shared_data, tmp_path):
    from course_utils.profiles import SETTINGS

    name = "05_autoencoder_retrieval"
    run = Path(run_notebook(name).output).parent  # the session's smoke run and its metrics
    output = tmp_path / "budget.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_budget.py"), "--base", "smoke",
         "--notebooks", name, "--reuse", str(run), "--data-dir", str(shared_data),
         "--output", str(output)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads(output.read_text())
    assert record == json.loads(done.stdout.strip().splitlines()[-1])
    assert record["base"] == "smoke" and record["target"] == "gpu" and record["cpu_flops"] > 1e9
    row = record["notebooks"][name]
    smoke, gpu = SETTINGS[name]["smoke"], SETTINGS[name]["gpu"]
    work = [(2 * s["epochs"] + 2 * s["contrastive_epochs"]) * s["n_images"] * s["width"] ** 2
            for s in (smoke, gpu)]
    assert row["work_ratio"] == pytest.approx(work[1] / work[0])
    assert row["input_pipeline_min"] > 0 and row["base_train_min"] > 0
    assert row["cpu_side_min"] == pytest.approx((row["base_wall_min"] - row["base_train_min"]) * (
        gpu["n_images"] / smoke["n_images"]))
    assert row["estimate_min"] == pytest.approx(row["cpu_side_min"] + max(
        row["gpu_train_min"], row["input_pipeline_min"]))
    assert row["within_budget"] == (row["estimate_min"] <= gpu["minutes"])
    assert row["gpu_train_min"] >= row["target_steps"] * record["step_ms"] / 60_000 > 0


def test_gpu_budget_refuses_a_run_of_another_profile(run_notebook, shared_data, tmp_path):
    run = Path(run_notebook("05_autoencoder_retrieval").output).parent
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_budget.py"), "--base", "cpu",
         "--notebooks", "05_autoencoder_retrieval", "--reuse", str(run),
         "--output", str(tmp_path / "x.json")], capture_output=True, text=True, cwd=ROOT,
        timeout=300)
    assert done.returncode != 0
    assert "05_autoencoder_retrieval ran under smoke, not cpu" in done.stderr


def test_gpu_course_records_time_steps_and_metrics_per_notebook(shared_data, tmp_path):
    output = tmp_path / "course.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_course.py"), "--profiles", "smoke",
         "--notebooks", "00", "--data-dir", str(shared_data), "--offline", "--output", str(output)],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads(output.read_text())
    [row] = record["runs"]
    assert row["notebook"] == "00_overview" and row["profile"] == "smoke" and row["status"] == "ok"
    assert row["wall_min"] > 0 and row["steps"] == 0 and row["budget_min"] == 0.5
    assert set(row["metrics"]) == {"n_gpus", "n_datasets_ready", "download_mb"}
    assert record["backend"] and "commit" in record


def test_gpu_budget_counts_the_optimizer_steps_of_each_profile():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import re

    import nbformat
    from gpu_budget import HEAD_EPOCHS, training_steps

    notebook = nbformat.read(ROOT / "notebooks" / "03_vgg16_omniglot.ipynb", as_version=4)
    [parameters] = [c.source for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert re.search(rf"^HEAD_EPOCHS = {HEAD_EPOCHS}\b", parameters, re.M)  # the notebook's default

    assert training_steps("02_contrastive_siamese", "cpu", None) == (4 * 6 + 8 * 1) * 40
    assert training_steps("04_plant_disease", "gpu", None) == 4 * 40 * 40
    assert training_steps("03_vgg16_omniglot", "gpu", None) == 5 * -(-964 * 20 * 8 // 128) + 3 * 666
    assert training_steps("05_autoencoder_retrieval", "cpu", None) == 2 * 30 * 47 + 50 * 23
    assert training_steps("01_satellite_pairs", "gpu", None) == 0
