"""The LIIF decoder: a plain ReLU MLP applied to the last dimension."""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import register


@register("mlp")
class MLP(nn.Module):
    """Linear layers with ReLU between them; no activation on the output.

    Module names (``layers.0``, ``layers.2``, ...) follow the official release.

    Args:
        in_dim: input width (580 for full LIIF: 9*64 feature + 2 coord + 2 cell).
        out_dim: output width (3 for RGB).
        hidden_list: hidden widths, e.g. [256, 256, 256, 256].
    """

    def __init__(self, in_dim: int, out_dim: int, hidden_list: list[int]):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for hidden in hidden_list:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, out_dim))
        self.layers = nn.Sequential(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in_dim) -> (..., out_dim)."""
        lead = x.shape[:-1]
        return self.layers(x.reshape(-1, x.shape[-1])).view(*lead, -1)
