"""LIIF: Local Implicit Image Function (Chen, Liu & Wang, CVPR 2021).

An encoder turns the LR image into a feature map with one latent code per LR
pixel. The RGB value at any continuous coordinate is decoded by an MLP from
the code of a nearby LR pixel, the query's offset from that pixel's centre
and (optionally) the size of the output pixel. See ``reproduce.coords`` for
the coordinate and cell conventions.

The *plain* formulation here computes exactly what the official code
computes (nearest sampling through ``grid_sample``, the same shifts,
epsilons, clamping and ensemble weights), so official checkpoints give the
official outputs. By default queries take the *fast* path of
``liif_fast`` (same function, same parameters, several times cheaper); the
plain path stays as its test oracle (``fast=False``).

Decoding has three stages so that inference can reuse work across query
chunks: ``encode`` (image -> feature map), ``prepare`` (feature map ->
what every query reads: the unfolded map, or the fast path's projected
codes) and ``decode`` (queries).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..coords import make_coord
from . import liif_fast
from .interface import ImplicitSR
from .mlp import MLP
from .registry import make, register

# Local ensemble: the four LR codes around a query are reached by shifting the
# query half an LR pixel towards each diagonal. Order (dim-0 sign, dim-1
# sign) as in the official code; the weights below rely on it.
ENSEMBLE_SHIFTS = [(-1, -1), (-1, 1), (1, -1), (1, 1)]
# The official code nudges every shifted query by +1e-6 on both axes so that a
# query lying exactly on a cell border is not a tie for the nearest sampling,
# then clamps it inside (-1, 1) so that border queries reuse the border code.
SHIFT_EPS = 1e-6
CLAMP_EPS = 1e-6
AREA_EPS = 1e-9


@register("liif")
class LIIF(ImplicitSR):
    """Encoder + implicit decoder (``reproduce.models.interface.ImplicitSR``: encode / prepare / decode).

    Args:
        encoder_spec: registry spec of the encoder (no upsampler).
        imnet_spec: registry spec of the decoder MLP; its ``in_dim`` is filled
            in here. ``None`` returns the nearest latent code (official option).
        local_ensemble: blend the predictions of the 4 nearest codes (-e).
        feat_unfold: concatenate each code with its 3x3 neighbours (-u).
        cell_decode: give the decoder the output pixel size (-c).
        fast: use the fast query (``liif_fast``); False runs the plain formulation.
    """

    def __init__(self, encoder_spec, imnet_spec=None, local_ensemble=True, feat_unfold=True, cell_decode=True,
                 fast=True):
        super().__init__()
        self.fast = fast
        self.local_ensemble = local_ensemble
        self.feat_unfold = feat_unfold
        self.cell_decode = cell_decode
        self.encoder = make(encoder_spec)
        if imnet_spec is None:
            self.imnet = None
        else:
            in_dim = self.encoder.out_dim * (9 if feat_unfold else 1) + 2 + (2 if cell_decode else 0)
            self.imnet = make(imnet_spec, args={"in_dim": in_dim})

    def encode(self, inp: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) normalised to [-1, 1] -> feature map (B, C, h, w) (official: ``gen_feat``)."""
        return self.encoder(inp)

    def uses_fast_path(self) -> bool:
        return self.fast and isinstance(self.imnet, MLP)

    def fast_weights(self) -> liif_fast.DecoderWeights:
        """The decoder's weights as the fast path reads them: the first Linear split by input, and the rest."""
        first = self.imnet.layers[0]
        n_extra = 4 if self.cell_decode else 2
        return liif_fast.DecoderWeights(first.weight[:, :-n_extra], first.weight[:, -n_extra:], first.bias,
                                        self.imnet.layers[1:], self.feat_unfold, self.cell_decode)

    def prepare(self, feat: torch.Tensor):
        """Per-image work shared by all queries: (B, C, h, w) -> prepared features."""
        if self.uses_fast_path():
            return liif_fast.project(self.fast_weights(), feat)
        # Under bf16 autocast the encoder returns bf16; the plain path samples
        # in float32 so the nearest-neighbour choice matches the fp32 code.
        if feat.dtype in (torch.bfloat16, torch.float16):
            feat = feat.float()
        if self.feat_unfold and self.imnet is not None:
            # 3x3 neighbourhood stacked on channels (zero padding at the border): C -> 9C.
            b, c, h, w = feat.shape
            feat = F.unfold(feat, 3, padding=1).view(b, c * 9, h, w)
        return feat

    def decode(self, prepared, coord: torch.Tensor, cell: torch.Tensor | None = None) -> torch.Tensor:
        """Decode queries from :meth:`prepare`'s output (official: ``query_rgb``).

        Args:
            prepared: :meth:`prepare`'s output for a (B, C, h, w) feature map.
            coord: (B, Q, 2) query coordinates in [-1, 1], (y, x) order.
            cell: (B, Q, 2) output pixel sizes (2/H, 2/W); needed with cell_decode.

        Returns:
            (B, Q, 3) RGB normalised to [-1, 1] (not clamped).
        """
        if self.cell_decode and self.imnet is not None and cell is None:
            raise ValueError("this LIIF model decodes cells: pass cell = (2/H, 2/W) per query")
        shifts, eps = (ENSEMBLE_SHIFTS, SHIFT_EPS) if self.local_ensemble else ([(0, 0)], 0.0)
        if isinstance(prepared, liif_fast.ProjectedFeatures):
            return liif_fast.decode(self.fast_weights(), prepared, coord, cell, shifts, eps, CLAMP_EPS, AREA_EPS)
        if self.imnet is None:
            return _sample_nearest(prepared, coord)
        return self._decode_plain(prepared, coord, cell, shifts, eps)

    def _decode_plain(self, feat, coord, cell, shifts, eps):
        b, _, h, w = feat.shape
        half_pixel = (1.0 / h, 1.0 / w)  # half an LR pixel along y and x in [-1, 1] units
        feat_coord = make_coord((h, w), flatten=False, device=feat.device)
        feat_coord = feat_coord.permute(2, 0, 1).unsqueeze(0).expand(b, 2, h, w)
        lr_size = coord.new_tensor([h, w])

        preds, areas = [], []
        for sy, sx in shifts:
            shifted = coord.clone()
            shifted[..., 0] += sy * half_pixel[0] + eps
            shifted[..., 1] += sx * half_pixel[1] + eps
            shifted.clamp_(-1 + CLAMP_EPS, 1 - CLAMP_EPS)
            q_feat = _sample_nearest(feat, shifted)
            q_centre = _sample_nearest(feat_coord, shifted)
            # Offset from the chosen code's centre in LR-pixel halves: (coord -
            # centre) * (h, w), i.e. |rel| <= 1 inside the cell and < 2 with
            # the ensemble's shifted codes. The *unshifted* query is used.
            rel_coord = (coord - q_centre) * lr_size
            parts = [q_feat, rel_coord]
            if self.cell_decode:
                parts.append(cell * lr_size)  # output pixel size in the same units (2/scale)
            preds.append(self.imnet(torch.cat(parts, dim=-1)))
            areas.append((rel_coord[..., 0] * rel_coord[..., 1]).abs() + AREA_EPS)

        if not self.local_ensemble:
            return preds[0]
        # Each prediction is weighted by the area of the rectangle between the
        # query and the *diagonally opposite* code centre: the closer code gets
        # the larger area. Away from borders these are exactly bilinear weights.
        total = torch.stack(areas).sum(dim=0)
        areas = [areas[3], areas[2], areas[1], areas[0]]
        return sum(pred * (area / total).unsqueeze(-1) for pred, area in zip(preds, areas))


def _sample_nearest(grid_values: torch.Tensor, coord: torch.Tensor) -> torch.Tensor:
    """Nearest-pixel values at coordinates: (B, C, h, w), (B, Q, 2) (y, x) -> (B, Q, C)."""
    # grid_sample expects (x, y) and a (B, H_out, W_out, 2) grid: use a 1 x Q grid.
    out = F.grid_sample(grid_values, coord.flip(-1).unsqueeze(1), mode="nearest", align_corners=False)
    return out[:, :, 0, :].permute(0, 2, 1)
