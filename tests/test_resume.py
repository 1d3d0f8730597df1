"""A notebook whose kernel is killed mid-training resumes from CHECKPOINT_DIR and ends as an unbroken run.

Notebook 03 runs under ``smoke`` with a few classifier epochs. The first run's kernel gets a real
SIGKILL (what a Colab disconnect or a Binder cull does to it) as soon as the classifier's first
epoch is backed up; a second run with the same CHECKPOINT_DIR must train only the missing epochs
and end with the metrics of a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_utils.run import KERNEL_ENVIRONMENT, NOTEBOOKS_DIR, run_course

pytestmark = pytest.mark.notebook

NAME = "03_vgg16_omniglot"
EPOCHS = 3
# Few epochs of a narrow tower keep the three runs short; the run is killed after the first epoch.
PARAMETERS = {"EPOCHS": EPOCHS, "WIDTH": 0.0625}
BACKUP = Path("classifier") / "backup" / "training_metadata.json"  # BackupAndRestore's epoch record


def kernel_of(process: subprocess.Popen):
    """The kernel papermill started: its child running ipykernel_launcher with a connection file."""
    import psutil

    for child in psutil.Process(process.pid).children(recursive=True):
        try:
            command = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if any("ipykernel_launcher" in part for part in command) and "-f" in command:
            return child
    return None


def run_and_kill_after_first_backup(checkpoints: Path, output: Path, shared_data: Path,
                                    timeout: float = 600) -> int:
    """Run the notebook in papermill, SIGKILL its kernel once an epoch is backed up; return that epoch."""
    env = {**os.environ, **KERNEL_ENVIRONMENT, "COURSE_DATA_DIR": str(shared_data.resolve()),
           "COURSE_OFFLINE": "1"}
    command = [sys.executable, "-m", "papermill", str(NOTEBOOKS_DIR / f"{NAME}.ipynb"), str(output),
               "--cwd", str(NOTEBOOKS_DIR), "--no-progress-bar", "-k", "python3",
               "-p", "PROFILE", "smoke", "-p", "CHECKPOINT_DIR", str(checkpoints)]
    for name, value in PARAMETERS.items():
        command += ["-p", name, str(value)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        deadline = time.monotonic() + timeout
        while not (checkpoints / BACKUP).exists():
            if process.poll() is not None:
                pytest.fail(f"the notebook ended (exit {process.returncode}) without backing up an "
                            f"epoch in CHECKPOINT_DIR ({checkpoints}): it cannot resume\n"
                            f"{process.stdout.read()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no epoch backed up in {checkpoints} within {timeout} s")
            time.sleep(0.1)
        kernel = kernel_of(process)
        assert kernel is not None, "papermill's kernel process not found"
        os.kill(kernel.pid, signal.SIGKILL)
        kernel.wait(30)
        process.wait(120)  # papermill reports the dead kernel and exits
        assert process.returncode != 0, "papermill finished although its kernel was killed"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return json.loads((checkpoints / BACKUP).read_text())["epoch"]


def weights(path: Path) -> dict[str, np.ndarray]:
    """Every array of a ``.weights.h5`` file, by its path in the file."""
    import h5py

    arrays: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as file:
        file.visititems(lambda name, item: arrays.__setitem__(name, item[()])
                        if isinstance(item, h5py.Dataset) else None)
    return arrays


def printed_epochs(executed: Path, marker: str) -> list[int]:
    """The epochs ``fit`` announced ("Epoch 2/3") in the code cell holding ``marker``."""
    cell = next(c for c in nbformat.read(executed, as_version=4).cells if marker in c.source)
    text = "".join(out.get("text", "") for out in cell.outputs)
    return [int(n) for n in re.findall(r"^Epoch (\d+)/\d+", text, re.M)]


def test_a_killed_kernel_resumes_training_where_it_stopped(shared_data, tmp_path):
    checkpoints = tmp_path / "checkpoints"
    backed_up = run_and_kill_after_first_backup(checkpoints, tmp_path / "killed.ipynb", shared_data)
    assert 1 <= backed_up < EPOCHS, f"killed after epoch {backed_up} of {EPOCHS}: not mid-training"
    assert not (checkpoints / "classifier" / "finished.weights.h5").exists()

    [resumed] = run_course([NOTEBOOKS_DIR / f"{NAME}.ipynb"], tmp_path / "resumed", "smoke",
                           str(shared_data), {**PARAMETERS, "CHECKPOINT_DIR": str(checkpoints)},
                           offline=True)
    assert resumed.ok, resumed.error
    # Each epoch is trained once: the second run starts after the last epoch the first one backed up.
    assert printed_epochs(resumed.output, "fit_or_resume(classifier") == \
        list(range(backed_up + 1, EPOCHS + 1))
    assert printed_epochs(resumed.output, "fit_or_resume(head") == [1, 2, 3]

    [unbroken] = run_course([NOTEBOOKS_DIR / f"{NAME}.ipynb"], tmp_path / "unbroken", "smoke",
                            str(shared_data), {**PARAMETERS, "CHECKPOINT_DIR": str(tmp_path / "fresh")},
                            offline=True)
    assert unbroken.ok, unbroken.error
    # The resumed run restores the exact weights, optimiser state and epoch counter, and its streams
    # draw each epoch from (SEED, epoch) alone, so it trains on the same batches from the same state
    # as the unbroken run: same computations on the same machine, so the same numbers. The
    # tolerances only leave room for the last bits of multithreaded CPU sums (rel 1e-5 on losses
    # and weights, which a resume on other batches misses by far), and one trial on accuracies: a
    # last-bit difference could at most flip a near-tie between two candidates of one trial.
    from course_utils.checkpoints import read_history  # not at the top: the old code lacks it

    whole = read_history(tmp_path / "fresh" / "classifier" / "history.csv")
    pieced = read_history(checkpoints / "classifier" / "history.csv")
    assert len(pieced["loss"]) == EPOCHS
    assert pieced["loss"] == pytest.approx(whole["loss"], rel=1e-5)
    for model in ("classifier", "siamese_head"):
        after_kill, unbroken_weights = (weights(folder / model / "finished.weights.h5")
                                        for folder in (checkpoints, tmp_path / "fresh"))
        assert after_kill.keys() == unbroken_weights.keys()
        for name, array in unbroken_weights.items():
            np.testing.assert_allclose(after_kill[name], array, rtol=1e-5, atol=1e-6, err_msg=name)
    one_trial = 1 / unbroken.metrics["trials"]
    for metric in ("one_shot_20way_accuracy", "siamese_20way_accuracy"):
        assert resumed.metrics[metric] == pytest.approx(unbroken.metrics[metric], abs=one_trial), metric
