"""`python -m course_utils.datasets download`: fills the cache, fails clearly offline."""

import pytest

from course_utils.datasets.__main__ import DOWNLOADS, main


def test_every_dataset_has_a_download():
    assert set(DOWNLOADS) == {"satellite", "omniglot", "plantvillage", "cifar10"}


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
