"""Benchmark evaluation: PSNR/SSIM of a model (or bicubic) per dataset and scale.

Each dataset is scored with its community preset (``metrics.preset_for_dataset``:
benchmarks on Y with shave = scale, DIV2K-like sets on RGB with shave =
scale + 6); the figure for a set is the mean of per-image values. LR inputs
follow the test protocol of ``data.make_lr``.
"""
from __future__ import annotations

import csv
import io
from typing import Callable, Iterable

import torch

from .data import EvalPairs, ImageSet, to_tensor
from .engine.predict import upscale
from .fileio import write_text_atomic
from .imresize import imresize
from .metrics import preset_for_dataset, psnr, ssim

COLUMNS = ("set", "scale", "psnr", "ssim")


def bicubic_upscale(lr: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The bicubic baseline: MATLAB-bicubic upsampling of (3, h, w) [0, 1] to size, clamped."""
    return imresize(lr, size=tuple(size)).clamp_(0, 1)


def evaluate(method, sets: Iterable[str], scales: Iterable[float], chunk: int = 30000, bf16: bool = False,
             limit: int | None = None, progress: Callable[[str], None] | None = None) -> list[dict]:
    """Score ``method`` ('bicubic' or an implicit model) on every set x scale.

    Returns:
        rows ``{"set", "scale", "psnr", "ssim"}`` (dB and [0, 1]), one per set and scale.
    """
    device = "cpu" if method == "bicubic" else next(method.parameters()).device
    rows = []
    for name in sets:
        images = ImageSet(name, limit=limit)
        preset = preset_for_dataset(name)
        for scale in scales:
            pairs = EvalPairs(images, scale)
            psnrs, ssims = [], []
            for i in range(len(pairs)):
                lr, hr = pairs[i]
                hr_t = to_tensor(hr)
                lr_t = to_tensor(lr)
                if method == "bicubic":
                    sr = bicubic_upscale(lr_t, hr_t.shape[-2:])
                else:
                    sr = upscale(method, lr_t.to(device), hr_t.shape[-2:], chunk=chunk, bf16=bf16).cpu()
                psnrs.append(float(psnr(sr, hr_t, preset, scale)))
                ssims.append(float(ssim(sr, hr_t, preset, scale)))
            row = {"set": name, "scale": scale, "psnr": sum(psnrs) / len(psnrs), "ssim": sum(ssims) / len(ssims)}
            rows.append(row)
            if progress:
                progress(format_row(row))
    return rows


def format_row(row: dict) -> str:
    return f"{row['set']:<10} x{row['scale']:<5g} {row['psnr']:8.3f} {row['ssim']:8.4f}"


def format_table(rows: list[dict]) -> str:
    header = f"{'set':<10} {'scale':<6} {'psnr':>8} {'ssim':>8}"
    return "\n".join([header, *(format_row(r) for r in rows)])


def write_csv(path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({"set": row["set"], "scale": f"{row['scale']:g}", "psnr": f"{row['psnr']:.4f}", "ssim": f"{row['ssim']:.5f}"})
    write_text_atomic(path, buf.getvalue())
