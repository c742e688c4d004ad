"""Does bf16 autocast train as well as fp32? Two short runs, same seed and data.

Trains EDSR-baseline-LIIF (fast path) for ``--steps`` steps in fp32 and in
bf16 autocast with the same config and batches, then evaluates both in fp32
on Set5 x2/x4 and the validation set. Writes results/benchmarks/bf16_vs_fp32.json.

    REPRODUCE_DATA=... python benchmarks/bf16_vs_fp32.py [--steps 300]
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from common import LIIF_SPEC, save_json
from reproduce.config import load_config
from reproduce.engine import read_log, train
from reproduce.evaluate import evaluate
from reproduce.models import load
from reproduce.provenance import provenance


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--datasets", default="T91,BSD200")
    parser.add_argument("--out-dir", default="runs/bf16_vs_fp32", help="run folders (replaced); checkpoints are kept there")
    args = parser.parse_args()
    out = {"steps": args.steps, "runs": {}, "provenance": provenance()}
    root = Path(args.out_dir)
    if root.exists():
        shutil.rmtree(root)
    for name, bf16 in (("fp32", False), ("bf16", True)):
        cfg = load_config(None, {
            "model": LIIF_SPEC,
            "train": {"datasets": args.datasets.split(","), "steps": args.steps, "lr": 4e-4,
                      "schedule": {"kind": "cosine", "warmup": 0.05, "final": 0.05}, "bf16": bf16, "seed": 0},
            "valid": {"every": args.steps, "limit": 4},
            "run": {"out_dir": str(root / name), "log_every": 25, "checkpoint_every": args.steps}})
        tic = time.perf_counter()
        ckpt = train(cfg, log=lambda m: print(f"[{name}] {m}", flush=True))
        minutes = (time.perf_counter() - tic) / 60
        rows = evaluate(load(ckpt), ["Set5"], [2, 4])
        log = read_log(root / name)
        out["runs"][name] = {"minutes": minutes, "val_psnr": [r["val_psnr"] for r in log if "val_psnr" in r][-1],
                             "loss_curve": [(r["step"], r["loss"]) for r in log if "loss" in r],
                             "set5": {f"x{r['scale']:g}": r["psnr"] for r in rows}}
        print(name, out["runs"][name]["val_psnr"], out["runs"][name]["set5"], f"{minutes:.1f} min", flush=True)
    save_json("bf16_vs_fp32", out)


if __name__ == "__main__":
    main()
