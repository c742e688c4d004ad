"""EDSR encoders without upsampler (Lim et al., 2017), as LIIF uses them.

The network maps an LR image to a feature map of the *same* spatial size:
head conv 3->C, ``n_resblocks`` residual blocks (conv, ReLU, conv, scaled
skip; no batch norm), a body conv C->C, and a global skip from the head.
Module names match the official release so its state dicts load as they are.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import register


def conv3x3(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1)


class ResBlock(nn.Module):
    def __init__(self, n_feats: int, res_scale: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(conv3x3(n_feats, n_feats), nn.ReLU(inplace=True), conv3x3(n_feats, n_feats))
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) * self.res_scale


class EDSREncoder(nn.Module):
    """(B, 3, h, w) in [-1, 1] -> (B, n_feats, h, w) features.

    Args:
        n_resblocks: residual blocks (16 for EDSR-baseline, 32 for EDSR).
        n_feats: feature channels C (64 baseline, 256 full).
        res_scale: residual scaling (1 baseline, 0.1 full).
    """

    def __init__(self, n_resblocks: int = 16, n_feats: int = 64, res_scale: float = 1.0, n_colors: int = 3):
        super().__init__()
        self.head = nn.Sequential(conv3x3(n_colors, n_feats))
        self.body = nn.Sequential(
            *[ResBlock(n_feats, res_scale) for _ in range(n_resblocks)], conv3x3(n_feats, n_feats)
        )
        self.out_dim = n_feats
        # Receptive field radius in LR pixels (one per 3x3 conv): used to size
        # the overlap when a large input is encoded in tiles.
        self.radius = 2 * n_resblocks + 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(x)
        return x + self.body(x)


def _check_official_args(no_upsampling: bool, rgb_range: float) -> None:
    # The official factories also build the x2/x3/x4 pixel-shuffle upsampler
    # (EDSR as a fixed-scale SR network); LIIF only ever uses the encoder.
    if not no_upsampling:
        raise ValueError("only the encoder (no_upsampling=True) is implemented; LIIF does not use the upsampler")
    if rgb_range != 1:
        raise ValueError(f"rgb_range={rgb_range} is not supported (inputs are normalised to [-1, 1])")


@register("edsr-baseline")
def edsr_baseline(n_resblocks=16, n_feats=64, res_scale=1, scale=2, no_upsampling=True, rgb_range=1):
    """EDSR-baseline encoder (about 1.22 M parameters). ``scale`` is unused (official signature)."""
    _check_official_args(no_upsampling, rgb_range)
    return EDSREncoder(n_resblocks, n_feats, res_scale)


@register("edsr")
def edsr(n_resblocks=32, n_feats=256, res_scale=0.1, scale=2, no_upsampling=True, rgb_range=1):
    """Full EDSR encoder (about 40 M parameters). ``scale`` is unused (official signature)."""
    _check_official_args(no_upsampling, rgb_range)
    return EDSREncoder(n_resblocks, n_feats, res_scale)
