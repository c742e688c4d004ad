"""Prediction with bounded memory.

* Queries are made chunk by chunk: an H x W output needs H*W queries, but the
  full coordinate and cell grids are never built; each chunk of ``chunk``
  output pixels (row-major) gets its coordinates from the per-axis pixel
  centres, is decoded, and is written straight into the preallocated output
  (float32, or uint8 for huge images: 3 bytes per pixel).
* Inputs too large for one encoder pass are encoded in overlapping tiles
  (:func:`encode_tiled`); the halo covers the encoder's receptive field, so
  the tiled feature map equals the untiled one.

Memory therefore grows with the output image only, and time with the number
of output pixels.
"""
from __future__ import annotations

import torch

from ..coords import centres, make_cell
from ..device import autocast_context
from ..models.interface import is_image_to_image, is_implicit
from ..normalize import from_model, to_model


def encode_tiled(model, inp: torch.Tensor, tile: int = 512) -> torch.Tensor:
    """``model.encode`` in overlapping tiles; equals the untiled result.

    Args:
        inp: (1, 3, h, w) in [-1, 1].
        tile: interior size of a tile in LR pixels; inputs no larger than one
            tile are encoded in one pass.

    A tile is encoded with a halo of ``model.encoder_radius`` pixels (the
    receptive-field radius: one pixel per 3x3 convolution), so every interior
    feature sees exactly the input it sees in the full pass; where the halo
    would leave the image, the image border (zero padding) is the same in both.
    """
    _, _, h, w = inp.shape
    if h <= tile and w <= tile:
        return model.encode(inp)
    halo = model.encoder_radius
    out = None
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            ya, xa = max(0, y0 - halo), max(0, x0 - halo)
            feat = model.encode(inp[:, :, ya:min(h, y1 + halo), xa:min(w, x1 + halo)])
            if out is None:
                out = feat.new_empty(1, feat.shape[1], h, w)
            out[:, :, y0:y1, x0:x1] = feat[:, :, y0 - ya:y1 - ya, x0 - xa:x1 - xa]
    return out


def query_chunks(size: tuple[int, int], chunk: int, device=None, cell_size: tuple[int, int] | None = None):
    """The queries of an H x W output, ``chunk`` pixels at a time (row-major), never the whole grid at once.

    Yields ``(index (n,), coord (1, n, 2), cell (1, n, 2))``: the flat output
    indices, their pixel centres and their cells (of ``cell_size``, default
    ``size``: the cell of the output itself).
    """
    height, width = size
    ys, xs = centres(height, device=device), centres(width, device=device)
    for start in range(0, height * width, chunk):
        index = torch.arange(start, min(start + chunk, height * width), device=device)
        coord = torch.stack([ys[index // width], xs[index % width]], dim=-1).unsqueeze(0)
        yield index, coord, make_cell(coord, cell_size or size)


@torch.no_grad()
def upscale(model, lr: torch.Tensor, size: tuple[int, int], chunk: int = 30000, bf16: bool = False,
            out_dtype: torch.dtype = torch.float32, tile: int = 512,
            cell_size: tuple[int, int] | None = None) -> torch.Tensor:
    """Super-resolve one image to an exact output size.

    Args:
        model: an implicit model (``models.ImplicitSR``: the per-image
            ``encode``/``prepare`` work is done once, not once per chunk), or
            an image-to-image network (``models.ImageToImageSR``: one
            ``upscale_to`` pass, no chunking).
        lr: (3, h, w) float in [0, 1] on the model's device.
        size: output (H, W) - rows first.
        chunk: queries decoded at once (the official evaluation uses 30000).
        bf16: run the network under bfloat16 autocast.
        out_dtype: float32 (values in [0, 1], clamped, not rounded) or uint8
            (rounded to 0..255).
        tile: LR tile size for :func:`encode_tiled`.
        cell_size: decode implicit models with the cell of this output size
            instead of ``size``'s (the LIIF paper's Figure 6: render x30 with
            the cell of x4); None: the output's own cell.

    Returns:
        (3, H, W) tensor of ``out_dtype``.
    """
    height, width = size
    device = lr.device
    if not is_implicit(model):
        if not is_image_to_image(model):
            raise TypeError(f"a {type(model).__name__} is neither an implicit model nor an image-to-image network")
        with autocast_context(device, bf16):
            sr = model.upscale_to(to_model(lr).unsqueeze(0), (height, width))[0]
        sr = from_model(sr.float())
        return sr.mul_(255).round_().to(torch.uint8) if out_dtype == torch.uint8 else sr
    out = torch.empty(height * width, 3, dtype=out_dtype, device=device)
    with autocast_context(device, bf16):
        inp = to_model(lr).unsqueeze(0).contiguous(memory_format=torch.channels_last)
        prepared = model.prepare(encode_tiled(model, inp, tile))
        for index, coord, cell in query_chunks((height, width), chunk, device, cell_size):
            pred = from_model(model.decode(prepared, coord, cell)[0].float())
            # a slice (not index_put): it casts the float prediction into a uint8 output
            out[int(index[0]):int(index[0]) + len(index)] = pred.mul_(255).round_() if out_dtype == torch.uint8 else pred
    return out.view(height, width, 3).permute(2, 0, 1)
