"""Prediction with bounded memory: query coordinates are made chunk by chunk.

An H x W output needs H*W queries; the full coordinate and cell grids are
never built. Each chunk of ``chunk`` output pixels (in row-major order) gets
its coordinates from the per-axis pixel centres, is decoded, and is written
into the preallocated output, so memory grows with the output image only.
"""
from __future__ import annotations

import contextlib

import torch

from ..coords import centres
from ..normalize import from_model, to_model


def autocast_context(device: torch.device | str, bf16: bool):
    """bfloat16 autocast on CPU (AMX) or CUDA, or a no-op."""
    device = torch.device(device)
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


@torch.no_grad()
def upscale(model, lr: torch.Tensor, size: tuple[int, int], chunk: int = 30000, bf16: bool = False) -> torch.Tensor:
    """Super-resolve one image to an exact output size.

    Args:
        model: an implicit model with ``encode(inp)``, ``prepare(feat)`` and
            ``decode(prepared, coord, cell)`` (the per-image work is done once,
            not once per chunk).
        lr: (3, h, w) float in [0, 1] on the model's device.
        size: output (H, W) - rows first.
        chunk: queries decoded at once (the official evaluation uses 30000).
        bf16: run the network under bfloat16 autocast.

    Returns:
        (3, H, W) float32 in [0, 1] (clamped, not rounded).
    """
    height, width = size
    device = lr.device
    ys, xs = centres(height, device=device), centres(width, device=device)
    out = torch.empty(height * width, 3, dtype=torch.float32, device=device)
    cell_value = torch.tensor([2 / height, 2 / width], device=device)
    with autocast_context(device, bf16):
        prepared = model.prepare(model.encode(to_model(lr).unsqueeze(0)))
        for start in range(0, height * width, chunk):
            index = torch.arange(start, min(start + chunk, height * width), device=device)
            coord = torch.stack([ys[index // width], xs[index % width]], dim=-1).unsqueeze(0)
            cell = cell_value.expand_as(coord)
            out[start:start + len(index)] = from_model(model.decode(prepared, coord, cell)[0].float())
    return out.view(height, width, 3).permute(2, 0, 1)
