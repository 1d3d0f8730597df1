"""Training that survives a dead kernel: resume from the last finished epoch, reuse a finished run.

Colab disconnects and Binder culls idle kernels; a long ``fit`` should not start over. Each model
trains in a folder of its own (one subfolder of the notebook's ``CHECKPOINT_DIR`` per model):

- ``backup/``: Keras' ``BackupAndRestore`` state (weights, optimizer state, epoch number), written at
  every epoch end; ``fit`` restarted with the same folder resumes at the next epoch. It is removed
  once the finished weights are saved.
- ``history.csv``: one row per finished epoch (``CSVLogger``), kept across restarts, so the
  training curve is whole however often the run was interrupted.
- ``finished.weights.h5``: the weights once ``fit`` has finished. A later call with the same folder
  loads them instead of training again.

Data streams that draw new batches every epoch must draw epoch ``e`` the same way whether or not
the run was interrupted before it, or a resumed run trains on other batches than an uninterrupted
one. :class:`EpochClock` tells such a stream which epoch ``fit`` is in (``character_streams.class_stream``
and ``character_streams.embedding_pair_stream`` take it as ``clock``).
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path
from typing import Any, Protocol, Sequence

import keras

BACKUP = "backup"
HISTORY = "history.csv"
FINISHED = "finished.weights.h5"


class EpochSource(Protocol):
    """Anything that says which epoch (from 0) a stream is drawing, such as :class:`EpochClock`."""

    epoch: int


class EpochClock(keras.callbacks.Callback):
    """A callback that keeps the number (from 0) of the epoch ``fit`` is in, as ``epoch``."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch


def read_history(path: str | Path) -> dict[str, list[float]]:
    """Return a ``CSVLogger`` file as ``History.history``, each epoch once (the last row written).

    A kernel killed between the log's row and the backup of an epoch trains that epoch again and
    logs it twice; the later row is the one the resumed weights come from. ``CSVLogger`` writes
    ``NA`` for a metric an epoch lacks (``val_*`` without validation data): columns of nothing but
    ``NA`` are left out, other ``NA`` become NaN.
    """
    with open(path, newline="") as file:
        rows = {int(row.pop("epoch")): row for row in csv.DictReader(file)}
    epochs = [rows[epoch] for epoch in sorted(rows)]
    names = [name for name in (epochs[0] if epochs else {})
             if any(row[name] != "NA" for row in epochs)]
    return {name: [float("nan") if row[name] == "NA" else float(row[name]) for row in epochs]
            for name in names}


def fit_or_resume(model: keras.Model, data: Any, folder: str | Path, *, epochs: int,
                  callbacks: Sequence[keras.callbacks.Callback] = (),
                  **fit_args: Any) -> dict[str, list[float]]:
    """``model.fit(data, epochs=epochs, ...)`` that resumes and reuses its work in ``folder``.

    A first call trains and saves the finished weights; a call after an interruption resumes at the
    epoch after the last finished one (``BackupAndRestore``); a call after a finished run loads its
    weights and trains nothing. Returns the history of every epoch (``History.history``), however
    many calls it took. ``model`` must be compiled, and built when it resumes.
    """
    folder = Path(folder)
    backup, log, finished = folder / BACKUP, folder / HISTORY, folder / FINISHED
    if finished.exists():
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)  # its state is in the file too
        model.load_weights(finished)
        print(f"{model.name}: training finished earlier; weights loaded from {finished}")
        return read_history(log) if log.exists() else {}
    folder.mkdir(parents=True, exist_ok=True)
    if not backup.exists():  # a fresh start: forget the curve of an earlier, unfinished epoch
        log.unlink(missing_ok=True)
    # CSVLogger before BackupAndRestore: an epoch is logged, then backed up (see read_history).
    # The backup is kept until the finished weights are safely written, so no moment of a kill
    # loses the run: before the rename a rerun resumes (with no epoch left), after it loads.
    model.fit(data, epochs=epochs, callbacks=[
        *callbacks, keras.callbacks.CSVLogger(str(log), append=True),
        keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=False)], **fit_args)
    partial = folder / f"partial-{FINISHED}"
    model.save_weights(partial)
    os.replace(partial, finished)
    shutil.rmtree(backup, ignore_errors=True)
    return read_history(log)
