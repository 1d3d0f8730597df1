"""The runtime a notebook starts in: TensorFlow loaded quietly, so a student's first output is ours.

TensorFlow's C++ start-up log (oneDNN and CPU-instruction notes, "Could not find cuda drivers",
"failed call to cuInit" on a machine without a GPU) goes straight to the process's standard error,
where Jupyter shows it in red under the first cell. None of it is an error a student can act on.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Iterator

LOG_LEVEL_VAR = "TF_CPP_MIN_LOG_LEVEL"


@contextlib.contextmanager
def _stderr_to_file() -> Iterator:
    """Send the process's file descriptor 2 (what C++ writes to) into a temporary file."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield sink
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def quiet_tensorflow() -> None:
    """Load TensorFlow with its C++ start-up log silenced; show that log only if loading fails.

    Call it before anything imports TensorFlow. Under ``KERAS_BACKEND=jax`` it asks JAX for its
    devices first: imported after TensorFlow, JAX can miss a GPU whose CUDA libraries are its own.
    Under ``KERAS_BACKEND=torch`` it loads Keras (and with it PyTorch) first: PyTorch's CUDA wheels
    bring Triton, whose native library crashes the process (a segmentation fault) when it loads
    after TensorFlow's, and TensorFlow loads Keras' backend while it starts.
    """
    os.environ.setdefault(LOG_LEVEL_VAR, "3")
    if "tensorflow" in sys.modules:
        return
    backend = os.environ.get("KERAS_BACKEND", "").strip().lower()
    if backend == "jax":
        with contextlib.suppress(ImportError):
            import jax

            jax.devices()
    elif backend == "torch":
        with contextlib.suppress(ImportError):
            import keras  # noqa: F401  (loads PyTorch and Triton before TensorFlow)
    failure: Exception | None = None
    with _stderr_to_file() as sink:
        try:
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")
        except Exception as error:  # shown below with the log that explains it
            failure = error
        sink.seek(0)
        log = sink.read().decode(errors="replace")
    if failure is not None:
        sys.stderr.write(log)
        raise failure
