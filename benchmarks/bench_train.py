"""Training speed of EDSR-baseline-LIIF: steps/s for each formulation, side by side.

Batch 16, 48x48 LR crops, 2304 sampled queries (the paper's setting), one
fixed batch from the embedded sample images. Also measures the data loader
(samples/s) to show it is not the bottleneck, and the bf16 matmul peak, to
state what fraction of it a training step achieves.

    python benchmarks/bench_train.py [--repeats 5] [--no-compile]
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader

from common import LIIF_SPEC, matmul_peak_tflops, median_time, save_json
from reproduce.data import ImageSet, StepBatchSampler, TrainSamples
from reproduce.engine.train import train_step
from reproduce.models import make
from reproduce.provenance import provenance

# Forward multiply-adds of one training step, counted from the architecture:
# encoder 1.22 M MACs per LR pixel, decoder 4 x 0.346 M MACs per query (plain
# formulation); backward costs about twice the forward.
ENCODER_MACS_PER_PIXEL = 1.22e6
DECODER_MACS_PER_QUERY = 4 * 0.3469e6


def step_flops(batch: int = 16, lr_size: int = 48, queries: int = 2304) -> float:
    forward = batch * (lr_size ** 2 * ENCODER_MACS_PER_PIXEL + queries * DECODER_MACS_PER_QUERY)
    return 3 * 2 * forward


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    args = parser.parse_args()

    images = ImageSet("sample")
    samples = TrainSamples(images, seed=0)
    batch = next(iter(DataLoader(samples, batch_sampler=StepBatchSampler(len(samples), 16, 1))))
    variants = [("plain fp32", False, False, False), ("fast fp32", True, False, False),
                ("plain bf16", False, True, False), ("fast bf16", True, True, False)]
    if not args.no_compile:
        variants.append(("fast bf16 + compile", True, True, True))
    rows = []
    for name, fast, bf16, compiled in variants:
        torch.manual_seed(0)
        model = make(LIIF_SPEC)
        model.fast = fast
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        net = torch.compile(model) if compiled else model
        tic = time.perf_counter()
        train_step(net, optimizer, batch, torch.device("cpu"), bf16)  # warm-up (compilation)
        warmup = time.perf_counter() - tic
        seconds = median_time(lambda: train_step(net, optimizer, batch, torch.device("cpu"), bf16), args.repeats, warmup=1)
        rows.append({"variant": name, "s_per_step": seconds, "steps_per_s": 1 / seconds, "first_step_s": warmup})
        print(f"{name:<22} {seconds:7.3f} s/step  {1 / seconds:6.2f} steps/s  (first step {warmup:.1f} s)", flush=True)
    base = rows[0]["s_per_step"]
    for row in rows:
        row["speedup_vs_plain_fp32"] = base / row["s_per_step"]

    peak = matmul_peak_tflops()
    best = min(rows, key=lambda r: r["s_per_step"])
    achieved = step_flops() / best["s_per_step"] / 1e12
    print(f"bf16 matmul peak {peak:.2f} TFLOP/s; best step ({best['variant']}) does {achieved:.2f} TFLOP/s "
          f"of plain-formulation work = {achieved / peak:.0%} of peak", flush=True)

    # Data loading: samples per second of the training wrapper (one process, no workers).
    n = 256
    tic = time.perf_counter()
    for k in range(n):
        samples[(k % len(samples), k)]
    loader_rate = n / (time.perf_counter() - tic)
    needed = 16 * best["steps_per_s"]
    print(f"loader {loader_rate:.0f} samples/s in one process; training consumes {needed:.1f} samples/s", flush=True)

    save_json("train", {"rows": rows, "bf16_matmul_peak_tflops": peak, "best_step_tflops": achieved,
                        "fraction_of_peak": achieved / peak, "loader_samples_per_s": loader_rate,
                        "training_samples_per_s": needed, "provenance": provenance()})


if __name__ == "__main__":
    main()
