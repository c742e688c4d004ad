"""Scores of a super-resolved normal map against the ground truth, inside the object mask.

* Angular error (degrees) between unit normals: mean, median and the share of
  pixels under 5, 11.25 and 22.5 degrees (the photometric-stereo convention).
  It is the error of the quantity a normal map stores, independent of the
  8-bit colour encoding.
* PSNR of the encoded map ((n + 1) / 2 in [0, 1]), the source report's only
  metric: a colour error that weighs each component's error equally, whatever
  the normal's direction, and says nothing direct about the surface.
* Detail energy: the mean angle between a normal and its shape component (the
  local mean normal); an output with less detail energy than the ground truth
  is smoother than the true surface.
"""
from __future__ import annotations

import math

import torch

from . import geometry

THRESHOLDS = (5.0, 11.25, 22.5)


def angular_stats(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> dict:
    """Angular-error summary of unit normals pred, gt (3, H, W) over mask (H, W)."""
    err = geometry.angular_error(pred, gt)[mask].double()
    out = {"mean_angle": float(err.mean()), "median_angle": float(err.median())}
    for t in THRESHOLDS:
        out[f"within_{str(t).replace('.', '_').rstrip('0').rstrip('_')}"] = float((err < t).double().mean())
    return out


def encoded_psnr(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR (dB, peak 1) of the encoded maps over the mask pixels and the 3 channels."""
    diff = (geometry.encode(pred) - geometry.encode(gt))[:, mask].double()
    mse = float((diff * diff).mean())
    return math.inf if mse == 0 else -10 * math.log10(mse)


def detail_angle(normals: torch.Tensor, mask: torch.Tensor, sigma: float = geometry.SHAPE_SIGMA) -> torch.Tensor:
    """Per-pixel angle (degrees, (H, W)) between each normal and its shape component."""
    return geometry.angular_error(normals, geometry.shape_component(normals, mask, sigma))


def detail_energy(normals: torch.Tensor, mask: torch.Tensor, sigma: float = geometry.SHAPE_SIGMA) -> float:
    """Mean :func:`detail_angle` over the mask (degrees)."""
    return float(detail_angle(normals, mask, sigma)[mask].double().mean())
