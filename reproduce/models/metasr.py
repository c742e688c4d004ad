"""MetaSR's meta-upscale module, as implemented for the LIIF comparison.

Meta-SR (Hu et al., CVPR 2019) predicts, for every output pixel, the weights
of a small filter applied to the LR features around it. The version the LIIF
paper compares with (module name ``metasr`` in its release) is:

* the encoder's feature map is 3x3-unfolded (C -> 9C, zero padding);
* an output pixel is assigned the LR cell that contains its *top-left
  corner* (coordinate minus half the output cell), not the nearest centre;
* a weight-prediction MLP 3 -> 256 -> 9C*3 reads the corner's offset inside
  that LR cell (two values in [0, 1), in LR pixels) and 1/scale (the output
  cell in LR pixels, from the cell's y size);
* the output is the unfolded feature times the predicted (9C, 3) matrix.

No local ensemble and no cell decoding beyond 1/scale. Same coordinate
conventions as LIIF (``reproduce.coords``): ``forward(inp, coord, cell)``
with inp (B, 3, h, w) in [-1, 1], coord and cell (B, Q, 2) in (y, x) order,
output (B, Q, 3) normalised.

Two formulations compute the same function. The plain one follows the
official code (``grid_sample`` nearest lookups) and is the test oracle
(``fast=False``). The fast one finds the LR cell by integer arithmetic and,
when the queries share few distinct (offset, 1/scale) inputs - at an integer
scale s there are only s*s of them - predicts each weight matrix once and
applies it to all of its queries as one matmul, instead of predicting and
storing a 9C*3 matrix per query.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..coords import centres, make_coord
from .interface import ImplicitSR
from .liif_fast import nearest_index
from .registry import make, register

# The official code nudges the corner by +1e-6 so that a corner lying exactly
# on an LR cell border picks the cell below/right of it, and clamps inside (-1, 1).
CORNER_EPS = 1e-6
CLAMP_EPS = 1e-6
# Share weight predictions when there are at most this many distinct inputs per
# query (else predicting per query is as cheap as grouping).
DEDUP_MAX_FRACTION = 1 / 8
# With shared predictions, apply every predicted matrix to every LR pixel the
# block touches in one matmul when that is at most this many times the
# per-query work (integer scales: about 1x); else group the queries.
TABLE_MAX_FACTOR = 4


@register("metasr")
class MetaSR(ImplicitSR):
    """Encoder + meta-upscale weight prediction (an ``ImplicitSR``: encode / prepare / decode).

    Args:
        encoder_spec: registry spec of the encoder (no upsampler).
        hidden: width of the weight-prediction MLP's hidden layer (256).
        fast: integer cell lookup and shared weight predictions; False runs
            the official formulation.
    """

    def __init__(self, encoder_spec, hidden: int = 256, fast: bool = True):
        super().__init__()
        self.fast = fast
        self.encoder = make(encoder_spec)
        c = self.encoder.out_dim
        # Module name and layout as in the official release (imnet.layers.0/2).
        self.imnet = make({"name": "mlp", "args": {"in_dim": 3, "out_dim": 9 * c * 3, "hidden_list": [hidden]}})

    def encode(self, inp: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) normalised to [-1, 1] -> feature map (B, C, h, w)."""
        return self.encoder(inp)

    def prepare(self, feat: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> 3x3-unfolded features (B, 9C, h, w), channel-major like F.unfold."""
        if feat.dtype in (torch.bfloat16, torch.float16):
            feat = feat.float()  # lookups in float32, like the fp32 code
        b, c, h, w = feat.shape
        return F.unfold(feat, 3, padding=1).view(b, c * 9, h, w)

    def decode(self, unfolded: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """Queries on :meth:`prepare`'s output; shapes as in forward."""
        if cell is None:
            raise ValueError("MetaSR needs the output cell (2/H, 2/W) per query: it reads 1/scale from it")
        if self.fast:
            return self._decode_fast(unfolded, coord, cell)
        return self._decode_plain(unfolded, coord, cell)

    def _decode_plain(self, unfolded, coord, cell):
        b, c9, h, w = unfolded.shape
        # Top-left corners of the LR cells: centres minus half an LR pixel.
        cell_corners = make_coord((h, w), flatten=False, device=unfolded.device)
        cell_corners[:, :, 0] -= 1 / h
        cell_corners[:, :, 1] -= 1 / w
        cell_corners = cell_corners.permute(2, 0, 1).unsqueeze(0).expand(b, 2, h, w)
        corner = coord.clone()
        corner[..., 0] -= cell[..., 0] / 2
        corner[..., 1] -= cell[..., 1] / 2
        lookup = (corner + CORNER_EPS).clamp(-1 + CLAMP_EPS, 1 - CLAMP_EPS).flip(-1).unsqueeze(1)
        q_feat = F.grid_sample(unfolded, lookup, mode="nearest", align_corners=False)[:, :, 0, :].permute(0, 2, 1)
        q_corner = F.grid_sample(cell_corners, lookup, mode="nearest", align_corners=False)[:, :, 0, :].permute(0, 2, 1)
        rel = corner - q_corner
        rel[..., 0] *= h / 2
        rel[..., 1] *= w / 2
        x = torch.cat([rel, cell[..., :1] * (h / 2)], dim=-1)
        bq = x.shape[0] * x.shape[1]
        weights = self.imnet(x.view(bq, 3)).view(bq, c9, 3)
        return torch.bmm(q_feat.reshape(bq, 1, c9).to(weights.dtype), weights).view(b, -1, 3)

    def _decode_fast(self, unfolded, coord, cell):
        b, c9, h, w = unfolded.shape
        q = coord.shape[1]
        corner = coord.clone()
        corner[..., 0] -= cell[..., 0] / 2
        corner[..., 1] -= cell[..., 1] / 2
        lookup = (corner + CORNER_EPS).clamp(-1 + CLAMP_EPS, 1 - CLAMP_EPS)
        iy = nearest_index(lookup[..., 0], h)
        ix = nearest_index(lookup[..., 1], w)
        # LR cell corners = centres minus half an LR pixel, the same float32 values as the plain path.
        corners_y = centres(h, device=coord.device) - 1 / h
        corners_x = centres(w, device=coord.device) - 1 / w
        rel_y = (corner[..., 0] - corners_y[iy]) * (h / 2)
        rel_x = (corner[..., 1] - corners_x[ix]) * (w / 2)
        x = torch.stack([rel_y, rel_x, cell[..., 0] * (h / 2)], dim=-1).view(b * q, 3)
        flat = unfolded.flatten(2).transpose(1, 2).reshape(b * h * w, c9)  # (B*h*w, 9C)
        index = ((iy * w + ix) + torch.arange(b, device=iy.device).view(b, 1) * (h * w)).view(-1)

        if not (torch.is_grad_enabled() and self.training):
            unique, inverse = _unique_rows(x)
            if len(unique) <= DEDUP_MAX_FRACTION * len(x):
                # Group the queries by their input; gather their features in
                # that order and apply each predicted matrix once.
                weights = self.imnet(unique).view(len(unique), c9, 3)
                pixels, pixel_of = torch.unique(index, return_inverse=True)
                if len(pixels) * len(unique) <= TABLE_MAX_FACTOR * len(x):
                    # Every (LR pixel, matrix) product of the block as one (P, 9C) @ (9C, 3U)
                    # matmul, then each query picks its row and matrix: no per-query
                    # gather of 9C-wide feature rows (the memory traffic that dominated).
                    table = flat[pixels].to(weights.dtype) @ weights.permute(1, 0, 2).reshape(c9, -1)
                    return table.view(len(pixels), len(unique), 3)[pixel_of, inverse].view(b, q, 3)
                order = torch.argsort(inverse)
                counts = torch.bincount(inverse, minlength=len(unique)).tolist()
                grouped = flat[index[order]].to(weights.dtype).split(counts)
                out = torch.empty(b * q, 3, dtype=weights.dtype, device=weights.device)
                out[order] = torch.cat([g @ weights[u] for u, g in enumerate(grouped)])
                return out.view(b, q, 3)
        # Training (queries rarely share inputs) or many distinct inputs: per query.
        weights = self.imnet(x).view(b * q, c9, 3)
        return torch.bmm(flat[index].unsqueeze(1).to(weights.dtype), weights).view(b, q, 3)


def _unique_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.unique(x, dim=0, return_inverse=True)`` for (N, K) rows, via 1-D uniques (much faster)."""
    key = torch.zeros(len(x), dtype=torch.long, device=x.device)
    span = 1  # the number of possible keys so far, kept as a Python int
    for k in range(x.shape[1]):
        values, inverse = torch.unique(x[:, k], return_inverse=True)
        span *= len(values)
        if span >= 2 ** 63:  # the int64 key would wrap around: take the slow exact route
            return torch.unique(x, dim=0, return_inverse=True)
        key = key * len(values) + inverse
    keys, inverse = torch.unique(key, return_inverse=True)
    first = torch.empty(len(keys), dtype=torch.long, device=x.device)
    first.scatter_(0, inverse, torch.arange(len(x), device=x.device))  # any representative row
    return x[first], inverse
