"""RDN encoder without upsampler (Zhang et al., 2018), LIIF's large encoder.

Shallow features (two convs), D residual dense blocks of C densely connected
conv+ReLU layers with growth G and a 1x1 local fusion, then global fusion
(1x1 over all block outputs, 3x3) plus a skip from the first conv. Config B
(D=16, C=8, G=64, G0=64) is the one LIIF uses (about 22 M parameters).
Module names match the official release.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import register

CONFIGS = {"A": (20, 6, 32), "B": (16, 8, 64)}  # (blocks D, layers C, growth G)


class DenseLayer(nn.Module):
    """Appends G new channels: (B, c_in, h, w) -> (B, c_in + G, h, w)."""

    def __init__(self, c_in: int, growth: int, k: int = 3):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(c_in, growth, k, padding=k // 2), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(x)], dim=1)


class RDB(nn.Module):
    def __init__(self, g0: int, growth: int, n_layers: int, k: int = 3):
        super().__init__()
        self.convs = nn.Sequential(*[DenseLayer(g0 + i * growth, growth, k) for i in range(n_layers)])
        self.LFF = nn.Conv2d(g0 + n_layers * growth, g0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.LFF(self.convs(x))


class RDNEncoder(nn.Module):
    """(B, 3, h, w) in [-1, 1] -> (B, G0, h, w) features."""

    def __init__(self, G0: int = 64, RDNkSize: int = 3, RDNconfig: str = "B", n_colors: int = 3):
        super().__init__()
        if RDNconfig not in CONFIGS:
            raise ValueError(f"RDNconfig must be one of {sorted(CONFIGS)}, got {RDNconfig!r}")
        n_blocks, n_layers, growth = CONFIGS[RDNconfig]
        k = RDNkSize
        self.SFENet1 = nn.Conv2d(n_colors, G0, k, padding=k // 2)
        self.SFENet2 = nn.Conv2d(G0, G0, k, padding=k // 2)
        self.RDBs = nn.ModuleList([RDB(G0, growth, n_layers, k) for _ in range(n_blocks)])
        self.GFF = nn.Sequential(nn.Conv2d(n_blocks * G0, G0, 1), nn.Conv2d(G0, G0, k, padding=k // 2))
        self.out_dim = G0
        # Receptive-field radius in LR pixels: 2 shallow convs, C convs per block, 1 in GFF.
        self.radius = (k // 2) * (2 + n_blocks * n_layers + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f1 = self.SFENet1(x)
        x = self.SFENet2(f1)
        outs = []
        for block in self.RDBs:
            x = block(x)
            outs.append(x)
        return f1 + self.GFF(torch.cat(outs, dim=1))


@register("rdn")
def rdn(G0=64, RDNkSize=3, RDNconfig="B", scale=2, no_upsampling=True):
    """RDN encoder. ``scale`` is unused (official signature)."""
    if not no_upsampling:
        raise ValueError("only the encoder (no_upsampling=True) is implemented; LIIF does not use the upsampler")
    return RDNEncoder(G0, RDNkSize, RDNconfig)
