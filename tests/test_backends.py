"""Keras' three backends: a course model saved under one loads under another, and the smoke course
runs under JAX and PyTorch.

The backends live in other processes (``KERAS_BACKEND`` is read once, when Keras is imported); each
test skips, naming the missing extra, where JAX or PyTorch is not installed.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NOTEBOOK_RUNS, REPO

pytestmark = pytest.mark.backend

FRAMEWORKS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
# Each backend saves once and loads once: tensorflow -> jax -> torch -> tensorflow.
# A model compiled under torch records its optimizer's class in keras.src.backend.torch, so loading
# it under TensorFlow imports PyTorch after TensorFlow; with PyTorch's CUDA wheel that loads
# Triton, which crashes the process (a segmentation fault; seen with torch 2.14.1, Keras 3.15.1).
HANDOVERS = [("tensorflow", "jax"), ("jax", "torch"),
             pytest.param("torch", "tensorflow", marks=pytest.mark.xfail(
                 reason="the compiled optimizer's torch class makes TensorFlow load PyTorch; "
                        "Triton then crashes the process", strict=False))]

# Notebook 02's Siamese model (its own distance layer, a nested tower with BatchNorm) compiled
# with its contrastive loss, trained two steps so BatchNorm statistics and optimizer state are set.
SAVE = """
import sys
import numpy as np
import keras
from conftest import notebook_namespace
ns = notebook_namespace("02_contrastive_siamese")
keras.utils.set_random_seed(0)
model = ns["siamese"](ns["modern_tower"](16, width=4, embedding_size=8))
model.compile(optimizer="adam", loss=ns["ContrastiveLoss"](margin=0.7))
rng = np.random.default_rng(0)
pairs = [rng.integers(0, 256, (8, 16, 16, 3)).astype("float32") for _ in range(2)]
model.fit(pairs, rng.integers(0, 2, 8).astype("float32"), batch_size=4, epochs=1, verbose=0)
model.save(sys.argv[1])
np.save(sys.argv[2], model.predict(pairs, verbose=0))
np.save(sys.argv[3], np.stack(pairs))
"""

LOAD = """
import sys
import numpy as np
import keras
from conftest import notebook_namespace
notebook_namespace("02_contrastive_siamese")  # registers the course's layer and loss
model = keras.models.load_model(sys.argv[1])
pairs = list(np.load(sys.argv[3]))
np.testing.assert_allclose(model.predict(pairs, verbose=0), np.load(sys.argv[2]), atol=1e-4)
assert type(model.loss).__name__ == "ContrastiveLoss" and model.loss.margin == 0.7, model.loss
print("loaded under", keras.config.backend())
"""


def require(*backends: str) -> None:
    """Skip the test unless every backend's framework is installed."""
    missing = [b for b in backends if importlib.util.find_spec(FRAMEWORKS[b]) is None]
    if missing:
        extras = ",".join(b for b in missing if b != "tensorflow")
        pytest.skip(f"Keras backend {' and '.join(missing)} not installed here: "
                    f"pip install -e '.[{extras}]'")


def python_under(backend: str, code: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python whose Keras uses ``backend``, with tests/ importable."""
    import os

    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO),
                                          os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.mark.parametrize("saver, loader", HANDOVERS,
                         ids=["tensorflow-to-jax", "jax-to-torch", "torch-to-tensorflow"])
def test_a_keras_file_saved_under_one_backend_loads_under_another(saver, loader, tmp_path):
    require(saver, loader)
    files = [str(tmp_path / name) for name in ("siamese.keras", "predictions.npy", "pairs.npy")]
    saved = python_under(saver, SAVE, *files)
    assert saved.returncode == 0, f"saving under {saver} failed:\n{saved.stderr[-3000:]}"
    loaded = python_under(loader, LOAD, *files)
    assert loaded.returncode == 0, f"loading under {loader} failed:\n{loaded.stderr[-3000:]}"
    assert f"loaded under {loader}" in loaded.stdout


@pytest.mark.notebook
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_smoke_course_runs_under_another_backend(backend, shared_data, monkeypatch):
    require(backend)
    from course_utils.run import HEADLINE, available_notebooks, run_course

    monkeypatch.setenv("KERAS_BACKEND", backend)  # the kernels inherit it
    results = run_course(available_notebooks(), NOTEBOOK_RUNS / backend, "smoke",
                         str(shared_data), offline=True)
    failed = [f"{r.notebook}: {r.status}: {r.error}" for r in results if not r.ok]
    assert not failed, f"under KERAS_BACKEND={backend}:\n" + "\n".join(failed)
    for result in results:
        numbers = {key: result.metrics[key] for key in HEADLINE[result.notebook]}
        assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in numbers.values()), \
            (result.notebook, numbers)
        printed = Path(result.output).read_text()  # runtime_report names the backend it ran
        assert f"(backend {backend} " in printed, f"{result.notebook} does not name {backend}"
