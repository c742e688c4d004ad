"""Inference speed and memory of EDSR-baseline-LIIF upscaling.

1. x4 of a 128x128 input with 30000-query chunks: plain fp32 vs fast fp32 vs
   fast bf16, in this process (model weights random: speed does not depend on them).
2. ``reproduce upscale`` as a user runs it (a fresh process each, so its peak
   RSS is its own): x4 of 256x256, x12 and x30 of 200x200, fp32 and bf16.
3. Cost against output size: x2 ... x30 of 200x200 in bf16 (time per output
   megapixel should be flat: linear growth), and peak RSS against size.

    python benchmarks/bench_infer.py
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from common import LIIF_SPEC, median_time, save_json
from reproduce.engine import upscale
from reproduce.models import make, save_checkpoint
from reproduce.provenance import provenance


def run_upscale(image: Path, scale: float, checkpoint: Path, out: Path, bf16: bool) -> dict:
    """Run the CLI in a child process; wall time and the child's own peak RSS (VmHWM)."""
    cmd = [sys.executable, str(Path(__file__).with_name("peak_memory.py")), "upscale", str(image), "--scale", f"{scale:g}",
           "--checkpoint", str(checkpoint), "-o", str(out), *(["--bf16"] if bf16 else [])]
    tic = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - tic
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr}")
    peak_kb = int(proc.stderr.rsplit("peak_rss_kb", 1)[1].split()[0])
    return {"seconds": seconds, "peak_rss_mb": peak_kb / 1024}


def main():
    torch.manual_seed(0)
    model = make(LIIF_SPEC).eval()
    lr = torch.rand(3, 128, 128)
    in_process = []
    for name, fast, bf16 in [("plain fp32", False, False), ("fast fp32", True, False), ("fast bf16", True, True)]:
        model.fast = fast
        seconds = median_time(lambda: upscale(model, lr, (512, 512), chunk=30000, bf16=bf16), repeats=3)
        in_process.append({"variant": name, "seconds": seconds})
        print(f"x4 of 128x128, {name:<11} {seconds:6.3f} s", flush=True)
    for row in in_process:
        row["speedup_vs_plain_fp32"] = in_process[0]["seconds"] / row["seconds"]
    model.fast = True

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        checkpoint = tmp / "liif.pt"
        save_checkpoint(checkpoint, model, LIIF_SPEC)
        rng = np.random.default_rng(0)
        for size in (200, 256):
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(tmp / f"in{size}.png")
        cli = []
        for size, scale in [(256, 4), (200, 12), (200, 30)]:
            for bf16 in (False, True):
                result = run_upscale(tmp / f"in{size}.png", scale, checkpoint, tmp / "out.png", bf16)
                result.update(input=size, scale=scale, output=size * scale, bf16=bf16)
                cli.append(result)
                print(f"reproduce upscale x{scale} of {size}x{size} -> {size * scale}x{size * scale} "
                      f"{'bf16' if bf16 else 'fp32'}: {result['seconds']:6.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB", flush=True)
        scaling = []
        for scale in (2, 4, 8, 12, 16, 20, 25, 30):
            result = run_upscale(tmp / "in200.png", scale, checkpoint, tmp / "out.png", True)
            megapixels = (200 * scale) ** 2 / 1e6
            result.update(scale=scale, output_megapixels=megapixels, seconds_per_megapixel=result["seconds"] / megapixels)
            scaling.append(result)
            print(f"x{scale:<3} {megapixels:6.2f} MP  {result['seconds']:6.1f} s  {result['seconds_per_megapixel']:.2f} s/MP  "
                  f"peak RSS {result['peak_rss_mb']:.0f} MB", flush=True)
    save_json("infer", {"in_process": in_process, "cli": cli, "scaling": scaling, "provenance": provenance()})


if __name__ == "__main__":
    main()
