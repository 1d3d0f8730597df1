"""Measure the time and the peak memory a piece of work takes, for benchmarks and notebooks."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import psutil


@dataclass(frozen=True)
class Measurement:
    """Wall time and peak resident memory above the starting level of one call."""

    result: Any
    seconds: float
    peak_bytes: int


def measure(work: Callable[[], Any], interval: float = 0.002) -> Measurement:
    """Call ``work()`` while sampling this process's resident memory; return its peak growth.

    Resident memory counts what numpy, TensorFlow and Python allocate alike, so two pipelines are
    compared on the same footing.
    """
    process = psutil.Process()
    start_rss = process.memory_info().rss
    peak = [start_rss]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        result = work()
    finally:
        seconds = time.perf_counter() - start
        peak[0] = max(peak[0], process.memory_info().rss)
        done.set()
        sampler.join()
    return Measurement(result, seconds, max(0, peak[0] - start_rss))
