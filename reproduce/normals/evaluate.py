"""Evaluating normal-map super-resolution on held-out objects: angular, PSNR and depth errors.

For one test map and scale: degrade (``data.degrade``), run every method on
the object's window, score inside the HR mask (``metrics``), and, where the
map has a ground-truth depth and the scale is one of ``depth_scales``,
integrate the output with the object's camera (``integrate.Integrator``,
factorised once per object and scale) and measure the depth error after
scale alignment, over the whole mask and over its high-detail pixels.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from . import geometry, metrics
from .data import NormalMap, degrade
from .integrate import Integrator, made

# Methods see the LR object window plus this margin (LR pixels): more than the
# EDSR-baseline encoder's receptive-field radius (34) and the shape filter's
# radius (9), so every output pixel of the object is what the whole map gives.
WINDOW_MARGIN = 40
# High-detail pixels: the top share of the ground truth's detail angle inside the mask.
DETAIL_SHARE = 0.2

Method = Callable[[torch.Tensor, torch.Tensor, tuple[int, int]], torch.Tensor]


def window(lr_mask: torch.Tensor, margin: int = WINDOW_MARGIN) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the LR mask's bounding box grown by ``margin``, inside the map."""
    ys, xs = torch.nonzero(lr_mask, as_tuple=True)
    h, w = lr_mask.shape
    if len(ys) == 0:
        return 0, h, 0, w
    return (max(0, int(ys.min()) - margin), min(h, int(ys.max()) + 1 + margin),
            max(0, int(xs.min()) - margin), min(w, int(xs.max()) + 1 + margin))


def run_windowed(method: Method, lr: torch.Tensor, lr_mask: torch.Tensor, scale: int, margin: int = WINDOW_MARGIN) -> torch.Tensor:
    """``method`` on the object window of an integer-scale LR map; the output (3, h*s, w*s) has (0, 0, 1) elsewhere."""
    if scale != int(scale):
        raise ValueError(f"windowed evaluation needs an integer scale, got {scale}")
    s = int(scale)
    y0, y1, x0, x1 = window(lr_mask, margin)
    part = method(lr[:, y0:y1, x0:x1], lr_mask[y0:y1, x0:x1], ((y1 - y0) * s, (x1 - x0) * s))
    out = geometry.facing(lr.shape[1] * s, lr.shape[2] * s)
    out[:, y0 * s:y1 * s, x0 * s:x1 * s] = part
    return out


@dataclass
class Outputs:
    """What the figures need from an evaluation: encoded uint8 maps and depths, by (object, scale, method)."""
    maps: dict = field(default_factory=dict)
    depths: dict = field(default_factory=dict)
    lr: dict = field(default_factory=dict)


def to_uint8(normals: torch.Tensor) -> np.ndarray:
    """Unit normals (3, H, W) -> encoded uint8 (H, W, 3)."""
    return geometry.encode(normals).clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy()


def evaluate_map(m: NormalMap, methods: dict[str, Method], scales: Sequence[int], fold: int,
                 depth_scales: Sequence[int] = (), keep_scales: Sequence[int] = (), outputs: Outputs | None = None) -> list[dict]:
    """Rows (one per method and scale) for one test map; see the module docstring."""
    rows = []
    for scale in scales:
        lr, lr_mask, hr_size = degrade(m.normals, m.mask, scale)
        gt = m.crop(*hr_size)
        hr_mask = gt.mask
        with_depth = gt.depth is not None and gt.K is not None and scale in depth_scales
        detail = metrics.detail_angle(gt.normals, hr_mask)
        gt_energy = float(detail[hr_mask].double().mean())  # = metrics.detail_energy(gt.normals, hr_mask)
        if with_depth:
            integrator = Integrator(hr_mask, gt.K)
            depth_gt_normals = integrator(gt.normals)
            cut = torch.quantile(detail[hr_mask].float(), 1 - DETAIL_SHARE)
            high_detail = (detail >= cut) & hr_mask
            rows.append(_depth_row("ground-truth normals", m, scale, fold, depth_gt_normals, gt, high_detail))
            if outputs is not None and scale in keep_scales:
                outputs.depths[(m.name, scale, "ground-truth normals")] = depth_gt_normals.astype(np.float32)
        if outputs is not None and scale in keep_scales:
            outputs.lr[(m.name, scale)] = to_uint8(lr)
            outputs.maps[(m.name, scale, "ground truth")] = to_uint8(gt.normals)
        for name, method in methods.items():
            start = time.perf_counter()
            pred = run_windowed(method, lr, lr_mask, scale)
            seconds = time.perf_counter() - start
            row = {"method": name, "scale": scale, "fold": fold, "object": m.name,
                   **metrics.angular_stats(pred, gt.normals, hr_mask), "psnr": metrics.encoded_psnr(pred, gt.normals, hr_mask),
                   "detail_ratio": metrics.detail_energy(pred, hr_mask) / gt_energy, "gt_detail_energy": gt_energy, "made_mm": math.nan,
                   "made_detail_mm": math.nan, "seconds": seconds}
            if with_depth:
                depth = integrator(pred)
                row["made_mm"] = made(depth, gt.depth, hr_mask.numpy())
                row["made_detail_mm"] = made(depth, gt.depth, hr_mask.numpy(), where=high_detail.numpy())
                if outputs is not None and scale in keep_scales:
                    outputs.depths[(m.name, scale, name)] = depth.astype(np.float32)
            if outputs is not None and scale in keep_scales:
                outputs.maps[(m.name, scale, name)] = to_uint8(pred)
            rows.append(row)
    return rows


def _depth_row(name, m, scale, fold, depth, gt, high_detail) -> dict:
    """The row of the integration of the ground-truth normals themselves (the depth errors' floor)."""
    return {"method": name, "scale": scale, "fold": fold, "object": m.name, "mean_angle": 0.0, "median_angle": 0.0,
            **{f"within_{k}": 1.0 for k in ("5", "11_25", "22_5")}, "psnr": math.inf, "detail_ratio": 1.0,
            "gt_detail_energy": math.nan,
            "made_mm": made(depth, gt.depth, gt.mask.numpy()),
            "made_detail_mm": made(depth, gt.depth, gt.mask.numpy(), where=high_detail.numpy()), "seconds": math.nan}
