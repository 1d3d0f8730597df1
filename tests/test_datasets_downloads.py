"""Downloads, proven against a real HTTP server on 127.0.0.1 serving upstream-format files.

Each loader's first call downloads (with a progress bar), verifies and caches; the second works
offline; a wrong checksum, a truncated cache, a stalled server and HTTP errors each end in a clear
error or a fresh download, never a hang or a silently wrong file.
"""

import dataclasses
import time

import pytest

from course_utils.datasets import DataUnavailableError, downloads, omniglot, plantvillage, satellite
from course_utils.datasets.cifar10 import load_cifar10
from course_utils.datasets.omniglot import find_runs, load_omniglot
from course_utils.datasets.plantvillage import load_plantvillage
from course_utils.datasets.satellite import load_satellite
from course_utils.profiles import APPLE_CLASSES, get_profile

from local_server import FileServer
from upstream_files import smoke_mirror, write_checksums

FIX_WORDS = ("DATA_DIR", "COURSE_DATA_DIR", "COURSE_MIRROR")
# One loader call per dataset, as the notebooks make it, and the file it downloads.
LOADERS = {
    "omniglot": (lambda: (load_omniglot("images_background_small1", image_size=28), find_runs()),
                 "omniglot/images_background_small1.zip"),
    "cifar10": (lambda: load_cifar10(split="test"), "cifar10/cifar-10-python.tar.gz"),
    "plantvillage": (lambda: load_plantvillage(classes=APPLE_CLASSES, image_size=32),
                     "plantvillage/" + plantvillage.ARCHIVE_NAME),
    "satellite": (lambda: load_satellite(image_size=32, shards=1),
                  "satellite/" + satellite.SHARDS[0].name),
}


@pytest.fixture(scope="module")
def upstream_files(shared_data):
    return smoke_mirror(shared_data)


@pytest.fixture
def server():
    running = FileServer().start()
    yield running
    running.stop()


@pytest.fixture
def course_env(tmp_path, monkeypatch, upstream_files):
    """A fresh runtime: an empty cache, no local data, no mirror, checksums of the repacked files."""
    for name in ("COURSE_DATA_DIR", "COURSE_MIRROR", "COURSE_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_DOWNLOAD_TIMEOUT", "5")
    checksums = write_checksums(upstream_files, tmp_path / "checksums.json")
    monkeypatch.setenv("COURSE_CHECKSUMS", str(checksums))
    return tmp_path / "cache"


def serve_mirror(server, files, monkeypatch, skip=()):
    """Serve ``files`` under ``/mirror/`` and point COURSE_MIRROR there."""
    for key, data in files.items():
        if key not in skip:
            server.add(f"mirror/{key}", data)
    monkeypatch.setenv("COURSE_MIRROR", f"{server.url}/mirror")


def cached_files(cache):
    """The files in the cache, less its own hidden bookkeeping (checksum stamps, extraction marks)."""
    return sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file()
                  and not p.name.startswith(".")) if cache.exists() else []


@pytest.mark.parametrize("dataset", LOADERS)
def test_first_load_downloads_with_progress_then_works_offline(
        dataset, server, course_env, upstream_files, monkeypatch, capsys):
    load, key = LOADERS[dataset]
    serve_mirror(server, upstream_files, monkeypatch)
    first = load()
    assert server.served(f"mirror/{key}") == 1
    assert "100%" in capsys.readouterr().err  # pooch's progress bar reached the end
    assert key in cached_files(course_env)
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    again = load()
    assert server.served(f"mirror/{key}") == 1
    first, again = (first[0], again[0]) if dataset == "omniglot" else (first, again)
    assert (first.images == again.images).all() and first.source == again.source


def test_satellite_downloads_from_the_hub_endpoint_only_the_shards_a_profile_needs(
        server, course_env, upstream_files, monkeypatch):
    shard = satellite.SHARDS[0]
    hub_path = shard.url.removeprefix("hf://")
    server.add(hub_path, upstream_files[f"satellite/{shard.name}"])
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    shards = get_profile("smoke", "02_contrastive_siamese").shards
    tiles = load_satellite(image_size=32, shards=shards)
    assert len(tiles) == 40 and "1 of 4 shard(s)" in tiles.source
    assert server.requests == ["/" + hub_path]
    assert get_profile("full", "02_contrastive_siamese").shards == len(satellite.SHARDS)


def test_a_mirror_folder_serves_without_any_network(tmp_path, course_env, upstream_files,
                                                     monkeypatch):
    for key, data in upstream_files.items():
        (tmp_path / "mirror" / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "mirror" / key).write_bytes(data)
    monkeypatch.setenv("COURSE_MIRROR", str(tmp_path / "mirror"))
    assert len(load_cifar10(split="test")) == 300
    assert "cifar10/cifar-10-python.tar.gz" in cached_files(course_env)


