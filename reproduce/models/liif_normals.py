"""LIIF for normal maps: the same network, with dataset-mean input normalisation.

Photographs are fed to LIIF as (x - 0.5) / 0.5. The normal-map variant of the
source report normalised with the dataset mean instead, (x - mean) / 0.5 (its
mean: 0.422369, 0.426868, 0.836872), and predicted in the same space. Here that
is a constant shift of LIIF's input and output, so the model keeps the
project-wide contract (``ImplicitSR``: inputs and outputs in the photographs'
[-1, 1] scale), goes through the same chunked ``upscale`` as LIIF, and its
state dict is LIIF's (a photo checkpoint initialises it directly).
"""
from __future__ import annotations

import torch

from .liif import LIIF
from .registry import register


@register("liif-normals")
class NormalMapLIIF(LIIF):
    """LIIF with inputs normalised by ``data_mean`` (3 floats in [0, 1]) instead of 0.5; other args as LIIF."""

    def __init__(self, data_mean=(0.5, 0.5, 0.5), **liif_args):
        super().__init__(**liif_args)
        if len(data_mean) != 3:
            raise ValueError(f"data_mean needs 3 values, got {data_mean!r}")
        self.data_mean = [float(v) for v in data_mean]
        # (x - 0.5)/0.5 + shift = (x - mean)/0.5; not saved (derived from the spec).
        self.register_buffer("shift", (0.5 - torch.tensor(self.data_mean)) / 0.5, persistent=False)

    def encode(self, inp: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) in [-1, 1] (the 0.5 normalisation) -> features of the mean-normalised input."""
        return super().encode(inp + self.shift.view(1, 3, 1, 1).to(inp.dtype))

    def decode(self, prepared, coord: torch.Tensor, cell: torch.Tensor | None = None) -> torch.Tensor:
        """As LIIF's; the prediction (made in the mean-normalised space) is returned in the [-1, 1] scale."""
        pred = super().decode(prepared, coord, cell)
        return pred - self.shift.to(pred.dtype)
