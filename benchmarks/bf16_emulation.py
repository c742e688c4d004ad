"""Does emulated bf16 give the committed bf16 scores? Committed rows recomputed in fp32 and in emulated bf16.

On a CPU without bf16 kernels ``reproduce.device.autocast_context`` emulates
bf16 autocast's convolutions and products with fp32 kernels
(``reproduce.emulated_bf16``). This script checks that against score rows
committed with native bf16 (an AMX host): for a few images of one method it
prints each row's committed PSNR and SSIM (and, with ``--metrics``, ST-LPIPS
and NIQE) and how far fp32 and emulated bf16 land from them, with the
seconds per image. Emulation is forced here, so it
runs (and checks the same thing) on any CPU; ``--native`` adds the native bf16
kernels, which take minutes per image on an AVX2-only CPU.

    python benchmarks/bf16_emulation.py [--method LIIF-d --seed 0 --set Set14 --scales 4 12 --images 3]
    python benchmarks/bf16_emulation.py --scores results/scores/ipf.csv --checkpoint results/checkpoints/ipf.pt \
        --method IPF --scales 2 3 4 6 8 12 --images 6 --metrics stlpips niqe --skip-fp32 --out bf16_emulation_ipf

The second asks whether IPF's extra seeds, scored with emulated bf16 on an
AVX2-only CPU, can be set beside seed 0's rows scored natively on an AMX
host: a shift of seed 0's means by the hardware would enter IPF's
seed-to-seed spread, and so every training-noise floor of ``06_ipf``.

Needs the datasets (``REPRODUCE_DATA``) and the committed checkpoint.
"""
from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from common import RESULTS, save_json
from reproduce.data import dataset_files
from reproduce.device import bf16_arithmetic
from reproduce.emulated_bf16 import EmulatedBf16
from reproduce.evaluate import score_images
from reproduce.models import load
from reproduce.provenance import provenance
from reproduce.scores import read_table


@contextmanager
def native_kernels():
    """bf16 on this CPU's own kernels, even where ``autocast_context`` would emulate them."""
    import reproduce.device as device

    chosen = device.bf16_arithmetic
    device.bf16_arithmetic = lambda *args: "native"
    try:
        yield
    finally:
        device.bf16_arithmetic = chosen


def scored(model, label, set_name, scales, images, bf16, emulate=False, metrics=None):
    """Score rows of ``model`` in fp32, bf16 (``emulate``: emulated whatever the CPU has, else its native kernels).

    ``metrics``: name -> ``fn(sr, hr)`` beside PSNR and SSIM (the notebooks' ST-LPIPS and NIQE).
    """
    tic, before = time.perf_counter(), EmulatedBf16.total
    # emulating, an own mode counts the ops whether or not autocast_context adds one beneath it
    with EmulatedBf16() if emulate else native_kernels():
        rows = score_images(model, label, [set_name], scales, images={set_name: images}, bf16=bf16,
                            extra_metrics=metrics)
    print(f"{label}: {time.perf_counter() - tic:.1f} s, {EmulatedBf16.total - before} ops emulated", flush=True)
    return rows[["set", "image", "scale", "psnr", "ssim", *(metrics or {}), "seconds"]]


