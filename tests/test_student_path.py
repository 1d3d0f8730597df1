"""The student's path from nothing: no data folder, an empty cache, and either a mirror or no network.

The mirror is a real HTTP server on 127.0.0.1 holding the files each notebook downloads, in the
upstream format (built from ../shared/data); the notebooks run through the course runner, in their
own kernels, exactly as `python -m course_utils.run --mirror URL` runs them.
"""

import time

import pytest

from course_utils.run import NOTEBOOKS_DIR, available_notebooks, run_course

from local_server import FileServer
from upstream_files import smoke_mirror, write_checksums

pytestmark = pytest.mark.notebook


@pytest.fixture
def fresh_runtime(tmp_path, monkeypatch):
    """An empty cache and no local data or mirror, as on a new Colab runtime."""
    for name in ("COURSE_DATA_DIR", "COURSE_MIRROR", "COURSE_OFFLINE", "COURSE_PROFILE",
                 "HF_ENDPOINT", "COURSE_CHECKSUMS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture
def mirror(shared_data, fresh_runtime, monkeypatch):
    files = smoke_mirror(shared_data)
    server = FileServer().start()
    for key, data in files.items():
        server.add(f"mirror/{key}", data)
    monkeypatch.setenv("COURSE_CHECKSUMS", str(write_checksums(files, fresh_runtime / "sums.json")))
    monkeypatch.setenv("COURSE_DOWNLOAD_TIMEOUT", "10")
    yield f"{server.url}/mirror"
    server.stop()


def test_the_smoke_course_runs_on_downloaded_data_then_offline_from_the_cache(mirror,
                                                                            fresh_runtime):
    notebooks = available_notebooks()
    results = run_course(notebooks, fresh_runtime / "online", "smoke", mirror=mirror)
    assert {r.notebook: r.status for r in results} == {p.stem: "ok" for p in notebooks}, \
        "\n".join(f"{r.notebook}: {r.error}" for r in results if not r.ok)
    plants = next(r for r in results if r.notebook == "04_plant_disease")
    assert plants.metrics["variant"] == "color"  # notebook 04's default: what the archive holds
    assert "archive" in plants.metrics["sources"]["train"]
    again = run_course([NOTEBOOKS_DIR / "01_satellite_pairs.ipynb",
                        NOTEBOOKS_DIR / "05_autoencoder_retrieval.ipynb"],
                       fresh_runtime / "offline", "smoke", offline=True)
    assert [r.status for r in again] == ["ok", "ok"], [r.error for r in again]


def test_with_no_data_and_no_network_each_notebook_ends_within_seconds_naming_the_fix(
        fresh_runtime):
    started = time.monotonic()
    results = run_course(available_notebooks(), fresh_runtime / "runs", "smoke", offline=True)
    statuses = {r.notebook: r.status for r in results}
    assert statuses == {"00_overview": "ok", "01_satellite_pairs": "synthetic",
                        "02_contrastive_siamese": "synthetic", "03_vgg16_omniglot": "no data",
                        "04_plant_disease": "no data", "05_autoencoder_retrieval": "no data"}
    overview = results[0]  # the set-up check saw it coming
    assert set(overview.metrics["datasets"].values()) == {"offline"}
    for result in results[1:]:
        assert "DATA_DIR" in result.error or "synthetic stand-in" in result.error, result.error
        if result.status == "no data":
            assert result.seconds < 60 and "section '1. " in result.error, result.error
    assert time.monotonic() - started < 300
    satellite = results[1]  # notebook 01 says so loudly and marks its metrics
    assert satellite.metrics["synthetic"] is True
    assert "SYNTHETIC STAND-IN" in satellite.output.read_text()
    first, errors = first_output_and_log(satellite.output)  # what a student sees first
    assert first.startswith("profile smoke for 01_satellite_pairs"), first
    assert not [w for w in ("oneDNN", "cuInit", "cuda drivers", "absl") if w in errors], errors


def first_output_and_log(executed):
    """Return the first text a notebook shows, and everything its cells wrote to stderr."""
    from conftest import code_outputs

    outputs = code_outputs(executed)
    texts = [o.get("text", "") for o in outputs if o.get("output_type") == "stream"]
    errors = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    return texts[0], errors

