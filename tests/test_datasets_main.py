"""`python -m course_utils.datasets download`: fills the cache, fails clearly offline."""

import pytest

from course_utils.datasets.__main__ import main
from course_utils.datasets.sources import DATASETS, sources_for


def test_every_dataset_has_a_download_for_every_profile():
    assert set(DATASETS) == {"satellite", "omniglot", "plantvillage", "cifar10"}
    for dataset in DATASETS:
        assert sources_for(dataset, "smoke") and sources_for(dataset, "full")


def test_smoke_and_cpu_download_one_satellite_shard_and_full_all_four():
    assert [len(sources_for("satellite", p)) for p in ("smoke", "cpu", "full")] == [1, 1, 4]


def test_offline_without_cache_reports_each_missing_dataset(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    assert main(["download", "omniglot", "cifar10"]) == 1
    err = capsys.readouterr().err
    assert "omniglot: unavailable" in err and "cifar10: unavailable" in err and "COURSE_OFFLINE=1" in err


def test_unknown_dataset_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["download", "mnist"])
    assert exit_.value.code == 2 and "unknown dataset(s) mnist" in capsys.readouterr().err
