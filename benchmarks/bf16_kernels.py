"""Is bf16 autocast a speed-up or a slow-down on this machine? The EDSR-baseline encoder in fp32 and in bf16.

bf16 is fast only where oneDNN has bf16 kernels (AVX-512 or AMX; a GPU):
without them it falls back to a reference path that can be hundreds of
times slower than fp32. ``reproduce.device.has_bf16_kernels`` is what the
notebooks' ``bf16 = "auto"`` asks; this script measures what it predicts.
Inputs of 48 x 48 (one training crop) and 96 x 96, channels-last as in
``upscale``, on one thread (so that a second core busy with other work
does not skew it); the slow path takes minutes on an AVX2-only CPU. The
third column is bf16 emulated by fp32 kernels (``reproduce.emulated_bf16``,
what ``autocast_context`` uses on a CPU without the kernels).

    python benchmarks/bf16_kernels.py
"""
from __future__ import annotations

from contextlib import nullcontext

import torch

from common import LIIF_SPEC, median_time, save_json
from reproduce.device import has_bf16_kernels
from reproduce.emulated_bf16 import EmulatedBf16
from reproduce.models import make
from reproduce.provenance import provenance


@torch.no_grad()
def encoder_seconds(model, bf16: bool, size: int = 48, emulated: bool = False) -> float:
    inp = torch.rand(1, 3, size, size).mul(2).sub(1).contiguous(memory_format=torch.channels_last)

    def run():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16), EmulatedBf16() if emulated else nullcontext():
            model.encode(inp)

    return median_time(run, repeats=3, warmup=1)


def main() -> None:
    model = make(LIIF_SPEC).eval()
    torch.set_num_threads(1)
    rows = []
    for size in (48, 96):
        fp32, bf16 = encoder_seconds(model, False, size), encoder_seconds(model, True, size)
        emulated = encoder_seconds(model, True, size, emulated=True)
        rows.append({"size": size, "threads": 1, "fp32_s": fp32, "bf16_s": bf16, "bf16_over_fp32": bf16 / fp32,
                     "emulated_bf16_s": emulated, "emulated_over_fp32": emulated / fp32})
        print(f"encoder on {size}x{size}, 1 thread: fp32 {fp32 * 1e3:.1f} ms, bf16 {bf16 * 1e3:.1f} ms "
              f"(bf16 / fp32 = {bf16 / fp32:.2f}), emulated bf16 {emulated * 1e3:.1f} ms "
              f"(emulated / fp32 = {emulated / fp32:.2f})", flush=True)
    prov = provenance(torch.device("cpu"))
    kernels = has_bf16_kernels("cpu")
    print(f"{prov.get('device')}: has_bf16_kernels = {kernels}; bf16 = 'auto' picks {'bf16' if kernels else 'fp32'}")
    path = save_json("bf16_kernels", {"has_bf16_kernels": kernels, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                                      "rows": rows, "provenance": prov})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
