"""The set-up check: where each dataset comes from, what would download, versions; no download."""

from pathlib import Path

import pytest

from course_utils import setup_check
from course_utils.datasets import local_dataset_dir
from course_utils.datasets.sources import DATASETS, sources_for
from course_utils.profiles import format_megabytes


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No data root, no mirror, online, and an empty cache of the test's own."""
    for name in ("COURSE_DATA_DIR", "COURSE_MIRROR", "COURSE_OFFLINE", "COURSE_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_a_dataset_folder_under_course_data_dir_is_local(clean_env, monkeypatch):
    (clean_env / "data" / "omniglot").mkdir(parents=True)
    monkeypatch.setenv("COURSE_DATA_DIR", str(clean_env / "data"))
    status = setup_check.dataset_status("omniglot", "cpu")
    assert status.state == "local" and status.download_mb == 0
    assert Path(status.where) == local_dataset_dir("omniglot")  # the loaders' own answer
    assert status.notebooks == ("03_vgg16_omniglot",)


def test_an_absent_dataset_is_a_download_of_the_profiles_size(clean_env, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(clean_env))  # a root without satellite/
    smoke, full = (setup_check.dataset_status("satellite", p) for p in ("smoke", "full"))
    assert smoke.state == full.state == "download"
    assert smoke.download_mb == sum(s.size_mb for s in sources_for("satellite", "smoke"))
    assert full.download_mb > smoke.download_mb  # full fetches all four shards
    assert "upstream" in smoke.where and str(clean_env / "cache") in smoke.where
    assert smoke.notebooks == ("01_satellite_pairs", "02_contrastive_siamese")


def test_course_offline_is_reported_instead_of_a_download(clean_env, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    status = setup_check.dataset_status("cifar10", "cpu")
    assert status.state == "offline" and "COURSE_OFFLINE=1" in status.where
    assert status.download_mb == pytest.approx(170.5)


def test_files_already_in_the_cache_need_no_download_and_are_never_read(clean_env, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    for source in sources_for("omniglot", "smoke"):
        path = clean_env / "cache" / "omniglot" / source.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not even a zip")  # presence counts; the loaders verify checksums
    status = setup_check.dataset_status("omniglot", "smoke")
    assert status.state == "cached" and status.download_mb == 0
    assert setup_check.dataset_status("omniglot", "full").state == "offline"  # full needs more
    assert all(p.read_bytes() == b"not even a zip"
               for p in (clean_env / "cache" / "omniglot").iterdir())


def test_a_mirror_is_named_as_the_first_place_a_download_comes_from(clean_env, monkeypatch):
    monkeypatch.setenv("COURSE_MIRROR", "https://mirror.example.org/course-data")
    status = setup_check.dataset_status("plantvillage", "cpu")
    assert status.state == "download" and "mirror https://mirror.example.org" in status.where


def test_data_dir_is_a_root_checked_instead_of_course_data_dir(clean_env, monkeypatch):
    (clean_env / "elsewhere" / "cifar10").mkdir(parents=True)
    (clean_env / "data" / "cifar10").mkdir(parents=True)
    monkeypatch.setenv("COURSE_DATA_DIR", str(clean_env / "data"))
    states = {s.dataset: s for s in setup_check.dataset_statuses("cpu", clean_env / "elsewhere")}
    assert set(states) == set(DATASETS)
    assert states["cifar10"].where == str(clean_env / "elsewhere" / "cifar10")
    assert states["omniglot"].state == "download"
    with pytest.raises(ValueError, match="DATA_DIR '.*nowhere' does not exist"):
        setup_check.dataset_statuses("cpu", clean_env / "nowhere")


def test_unknown_profile_or_dataset_is_refused(clean_env):
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        setup_check.dataset_status("cifar10", "fast")
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        setup_check.dataset_status("mnist", "cpu")


def test_free_space_is_measured_on_the_nearest_existing_folder(tmp_path):
    assert setup_check.free_mb(tmp_path / "not" / "yet" / "made") == pytest.approx(
        setup_check.free_mb(tmp_path), rel=0.01)


def test_versions_name_python_tensorflow_keras_and_numpy():
    found = setup_check.versions()
    assert list(found) == ["Python", "TensorFlow", "Keras", "numpy"]
    assert all(version[0].isdigit() for version in found.values())


def report(datasets, free=1e6, profile="cpu", gpus=(), keras="3.15.1"):
    return setup_check.SetupReport(profile, {"Python": "3.11.7", "TensorFlow": "2.21.0",
                                             "Keras": keras, "numpy": "2.4.6"},
                                   "tensorflow", gpus, False, Path("/cache"), free, tuple(datasets))


def status(dataset, state, mb=0.0):
    return setup_check.DatasetStatus(dataset, ("05_autoencoder_retrieval",), state, "somewhere", mb)


def test_problems_name_their_fix_and_a_ready_machine_has_none():
    assert setup_check.problems(report([status("cifar10", "local")])) == []
    found = setup_check.problems(report([status("cifar10", "offline", 170.5),
                                         status("omniglot", "download", 3.3)],
                                        free=1.0, profile="full", keras="2.15.0"))
    text = "\n".join(found)
    assert "needs Keras 3" in text and "without a GPU" in text
    assert "cifar10 is neither local nor cached and COURSE_OFFLINE=1" in text and "05" in text
    assert f"need {format_megabytes(3.3)}" in text and "COURSE_CACHE_DIR" in text


def test_setup_table_shows_every_check_in_one_two_column_table():
    table = setup_check.setup_table(report([status("cifar10", "download", 170.5)],
                                           gpus=("/physical_device:GPU:0",)))
    assert list(table.columns) == ["result"]
    rows = dict(zip(table.index, table["result"]))
    assert rows["Keras"] == "3.15.1" and rows["Keras backend"] == "tensorflow"
    assert rows["GPUs seen"] == "1: /physical_device:GPU:0 (profile auto runs gpu)"
    assert rows["cifar10 (notebook 05)"] == "will download 170 MB from somewhere"
    assert rows["downloads at cpu"] == "170 MB" and "free disk" in rows


def test_the_whole_check_takes_seconds_offline_and_with_no_data(clean_env, monkeypatch):
    import time

    monkeypatch.setenv("COURSE_OFFLINE", "1")
    started = time.monotonic()
    found = setup_check.check_setup("smoke")
    assert time.monotonic() - started < 30
    assert [d.state for d in found.datasets] == ["offline"] * len(DATASETS)
    assert found.offline and found.download_mb == 0 and found.free_mb > 0
    assert not (clean_env / "cache").exists()  # nothing was downloaded, not even a folder made


def test_a_gpu_profile_without_a_gpu_is_a_problem_and_with_one_is_not():
    assert setup_check.problems(report([], profile="gpu")) == [
        "profile gpu without a GPU takes far longer than its budgets: use cpu"]
    assert setup_check.problems(report([], profile="gpu", gpus=("GPU:0",))) == []
