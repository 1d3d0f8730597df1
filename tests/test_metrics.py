"""Verification metrics and the metrics JSON of a run."""

import json
import math

import numpy as np
import pytest

from course_utils.metrics import best_threshold, read_metrics, results_table, roc_auc, verify, write_metrics


def test_verify_counts_similar_decisions_below_the_threshold():
    result = verify([0.1, 0.4, 0.6, 0.9], [True, False, True, False], threshold=0.5)
    assert (result.tp, result.fp, result.tn, result.fn) == (1, 1, 1, 1)
    assert result.accuracy == 0.5 and result.precision == 0.5 and result.recall == 0.5


def test_best_threshold_separates_separable_scores_halfway():
    threshold = best_threshold([0.1, 0.2, 0.8, 0.9], [True, True, False, False])
    assert threshold == pytest.approx(0.5)
    assert verify([0.1, 0.2, 0.8, 0.9], [True, True, False, False], threshold).accuracy == 1


def test_best_threshold_maximises_accuracy_on_overlapping_scores():
    rng = np.random.default_rng(0)
    similar = rng.random(400) < 0.5
    distances = np.where(similar, rng.normal(0.3, 0.1, 400), rng.normal(0.7, 0.1, 400))
    threshold = best_threshold(distances, similar)
    best = verify(distances, similar, threshold).accuracy
    for other in np.linspace(0, 1, 101):
        assert verify(distances, similar, other).accuracy <= best + 1e-12
    assert 0.4 < threshold < 0.6


def test_best_threshold_when_every_pair_is_similar_accepts_them_all():
    assert verify([0.3, 0.5], [True, True], best_threshold([0.3, 0.5], [True, True])).accuracy == 1


def test_roc_auc_for_smaller_distance_means_similar():
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 0.0
    with pytest.raises(ValueError, match="both similar and dissimilar"):
        roc_auc([0.1, 0.2], [True, True])


@pytest.mark.parametrize("function", [best_threshold, roc_auc])
def test_diverged_scores_are_refused(function):
    with pytest.raises(ValueError, match="NaN or infinite"):
        function([0.1, math.nan, 0.3], [True, False, True])
    with pytest.raises(ValueError, match="same length"):
        function([0.1, 0.2], [True])


def test_write_metrics_records_context_and_reads_back(tmp_path):
    path = tmp_path / "runs" / "m.json"
    record = write_metrics(path, {"accuracy": np.float32(0.75), "pairs": np.int64(12)},
                           notebook="02_contrastive_siamese", profile="smoke",
                           sources={"train": "local folder /srv/AID"})
    stored = json.loads(path.read_text())
    assert stored == record
    assert stored["accuracy"] == pytest.approx(0.75) and stored["pairs"] == 12
    assert stored["profile"] == "smoke" and stored["sources"] == {"train": "local folder /srv/AID"}
    table = read_metrics([path])
    assert table.loc[0, "notebook"] == "02_contrastive_siamese"
    assert list(tmp_path.joinpath("runs").iterdir()) == [path]  # no temporary file left behind


def test_write_metrics_without_a_path_writes_nothing(tmp_path):
    record = write_metrics(None, {"a": 1.0}, notebook="n", profile="cpu", sources="x")
    assert record["sources"] == ["x"] and record["a"] == 1.0


def test_write_metrics_refuses_nan_and_clashing_names(tmp_path):
    with pytest.raises(ValueError, match="'loss' is nan"):
        write_metrics(tmp_path / "m.json", {"loss": float("nan")}, notebook="n", profile="cpu",
                      sources="x")
    with pytest.raises(ValueError, match="clash"):
        write_metrics(tmp_path / "m.json", {"profile": 1}, notebook="n", profile="cpu", sources="x")
    assert not (tmp_path / "m.json").exists()


def test_read_metrics_names_a_file_that_is_not_a_record(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"accuracy": 1}')
    with pytest.raises(ValueError, match="bad.json.*not a course metrics record"):
        read_metrics([bad])
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match="cannot read metrics file"):
        read_metrics([broken])


def test_results_table_fills_missing_cells():
    table = results_table([{"model": "seed", "accuracy": 0.955}, {"model": "ours", "auc": 0.99}])
    assert list(table.columns) == ["model", "accuracy", "auc"]
    assert table.loc[1, "accuracy"] == ""


def test_spread_summary_reads_a_benchmark_results_file_with_its_date_and_commit(tmp_path):
    from course_utils.metrics import spread_summary

    assert spread_summary("plant_seeds", "cpu", tmp_path) is None
    record = {"profile": "cpu", "date": "2026-01-02", "commit": "abc123", "runs": [{}, {}],
              "spread": {"verification_auc": {"mean": 0.9, "min": 0.85, "max": 0.95, "runs": 2}}}
    (tmp_path / "plant_seeds_cpu.json").write_text(json.dumps(record))
    text = spread_summary("plant_seeds", "cpu", tmp_path)
    assert "2 runs of the cpu profile, 2026-01-02, commit abc123" in text
    assert "verification_auc: mean 0.900, min 0.850, max 0.950 (2 runs)" in text


def test_spread_summary_names_every_commit_its_runs_were_measured_at(tmp_path):
    from course_utils.metrics import spread_summary

    runs = [{"date": "2026-01-02", "commit": "abc123"}, {"date": "2026-01-03", "commit": "def456"}]
    record = {"profile": "cpu", "date": "2026-01-03", "commit": "def456", "runs": runs, "spread": {}}
    (tmp_path / "plant_seeds_cpu.json").write_text(json.dumps(record))
    text = spread_summary("plant_seeds", "cpu", tmp_path)
    assert "2 runs of the cpu profile, 2026-01-02, commit abc123; 2026-01-03, commit def456" in text
