"""Write results/benchmarks.md and figures/benchmarks.png from the benchmark JSON files.

    python benchmarks/bench_train.py && python benchmarks/bench_infer.py && python benchmarks/report.py
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"


def load(name: str) -> dict | None:
    path = RESULTS / "benchmarks" / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def provenance_line(p: dict) -> str:
    commit = (p.get("commit") or "?")[:10] + (" (dirty)" if p.get("dirty") else "")
    return f"commit {commit}, {p.get('device')}, torch {p.get('torch')}, {p.get('time')}"


def main():
    train, infer, precision = load("train"), load("infer"), load("bf16_vs_fp32")
    metasr = load("metasr")
    lines = ["# Benchmarks", "",
             "Produced by `benchmarks/bench_train.py`, `benchmarks/bench_infer.py` and `benchmarks/report.py` "
             "(EDSR-baseline-LIIF, random weights: speed does not depend on them). Timings are medians; "
             "this 2-core VM shows some run-to-run noise (about 10 %).", ""]
    if train:
        lines += ["## Training step (batch 16, 48x48 LR, 2304 queries)", "", f"Measured: {provenance_line(train['provenance'])}.", "",
                  "| variant | s/step | steps/s | speed-up vs plain fp32 |", "|---|---|---|---|"]
        lines += [f"| {r['variant']} | {r['s_per_step']:.3f} | {r['steps_per_s']:.2f} | {r['speedup_vs_plain_fp32']:.1f}x |" for r in train["rows"]]
        lines += ["", f"Measured bf16 matmul peak: {train['bf16_matmul_peak_tflops']:.2f} TFLOP/s. The fastest step does the "
                  f"plain formulation's work at {train['best_step_tflops']:.2f} TFLOP/s, {train['fraction_of_peak']:.0%} of that peak.",
                  f"Data loading: {train['loader_samples_per_s']:.0f} samples/s in one process against "
                  f"{train['training_samples_per_s']:.1f} samples/s consumed by the fastest training step, so the "
                  "loader is not the bottleneck (no workers needed on the CPU).", ""]
    if infer:
        lines += ["## Inference", "", f"Measured: {provenance_line(infer['provenance'])}.", "",
                  "x4 of a 128x128 input (512x512 output), 30000-query chunks, in process:", "",
                  "| variant | seconds | speed-up vs plain fp32 |", "|---|---|---|"]
        lines += [f"| {r['variant']} | {r['seconds']:.3f} | {r['speedup_vs_plain_fp32']:.1f}x |" for r in infer["in_process"]]
        lines += ["", "`reproduce upscale` in a fresh process (wall time includes start-up and PNG writing; peak RSS of that process):", "",
                  "| input | scale | output | precision | seconds | peak RSS (MB) |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['input']}x{r['input']} | x{r['scale']} | {r['output']}x{r['output']} | {'bf16' if r['bf16'] else 'fp32'} | "
                  f"{r['seconds']:.1f} | {r['peak_rss_mb']:.0f} |" for r in infer["cli"]]
        lines += ["", "Cost against output size (200x200 input, bf16):", "",
                  "| scale | output MP | seconds | s per MP | peak RSS (MB) |", "|---|---|---|---|---|"]
        lines += [f"| x{r['scale']} | {r['output_megapixels']:.2f} | {r['seconds']:.1f} | {r['seconds_per_megapixel']:.2f} | "
                  f"{r['peak_rss_mb']:.0f} |" for r in infer["scaling"]]
        mp = np.array([r["output_megapixels"] for r in infer["scaling"]])
        sec = np.array([r["seconds"] for r in infer["scaling"]])
        slope, intercept = np.polyfit(mp, sec, 1)
        lines += ["", f"A straight line fits the time: {slope:.2f} s per output megapixel + {intercept:.1f} s fixed "
                  "(process start-up, model load); peak RSS grows only by the 3-byte-per-pixel output buffer and the PNG encoder.", ""]
    if precision:
        runs = precision["runs"]
        lines += ["## bf16 autocast trains as well as fp32", "",
                  f"`benchmarks/bf16_vs_fp32.py`: two {precision['steps']}-step runs of EDSR-baseline-LIIF (fast path, "
                  "same seed and batches, peak lr 4e-4 with cosine decay), one in fp32 and one under bf16 autocast, "
                  f"both evaluated in fp32. Measured: {provenance_line(precision['provenance'])}.", "",
                  "| training precision | minutes | Kodak24 x4 validation (4 crops) | Set5 x2 | Set5 x4 |", "|---|---|---|---|---|"]
        lines += [f"| {name} | {r['minutes']:.1f} | {r['val_psnr']:.3f} | {r['set5']['x2']:.3f} | {r['set5']['x4']:.3f} |"
                  for name, r in runs.items()]
        delta = runs["bf16"]["set5"]["x4"] - runs["fp32"]["set5"]["x4"]
        lines += ["", f"The bf16 run ends within {abs(delta):.2f} dB of the fp32 run on Set5 x4 (PSNR in dB; such short runs "
                  "are far from converged, the point is that the two precisions follow the same curve). The minutes "
                  "are wall time on a shared 2-core machine and only indicative.", ""]
    if metasr:
        lines += ["## MetaSR: shared weight predictions", "",
                  "`benchmarks/bench_metasr.py`: EDSR-baseline-MetaSR upscaling a 128x128 input, 30000-query chunks. "
                  "The official formulation predicts a 9C x 3 matrix per query; the fast path predicts one per distinct "
                  f"(offset, 1/scale) input and applies it to all its queries. Measured: {provenance_line(metasr['provenance'])}.", "",
                  "| scale | precision | official (s) | fast, shared (s) | fast, not shared (s) | speed-up |", "|---|---|---|---|---|---|"]
        lines += [f"| x{r['scale']:g} | {'bf16' if r['bf16'] else 'fp32'} | {r['official_s']:.2f} | {r['fast_shared_s']:.2f} | "
                  f"{r['fast_unshared_s']:.2f} | {r['speedup_vs_official']:.1f}x |" for r in metasr["rows"]]
        lines += [""]
    lines += ["## GPU", "", "No GPU measurement has been made (no GPU was lent to the sessions that produced "
              "these figures): steps/s and the projected time for 10^6 iterations are still to be measured.", ""]
    (RESULTS / "benchmarks.md").write_text("\n".join(lines))

    if train and infer:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4))
        names = [r["variant"] for r in train["rows"]]
        axes[0].barh(names, [r["steps_per_s"] for r in train["rows"]], color="tab:blue")
        axes[0].set_xlabel("training steps / s (2-core CPU)")
        axes[0].invert_yaxis()
        axes[1].plot(mp, sec, "o-")
        axes[1].plot(mp, slope * mp + intercept, "k--", lw=1, label=f"{slope:.2f} s/MP + {intercept:.1f} s")
        axes[1].set_xlabel("output megapixels (200x200 input, x2..x30)")
        axes[1].set_ylabel("seconds (reproduce upscale, bf16)")
        axes[1].legend()
        axes[2].plot(mp, [r["peak_rss_mb"] for r in infer["scaling"]], "o-", color="tab:red")
        axes[2].set_xlabel("output megapixels")
        axes[2].set_ylabel("peak RSS (MB)")
        axes[2].set_ylim(bottom=0)
        fig.tight_layout()
        (ROOT / "figures").mkdir(exist_ok=True)
        fig.savefig(ROOT / "figures" / "benchmarks.png", dpi=110)
    print((RESULTS / "benchmarks.md").read_text())


if __name__ == "__main__":
    main()
