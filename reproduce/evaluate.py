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
             limit: int | dict[str, int] | None = None, progress: Callable[[str], None] | None = None,
             extra_metrics: dict[str, Callable[[torch.Tensor, torch.Tensor], float]] | None = None) -> list[dict]:
    """Score ``method`` on every set x scale.

    Args:
        method: ``"bicubic"``; an implicit model (``forward(inp, coord, cell)``,
            evaluated with ``engine.upscale``); or a callable
            ``(lr (3, h, w) in [0, 1], (H, W)) -> sr (3, H, W) in [0, 1]``.
        limit: first N images of every set, or ``{set: N}`` for some sets
            (None: all images).
        extra_metrics: name -> ``fn(sr, hr)`` on the un-shaved (3, H, W) [0, 1]
            pair, averaged like PSNR (e.g. ST-LPIPS).

    Returns:
        rows ``{"set", "scale", "images", "psnr", "ssim", *extra}`` (dB and
        [0, 1]), one per set and scale; ``images`` is how many images were scored.
    """
    if method == "bicubic":
        def run(lr_t, size):
            return bicubic_upscale(lr_t, size)
    elif isinstance(method, torch.nn.Module):
        device = next(method.parameters()).device

        def run(lr_t, size):
            return upscale(method, lr_t.to(device), size, chunk=chunk, bf16=bf16).cpu()
    elif callable(method):
        run = method
    else:
        raise TypeError(f"cannot evaluate {method!r}: expected 'bicubic', a model or a callable")
    extra_metrics = extra_metrics or {}
    rows = []
    for name in sets:
        n = limit.get(name) if isinstance(limit, dict) else limit
        images = ImageSet(name, limit=n)
        preset = preset_for_dataset(name)
        for scale in scales:
            pairs = EvalPairs(images, scale)
            scores = {"psnr": [], "ssim": [], **{k: [] for k in extra_metrics}}
            for i in range(len(pairs)):
                lr, hr = pairs[i]
                hr_t = to_tensor(hr)
                with torch.no_grad():
                    sr = run(to_tensor(lr), tuple(hr_t.shape[-2:]))
                scores["psnr"].append(float(psnr(sr, hr_t, preset, scale)))
                scores["ssim"].append(float(ssim(sr, hr_t, preset, scale)))
                for key, fn in extra_metrics.items():
                    scores[key].append(float(fn(sr, hr_t)))
            row = {"set": name, "scale": scale, "images": len(pairs),
                   **{k: sum(v) / len(v) for k, v in scores.items()}}
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
