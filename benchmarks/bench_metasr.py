"""Does sharing MetaSR's weight predictions pay off? (x4 and x3.7 of a 128x128 input)

MetaSR predicts a (9C x 3) matrix per query from (offset, 1/scale). At an
integer scale s only s*s distinct inputs occur, so the fast path predicts each
matrix once and applies it to all its queries; at a non-integer scale there
are more distinct inputs but still far fewer than queries. Compared here:
the official formulation (``fast=False``: a matrix per query), the fast path
with sharing, and the fast path with sharing switched off. Full-size
EDSR-baseline-MetaSR, random weights (speed does not depend on them),
30000-query chunks, fp32 and bf16.

    python benchmarks/bench_metasr.py
"""
from __future__ import annotations

import torch

import reproduce.models.metasr as metasr
from common import median_time, save_json
from reproduce.engine import upscale
from reproduce.models import make
from reproduce.provenance import provenance

SPEC = {"name": "metasr", "args": {"encoder_spec": {"name": "edsr-baseline", "args": {"no_upsampling": True}}}}


def main() -> None:
    torch.manual_seed(0)
    model = make(SPEC).eval()
    lr = torch.rand(3, 128, 128)
    rows = []
    for scale in (4, 3.7):
        size = (round(128 * scale), round(128 * scale))
        for bf16 in (False, True):
            entry = {"scale": scale, "bf16": bf16}
            model.fast = False
            entry["official_s"] = median_time(lambda: upscale(model, lr, size, bf16=bf16), repeats=3)
            model.fast = True
            entry["fast_shared_s"] = median_time(lambda: upscale(model, lr, size, bf16=bf16), repeats=3)
            saved, metasr.DEDUP_MAX_FRACTION = metasr.DEDUP_MAX_FRACTION, -1.0  # never share
            entry["fast_unshared_s"] = median_time(lambda: upscale(model, lr, size, bf16=bf16), repeats=3)
            metasr.DEDUP_MAX_FRACTION = saved
            entry["speedup_vs_official"] = entry["official_s"] / entry["fast_shared_s"]
            rows.append(entry)
            print(f"x{scale:<4} bf16={bf16!s:<5}  official {entry['official_s']:.2f} s   fast+shared "
                  f"{entry['fast_shared_s']:.2f} s   fast unshared {entry['fast_unshared_s']:.2f} s   "
                  f"speed-up {entry['speedup_vs_official']:.1f}x", flush=True)
    save_json("metasr", {"provenance": provenance("cpu"), "rows": rows})


if __name__ == "__main__":
    main()