def extra_metrics(names):
    """The notebooks' perceptual metrics by name: ``stlpips`` (alex) and ``niqe``."""
    from reproduce.evaluate import stlpips_metric
    from reproduce.niqe import niqe_metric

    known = {"stlpips": lambda: stlpips_metric("alex"), "niqe": niqe_metric}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown metric(s) {', '.join(unknown)}: known are {', '.join(known)}")
    return {n: known[n]() for n in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", default=str(RESULTS / "scores" / "ablations.csv"), help="committed bf16 score table")
    parser.add_argument("--checkpoint", default=None, help="default: results/checkpoints/ablations/<method>-seed<seed>.pt")
    parser.add_argument("--method", default="LIIF-d")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", default="Set14")
    parser.add_argument("--scales", type=float, nargs="+", default=[4.0, 12.0])
    parser.add_argument("--images", type=int, default=3, help="the first N images of the set")
    parser.add_argument("--native", action="store_true", help="also the native bf16 kernels (very slow without AVX-512)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--metrics", nargs="*", default=[], help="also these committed columns: stlpips, niqe")
    parser.add_argument("--skip-fp32", action="store_true", help="emulated bf16 only (fp32 is what 06's bf16 check measures)")
    parser.add_argument("--out", default="bf16_emulation", help="results/benchmarks/<out>.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    checkpoint = args.checkpoint or str(RESULTS / "checkpoints" / "ablations" / f"{args.method}-seed{args.seed}.pt")
    table = read_table(args.scores)
    missing = [m for m in args.metrics if m not in table.columns]
    if missing:
        raise SystemExit(f"{args.scores} has no column {', '.join(missing)}: drop it from --metrics")
    committed = table[table["method"].eq(args.method) & table["seed"].eq(args.seed) & table["set"].eq(args.set)]
    images = [f.stem for f in dataset_files(args.set)[:args.images]]
    model = load(checkpoint).eval()
    metrics = extra_metrics(args.metrics)
    columns = ("psnr", "ssim", *metrics)
    runs = {} if args.skip_fp32 else {"fp32": scored(model, "fp32", args.set, args.scales, images, bf16=False,
                                                       metrics=metrics)}
    runs["emulated"] = scored(model, "emulated", args.set, args.scales, images, bf16=True, emulate=True, metrics=metrics)
    if args.native:
        runs["native"] = scored(model, "native", args.set, args.scales, images, bf16=True, metrics=metrics)
    merged = committed[["set", "image", "scale", *columns]]
    for label, rows in runs.items():
        merged = merged.merge(rows.rename(columns={c: f"{c}_{label}" for c in (*columns, "seconds")}),
                              on=["set", "image", "scale"])
    if merged.empty:
        raise SystemExit(f"no committed rows of {args.method} seed {args.seed} on {args.set} at {args.scales} in {args.scores}")
    lines, summary = [], {}
    for label in runs:
        merged[f"dpsnr_{label}"] = merged[f"psnr_{label}"] - merged["psnr"]
        merged[f"dssim_{label}"] = merged[f"ssim_{label}"] - merged["ssim"]
        summary[label] = {"max_abs_dpsnr": float(merged[f"dpsnr_{label}"].abs().max()),
                          "mean_dpsnr": float(merged[f"dpsnr_{label}"].mean()),
                          "max_abs_dssim": float(merged[f"dssim_{label}"].abs().max()),
                          "seconds": float(merged[f"seconds_{label}"].sum())}
        lines.append(f"{label:>8}: PSNR - committed: mean {summary[label]['mean_dpsnr']:+.5f} dB, "
                     f"max |.| {summary[label]['max_abs_dpsnr']:.5f} dB; SSIM max |.| {summary[label]['max_abs_dssim']:.6f}; "
                     f"{summary[label]['seconds']:.1f} s for {len(merged)} images")
        for name in metrics:  # per scale: the shift of the mean over the images, which a seed-to-seed sd would absorb
            merged[f"d{name}_{label}"] = merged[f"{name}_{label}"] - merged[name]
            by_scale = merged.groupby("scale")[f"d{name}_{label}"]
            summary[label][f"mean_d{name}_by_scale"] = {f"{k:g}": float(v) for k, v in by_scale.mean().items()}
            summary[label][f"max_abs_d{name}"] = float(merged[f"d{name}_{label}"].abs().max())
            lines.append(f"{label:>8}: {name} - committed: max |.| {summary[label][f'max_abs_d{name}']:.5f}; mean per "
                         "scale " + ", ".join(f"x{k} {v:+.5f}" for k, v in summary[label][f"mean_d{name}_by_scale"].items()))
    columns = (["image", "scale", "psnr"] + [f"d{c}_{label}" for c in ("psnr", *metrics) for label in runs]
               + [f"seconds_{label}" for label in runs])
    print(merged[columns].to_string(index=False, float_format=lambda v: f"{v:.5f}"))
    print("\n".join(lines))
    prov = provenance(torch.device("cpu"), bf16_kernels="emulated")  # forced here, whatever the CPU has
    print(f"{prov['device']}; bf16 autocast on this CPU: {bf16_arithmetic('cpu')} kernels; committed scores: {args.scores} "
          f"(the committed table keeps 4 decimals of PSNR)")
    path = save_json(args.out, {"method": args.method, "seed": args.seed, "set": args.set,
                                        "scales": args.scales, "checkpoint": str(Path(checkpoint)),
                                        "rows": merged.to_dict("records"), "summary": summary, "provenance": prov})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
