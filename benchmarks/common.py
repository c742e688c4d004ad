"""Helpers shared by the benchmark scripts (timing, peak memory, result files)."""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent.parent / "results"
LIIF_SPEC = {"name": "liif", "args": {
    "encoder_spec": {"name": "edsr-baseline", "args": {"no_upsampling": True}},
    "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [256, 256, 256, 256]}}}}


def median_time(fn, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        fn()
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def matmul_peak_tflops(dtype=torch.bfloat16, n: int = 4096) -> float:
    """Measured dense matmul throughput (the machine's practical peak for ``dtype``)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    seconds = median_time(lambda: a @ b, repeats=5)
    return 2 * n ** 3 / seconds / 1e12


def save_json(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "benchmarks" / f"{name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
