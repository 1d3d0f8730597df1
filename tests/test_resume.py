"""A notebook whose kernel is killed mid-training resumes from CHECKPOINT_DIR and ends as an unbroken run.

Notebook 03 runs under ``smoke`` with a few classifier epochs. The first run's kernel gets a real
SIGKILL (what a Colab disconnect or a Binder cull does to it) as soon as the classifier's first
epoch is backed up; a second run with the same CHECKPOINT_DIR must train only the missing epochs
and end with the weights and metrics of a run that was never interrupted.
"""

from __future__ import annotations

import contextlib
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

from course_utils.run import KERNEL_ENVIRONMENT, NOTEBOOKS_DIR

NAME = "03_vgg16_omniglot"
EPOCHS = 3
# Few epochs of a narrow tower keep the runs short; the first run is killed after its first epoch.
PARAMETERS = {"PROFILE": "smoke", "EPOCHS": EPOCHS, "WIDTH": 0.0625}
BACKUP = Path("classifier") / "backup" / "training_metadata.json"  # BackupAndRestore's epoch record
TIMEOUT = 900  # seconds for one run on a loaded 2-core machine


def start(folder: Path, checkpoints: Path, shared_data: Path) -> subprocess.Popen:
    """Start notebook 03 in papermill (its own process), writing into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **KERNEL_ENVIRONMENT, "COURSE_DATA_DIR": str(shared_data.resolve()),
           "COURSE_OFFLINE": "1"}
    parameters = {**PARAMETERS, "CHECKPOINT_DIR": str(checkpoints),
                  "METRICS_PATH": str(folder / "metrics.json")}
    command = [sys.executable, "-m", "papermill", str(NOTEBOOKS_DIR / f"{NAME}.ipynb"),
               str(folder / f"{NAME}.ipynb"), "--cwd", str(NOTEBOOKS_DIR), "--no-progress-bar",
               "-k", "python3"]
    for name, value in parameters.items():
        command += ["-p", name, str(value)]
    # A file, not a pipe: a pipe nobody reads can fill up and stall papermill.
    with open(folder / "papermill.log", "w") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen, folder: Path) -> dict:
    """Wait for a run started by ``start``; return its metrics, or fail with its log."""
    try:
        process.wait(TIMEOUT)
    finally:
        stop(process)
    log = (folder / "papermill.log").read_text()
    assert process.returncode == 0, f"notebook run in {folder} failed:\n{log[-3000:]}"
    return json.loads((folder / "metrics.json").read_text())


def stop(process: subprocess.Popen) -> None:
    """Kill a run started by ``start`` that is still going, its kernel first."""
    import psutil

    if process.poll() is None:
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
        process.kill()
        process.wait()


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


def backed_up_epoch(checkpoints: Path) -> int | None:
    """The epoch the classifier's backup holds; None until its record is written whole."""
    try:
        return json.loads((checkpoints / BACKUP).read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return None


def kill_kernel_after_first_backup(process: subprocess.Popen, checkpoints: Path, folder: Path) -> int:
    """SIGKILL the run's kernel as soon as an epoch is backed up in ``checkpoints``; return it."""
    try:
        deadline = time.monotonic() + TIMEOUT
        while backed_up_epoch(checkpoints) is None:
            if process.poll() is not None:
                pytest.fail(f"the notebook ended (exit {process.returncode}) without backing up an "
                            f"epoch in CHECKPOINT_DIR ({checkpoints}): it cannot resume\n"
                            f"{(folder / 'papermill.log').read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no epoch backed up in {checkpoints} within {TIMEOUT} s")
            time.sleep(0.1)
        kernel = kernel_of(process)
        assert kernel is not None, "papermill's kernel process not found"
        os.kill(kernel.pid, signal.SIGKILL)
        kernel.wait(30)
        process.wait(120)  # papermill reports the dead kernel and exits
        assert process.returncode != 0, "papermill finished although its kernel was killed"
    finally:
        stop(process)
    return backed_up_epoch(checkpoints)


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


@pytest.mark.parametrize("name", ["02_contrastive_siamese", "03_vgg16_omniglot"])
def test_every_fit_of_the_notebook_can_resume_from_checkpoint_dir(name):
    code = [c for c in nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4).cells
            if c.cell_type == "code"]
    [parameters] = [c.source for c in code if "parameters" in c.metadata.get("tags", [])]
    assert re.search(r"^CHECKPOINT_DIR = None ", parameters, re.M), f"{name} has no CHECKPOINT_DIR"
    cells = [c.source for c in code]
    fits = [line.strip() for cell in cells for line in cell.splitlines() if ".fit(" in line]
    assert not fits, f"{name}: a fit that cannot resume (use fit_or_resume): {fits}"
    assert any("fit_or_resume(" in cell for cell in cells)


@pytest.mark.notebook
def test_a_killed_kernel_resumes_training_where_it_stopped(shared_data, tmp_path):
    checkpoints, fresh = tmp_path / "checkpoints", tmp_path / "fresh"
    # The unbroken run goes alongside the other two: much of a run is one busy core (kernel start,
    # XLA compilation, plotting), so two runs at once take less time than one after the other.
    unbroken = start(tmp_path / "unbroken", fresh, shared_data)
    try:
        killed = start(tmp_path / "killed", checkpoints, shared_data)
        backed_up = kill_kernel_after_first_backup(killed, checkpoints, tmp_path / "killed")
        assert 1 <= backed_up < EPOCHS, f"killed after epoch {backed_up} of {EPOCHS}: not mid-training"
        assert not (checkpoints / "classifier" / "finished.weights.h5").exists()
        resumed = finish(start(tmp_path / "resumed", checkpoints, shared_data), tmp_path / "resumed")
        unbroken_metrics = finish(unbroken, tmp_path / "unbroken")
    finally:
        stop(unbroken)

    # Each epoch is trained once: the second run starts after the last epoch the first one backed up.
    executed = tmp_path / "resumed" / f"{NAME}.ipynb"
    assert printed_epochs(executed, "fit_or_resume(classifier") == list(range(backed_up + 1, EPOCHS + 1))
    assert printed_epochs(executed, "fit_or_resume(head") == [1, 2, 3]

    # The resumed run restores the exact weights, optimiser state and epoch counter, and its streams
    # draw each epoch from (SEED, epoch) alone, so it trains on the same batches from the same state
    # as the unbroken run: same computations on the same machine, so the same numbers. The
    # tolerances only leave room for the last bits of multithreaded CPU sums (rel 1e-5 on losses
    # and weights, which a resume on other batches misses by far), and one trial on accuracies: a
    # last-bit difference could at most flip a near-tie between two candidates of one trial.
    from course_utils.checkpoints import read_history  # not at the top: the old code lacks it

    pieced = read_history(checkpoints / "classifier" / "history.csv")
    whole = read_history(fresh / "classifier" / "history.csv")
    assert len(pieced["loss"]) == EPOCHS
    assert pieced["loss"] == pytest.approx(whole["loss"], rel=1e-5)
    for model in ("classifier", "siamese_head"):
        after_kill, unbroken_weights = (weights(folder / model / "finished.weights.h5")
                                        for folder in (checkpoints, fresh))
        assert after_kill.keys() == unbroken_weights.keys()
        for name, array in unbroken_weights.items():
            np.testing.assert_allclose(after_kill[name], array, rtol=1e-5, atol=1e-6, err_msg=name)
    one_trial = 1 / unbroken_metrics["trials"]
    for metric in ("one_shot_20way_accuracy", "siamese_20way_accuracy"):
        assert resumed[metric] == pytest.approx(unbroken_metrics[metric], abs=one_trial), metric
