"""TensorFlow loads quietly: its C++ start-up log is hidden, unless loading fails."""

import subprocess
import sys

QUIET = "from course_utils.runtime import quiet_tensorflow; quiet_tensorflow(); "
NOISE = ("oneDNN", "cuda", "cuInit", "absl::InitializeLog", "cpu_feature_guard")


def run_python(code, **env):
    import os

    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**environment, **env}, timeout=300)


def test_tensorflow_and_keras_load_without_their_start_up_log():
    done = run_python(QUIET + "import keras, tensorflow as tf; "
                      "print(float(keras.layers.Dense(1)(tf.ones((1, 2)))[0, 0]) is not None)")
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr
    assert not [word for word in NOISE if word in done.stderr], done.stderr


def test_a_tensorflow_that_fails_to_load_shows_its_log_and_the_error(tmp_path):
    broken = tmp_path / "tensorflow"
    broken.mkdir()
    (broken / "__init__.py").write_text(
        "import os\nos.write(2, b'libcudart.so: cannot open shared object file\\n')\n"
        "raise ImportError('TensorFlow is broken here')\n")
    done = run_python(QUIET, PYTHONPATH=str(tmp_path))
    assert done.returncode == 1
    assert "libcudart.so: cannot open shared object file" in done.stderr
    assert "ImportError: TensorFlow is broken here" in done.stderr