def test_upstream_is_tried_after_a_mirror_that_lacks_the_file(server, course_env, upstream_files,
                                                              monkeypatch):
    key = "omniglot/" + omniglot.RUNS.name
    serve_mirror(server, upstream_files, monkeypatch, skip={key})
    upstream = server.add("brendenlake/omniglot/all_runs.zip", upstream_files[key])
    monkeypatch.setattr(omniglot, "RUNS", dataclasses.replace(omniglot.RUNS, url=upstream))
    [runs] = find_runs()
    assert runs.name == "all_runs.zip"
    assert server.requests == [f"/mirror/{key}", "/brendenlake/omniglot/all_runs.zip"]


@pytest.mark.parametrize("dataset", LOADERS)
def test_a_wrong_checksum_is_refused_and_leaves_nothing_in_the_cache(
        dataset, server, course_env, upstream_files, monkeypatch):
    load, key = LOADERS[dataset]
    serve_mirror(server, {**upstream_files, key: b"not the upstream file" * 100}, monkeypatch)
    monkeypatch.setattr(downloads, "locations", lambda source: iter(
        [f"{server.url}/mirror/{source.dataset}/{source.name}"]))
    with pytest.raises(DataUnavailableError, match="checksum mismatch") as error:
        load()
    assert all(word in str(error.value) for word in FIX_WORDS)
    assert cached_files(course_env) == []


@pytest.mark.parametrize("dataset", LOADERS)
def test_a_truncated_cached_file_is_downloaded_again(dataset, server, course_env, upstream_files,
                                                     monkeypatch):
    load, key = LOADERS[dataset]
    serve_mirror(server, upstream_files, monkeypatch)
    load()
    cached = course_env / key
    cached.write_bytes(cached.read_bytes()[: cached.stat().st_size // 2])
    load()
    assert server.served(f"mirror/{key}") == 2
    assert cached.read_bytes() == upstream_files[key]


@pytest.mark.parametrize("dataset", LOADERS)
def test_a_server_that_stalls_mid_file_ends_in_a_timeout_error(dataset, server, course_env,
                                                               upstream_files, monkeypatch):
    load, key = LOADERS[dataset]
    serve_mirror(server, upstream_files, monkeypatch)
    server.stalled.add(f"/mirror/{key}")
    monkeypatch.setattr(downloads, "locations", lambda source: iter(
        [f"{server.url}/mirror/{source.dataset}/{source.name}"]))
    monkeypatch.setenv("COURSE_DOWNLOAD_TIMEOUT", "1")
    started = time.monotonic()
    with pytest.raises(DataUnavailableError, match="(?i)timed out"):
        load()
    assert time.monotonic() - started < 15
    assert cached_files(course_env) == []


@pytest.mark.parametrize("status", [404, 500])
@pytest.mark.parametrize("dataset", LOADERS)
def test_http_errors_name_the_url_and_the_fix(dataset, status, server, course_env, upstream_files,
                                              monkeypatch):
    load, key = LOADERS[dataset]
    serve_mirror(server, upstream_files, monkeypatch)
    server.statuses[f"/mirror/{key}"] = status
    monkeypatch.setattr(downloads, "locations", lambda source: iter(
        [f"{server.url}/mirror/{source.dataset}/{source.name}"]))
    with pytest.raises(DataUnavailableError) as error:
        load()
    message = str(error.value)
    assert f"{server.url}/mirror/{key}" in message and str(status) in message
    assert all(word in message for word in FIX_WORDS)


def test_offline_without_cache_fails_fast_and_names_the_fix(course_env, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="COURSE_OFFLINE=1") as error:
        load_cifar10(split="test")
    assert all(word in str(error.value) for word in FIX_WORDS)


def test_the_download_command_fills_the_cache_from_a_mirror(server, course_env, upstream_files,
                                                            monkeypatch, capsys):
    from course_utils.datasets.__main__ import main

    for key, data in upstream_files.items():
        server.add(f"mirror/{key}", data)
    monkeypatch.setenv("COURSE_MIRROR", "")  # restored after the test: main() sets it from --mirror
    assert main(["download", "omniglot", "--profile", "cpu", "--mirror", f"{server.url}/mirror"]) == 0
    assert cached_files(course_env) == ["omniglot/all_runs.zip",
                                        "omniglot/images_background_small1.zip",
                                        "omniglot/images_background_small2.zip"]
    assert "omniglot: 3 file(s) cached" in capsys.readouterr().out


def test_the_omniglot_runs_are_checked_against_their_published_checksum():
    assert omniglot.RUNS.sha256 == "437c1eeab0af8484112e1b4cc0f3d541ec727f7c47b9b202da738af9dfd6c325"


@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_a_download_timeout_that_is_not_a_positive_number_is_refused(value, monkeypatch):
    monkeypatch.setenv("COURSE_DOWNLOAD_TIMEOUT", value)
    with pytest.raises(ValueError, match="COURSE_DOWNLOAD_TIMEOUT"):
        downloads.download_timeout()
