"""LIIF's continuous coordinate and cell conventions.

An image of ``n`` pixels along an axis covers [-1, 1]; pixel ``i`` (0-based)
is the cell [-1 + 2i/n, -1 + 2(i+1)/n] and its centre is ``-1 + (2i + 1)/n``.
So the LR feature map and the HR output share one coordinate system whatever
their sizes, which is what lets one model decode any scale.

Coordinates are stored as ``(y, x)`` = (row, column), the order of the tensor
dimensions. ``torch.nn.functional.grid_sample`` wants ``(x, y)``, hence the
``flip(-1)`` wherever it is called.

The *cell* of a query is the size of the output pixel it stands for,
``(2 / H, 2 / W)`` for an H x W output: the decoder is told how large an area
its prediction must summarise (the "cell decoding" of the paper).
"""
from __future__ import annotations

import torch


def make_coord(shape: tuple[int, ...], flatten: bool = True, device=None) -> torch.Tensor:
    """Pixel-centre coordinates of a grid.

    Args:
        shape: grid size, e.g. (H, W).
        flatten: return (H*W, 2) instead of (H, W, 2).

    Returns:
        float32 tensor (H, W, 2) or (H*W, 2) in (-1, 1), last dim (y, x).
    """
    axes = [centres(n, device=device) for n in shape]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
    return grid.reshape(-1, len(shape)) if flatten else grid


def centres(n: int, device=None) -> torch.Tensor:
    """The n pixel centres -1 + (2i + 1)/n of one axis, float32 (n,)."""
    r = 1.0 / n  # half a pixel
    return -1 + r + 2 * r * torch.arange(n, device=device, dtype=torch.float32)


def make_cell(coord: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Cells for queries rendering an H x W output: (..., 2) filled with (2/H, 2/W)."""
    cell = torch.ones_like(coord)
    cell[..., 0] *= 2 / size[0]
    cell[..., 1] *= 2 / size[1]
    return cell
