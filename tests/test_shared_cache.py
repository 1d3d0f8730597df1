"""A cache and a data folder shared by a class: concurrent downloads, a full disk, read-only data."""

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.datasets import cifar10

from local_server import FileServer
from upstream_files import cifar10_archive, write_checksums

KEY = f"cifar10/{cifar10.ARCHIVE}"
FETCH = ("from course_utils.datasets.cifar10 import download_cifar10\n"
         "try:\n    print(download_cifar10())\n"
         "except Exception as error:\n    print(f'{type(error).__name__}: {error}')\n")


@pytest.fixture
def archive(shared_data):
    return cifar10_archive(shared_data, per_class=10)


@pytest.fixture
def served(archive, tmp_path):
    """A mirror on 127.0.0.1 holding the archive, and the environment of a student's kernel."""
    server = FileServer().start()
    server.add(f"mirror/{KEY}", archive)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
    env.update(COURSE_CACHE_DIR=str(tmp_path / "cache"), COURSE_MIRROR=f"{server.url}/mirror",
               COURSE_CHECKSUMS=str(write_checksums({KEY: archive}, tmp_path / "sums.json")),
               PYTHONDONTWRITEBYTECODE="1")
    yield server, env
    server.stop()


def cache_contents(cache):
    return sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*")
                  if p.is_file() and not p.name.startswith(".")) if cache.exists() else []


def test_two_processes_downloading_one_file_into_one_cache_both_get_one_verified_copy(served,
                                                                                      archive):
    server, env = served
    server.slow[f"/mirror/{KEY}"] = 2.0
    students = [subprocess.Popen([sys.executable, "-c", FETCH], env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [student.communicate(timeout=120)[0].strip() for student in students]
    cache = Path(env["COURSE_CACHE_DIR"])
    assert outputs == [str(cache / KEY)] * 2, outputs
    assert server.served(f"mirror/{KEY}") == 1  # the second waited, then found it verified
    assert cache_contents(cache) == [KEY] and (cache / KEY).read_bytes() == archive


def test_a_download_that_runs_out_of_space_leaves_nothing_and_says_what_it_needed(served,
                                                                                  archive):
    _, env = served
    limit = len(archive) // 2

    def small_disk():  # a real write failure: the kernel refuses bytes past the limit (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run([sys.executable, "-c", FETCH], env=env, text=True, capture_output=True,
                          preexec_fn=small_disk, timeout=120)
    message = done.stdout.strip()
    cache = Path(env["COURSE_CACHE_DIR"])
    assert message.startswith("DataUnavailableError: not enough disk space"), message + done.stderr
    assert str(cache / "cifar10") in message and "COURSE_CACHE_DIR" in message
    assert f"{cifar10.SOURCE.size_mb:g} MB" in message
    assert cache_contents(cache) == []


def test_loading_every_dataset_from_a_shared_read_only_folder_writes_nothing_there(
        shared_data, tmp_path, monkeypatch):
    from course_utils.datasets import load_cifar10, load_omniglot, load_plantvillage, load_satellite
    from course_utils.datasets.omniglot import find_runs

    def snapshot():
        return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in shared_data.rglob("*")}

    monkeypatch.setenv("COURSE_DATA_DIR", str(shared_data))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    before = snapshot()
    load_satellite(image_size=32, limit=20)
    load_omniglot(("images_background_small1",), image_size=28, limit=50)
    find_runs()
    load_plantvillage(image_size=32, limit=8)
    load_cifar10(split="test", limit=20)
    assert snapshot() == before
    assert not (tmp_path / "cache").exists() or cache_contents(tmp_path / "cache") == []
