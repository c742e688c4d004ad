"""Does glibc's allocator policy slow LIIF down on the CPU? Same work, two environments.

glibc serves allocations above its mmap threshold (at most 32 MB) with fresh
``mmap`` pages and returns them on ``free``; every new large tensor then
pays page faults on first touch, which on a memory-bound decoder can cost
as much as the arithmetic. ``MALLOC_MMAP_MAX_=0`` (no mmap: large blocks come
from the heap) with a huge ``MALLOC_TRIM_THRESHOLD_`` (the heap is not
shrunk) lets freed blocks be reused. Each variant runs in a fresh process
(the environment is read at start-up), on the same work:

1. ``upscale`` of a 192x128 input x4 (768x512, a Kodak-sized output) with
   EDSR-baseline-LIIF, fp32, no autograd: inference;
2. five steps of IPF's adversarial training step on 64-px patches (batch 8),
   fp32, with autograd: training.

Prints seconds per call (median of repeats, after a warm-up) for both.

    python benchmarks/bench_allocator.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import json, statistics, sys, time, torch
from reproduce.models import make
from reproduce.engine import upscale
sys.path.insert(0, "benchmarks")
from common import LIIF_SPEC
torch.manual_seed(0)
model = make(LIIF_SPEC).eval()
lr = torch.rand(3, 128, 192)
upscale(model, lr, (512, 768))
times = []
for _ in range(3):
    t = time.perf_counter(); upscale(model, lr, (512, 768)); times.append(time.perf_counter() - t)
out = {"upscale_s": statistics.median(times)}
from reproduce.models.ipf import IPF
from reproduce.engine.adversarial import AdversarialStep
ipf = make({"name": "ipf", "args": {"base_spec": LIIF_SPEC}})
ipf.base.requires_grad_(False)
opt = torch.optim.Adam([p for p in ipf.parameters() if p.requires_grad], 1e-4)
step = AdversarialStep({"discriminator": {"name": "srgan-discriminator", "args": {"patch": 64}}, "content": "vgg",
                        "adv_weight": 5e-3, "pixel_weight": 1e-2, "pixel_loss": "l1"}, torch.device("cpu"), 1e-4)
batch = {"inp": torch.rand(8, 3, 24, 24), "gt": torch.rand(8, 3, 64, 64)}
step(ipf, opt, batch, torch.device("cpu"), False)
times = []
for _ in range(5):
    t = time.perf_counter(); step(ipf, opt, batch, torch.device("cpu"), False); times.append(time.perf_counter() - t)
out["ipf_step_s"] = statistics.median(times)
print(json.dumps(out))
"""

VARIANTS = {"glibc default": {}, "no mmap, no trim": {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 36)}}


def main() -> None:
    from reproduce.provenance import cpu_description

    print(f"CPU: {cpu_description()}, {os.cpu_count()} cores")
    for name, extra in VARIANTS.items():
        env = {**os.environ, **extra}
        proc = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{name:<18} upscale x4 to 768x512: {result['upscale_s']:.2f} s   IPF training step: {result['ipf_step_s']:.2f} s")


if __name__ == "__main__":
    main()
