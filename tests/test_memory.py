"""measure(): wall time and peak resident memory of a call."""

import time

import numpy as np

from course_utils.memory import measure


def test_measure_returns_the_result_and_a_duration():
    result = measure(lambda: (time.sleep(0.05), 42)[1])
    assert result.result == 42
    assert 0.04 < result.seconds < 2


def test_measure_sees_a_large_temporary_allocation():
    def allocate():
        block = np.ones(200_000_000 // 8)
        return float(block.sum())

    assert measure(allocate).peak_bytes > 150_000_000
    assert measure(lambda: 1 + 1).peak_bytes < 50_000_000
