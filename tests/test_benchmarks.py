"""The benchmarks still run and print what their docstrings promise (tiny sizes, no timing asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_ann_benchmark_prints_recall_and_speedups_as_one_json_line():
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ann_retrieval.py"), "--database", "3000",
         "--queries", "40", "--validation", "40", "--m", "8", "--repeats", "1"],
        capture_output=True, text=True, cwd=ROOT, check=True, timeout=300)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["database"] == 3000 and result["queries"] == 40 and result["m"] == 8
    assert 0.0 <= result["recall_at_10"] <= 1.0
    assert result["ef"] >= 10
    for key in ("speedup", "batch_speedup", "numpy_per_query_speedup"):
        assert result[key] > 0
    assert result["speedup"] == result["exact_seconds"] / result["ann_seconds"]


def test_ann_benchmark_rejects_too_few_real_codes(tmp_path):
    codes = tmp_path / "codes.npy"
    np.save(codes, np.zeros((100, 32), np.float32))
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ann_retrieval.py"), "--codes", str(codes)],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert completed.returncode != 0
    assert "need a 2-D array with at least" in completed.stderr
