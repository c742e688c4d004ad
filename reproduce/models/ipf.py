"""IPF: implicit pixel flow on top of a frozen LIIF (Ma, Yu, Lu & Zhou, IEEE TIP 2022).

LIIF trained with an L1 loss predicts the conditional mean of each output
pixel, so at large scales an edge comes out as a ramp. IPF keeps LIIF (its
encoder E and decoder f) frozen and learns, for every query, where to look
instead: a pixel on the ramp takes the value LIIF predicts a little further
into one side of the edge, and the edge becomes sharp.

* Flow encoder F (8 EDSR residual blocks, 64 channels): LIIF's feature map M
  -> flow feature map P of the same size.
* Implicit flow function g (5-layer MLP, 256 hidden): [nearest P vector,
  relative coordinate, relative cell] -> offset (dy, dx) in LR pixels.
* Implicit confidence function C (4-layer MLP, 64 hidden, sigmoid): same input
  -> confidence c in (0, 1).
* Output I^f = LIIF (local ensemble) queried at coord + c * offset; the *dual
  constraint* output I^d = LIIF at coord + offset (no confidence). Both are
  supervised in training (``training_outputs``); inference returns I^f.

What the paper does not say and is ours (labelled in ``06_ipf``): g's last
layer starts at zero (IPF starts as exactly LIIF), offsets are bounded by
``max_offset`` LR pixels through a tanh, and shifted queries are clamped to
the image. No public code exists (see ../shared/docs/protocol.md, section 7).

The model is an ``ImplicitSR``: ``encode`` returns [M, P] stacked on
channels, ``prepare`` splits them, ``decode`` answers queries, so the chunked
``engine.upscale`` serves it at any scale with no special case.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..coords import centres, make_cell, make_coord
from .edsr import EDSREncoder
from .interface import ImplicitSR
from .liif_fast import nearest_index
from .mlp import MLP
from .registry import make, register

# Shifted queries stay this far inside [-1, 1]: LIIF's own clamp for nearest sampling.
EDGE_EPS = 1e-6


@dataclass
class IPFPrepared:
    """What every query reads: the frozen LIIF's prepared features and the flow feature map (B, Cp, h, w)."""

    base: object
    flow: torch.Tensor


@register("ipf")
class IPF(ImplicitSR):
    """Implicit pixel flow around a LIIF (``base``); only the flow parts are meant to train.

    Args:
        base_spec: registry spec of the LIIF it sharpens (its weights come
            from a checkpoint at training time and are stored in IPF's own).
        flow_blocks, flow_feats: the flow encoder F (8 blocks, 64 channels).
        flow_hidden: hidden widths of g (4 x 256: a 5-layer MLP).
        conf_hidden: hidden widths of C (3 x 64: a 4-layer MLP).
        confidence: use C (False: c = 1, the "without confidence" ablation;
            then I^d = I^f, so training supervises the one image once).
        dual: also produce I^d in training (False: the "without dual
            constraint" ablation); inference is unaffected.
        max_offset: bound of each offset component in LR pixels (tanh).
    """

    def __init__(self, base_spec, flow_blocks: int = 8, flow_feats: int = 64, flow_hidden=(256, 256, 256, 256),
                 conf_hidden=(64, 64, 64), confidence: bool = True, dual: bool = True, max_offset: float = 1.0):
        super().__init__()
        self.base = make(base_spec)
        if not isinstance(self.base, ImplicitSR) or not hasattr(self.base, "encoder"):
            raise ValueError(f"IPF needs an implicit base model with an encoder, got {base_spec.get('name')!r}")
        self.base.requires_grad_(False)  # frozen whatever the training config says: only F, g and C learn
        self.base_dim = self.base.encoder.out_dim
        self.flow_encoder = EDSREncoder(flow_blocks, flow_feats, n_colors=self.base_dim)
        in_dim = flow_feats + 2 + 2  # nearest P vector, rel coord, rel cell
        self.flow = MLP(in_dim, 2, list(flow_hidden))
        self.conf = MLP(in_dim, 1, list(conf_hidden)) if confidence else None
        self.confidence, self.dual, self.max_offset = confidence, dual, float(max_offset)
        last = self.flow.layers[-1]
        nn.init.zeros_(last.weight)  # offsets start at 0: IPF starts as exactly its LIIF (ours)
        nn.init.zeros_(last.bias)

    @property
    def encoder_radius(self) -> int:
        """Receptive-field radius of ``encode`` in LR pixels: LIIF's encoder, then F."""
        return self.base.encoder_radius + self.flow_encoder.radius

    def encode(self, inp: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) in [-1, 1] -> (B, C + Cp, h, w): LIIF's features M and the flow features P = F(M)."""
        feat = self.base.encode(inp)
        return torch.cat([feat, self.flow_encoder(feat)], dim=1)

    def prepare(self, feat: torch.Tensor) -> IPFPrepared:
        """Split [M, P]; M is prepared as the base LIIF prepares it."""
        return IPFPrepared(self.base.prepare(feat[:, :self.base_dim]), feat[:, self.base_dim:])

    def flow_field(self, prepared: IPFPrepared, coord: torch.Tensor, cell: torch.Tensor):
        """Offsets and confidences at queries.

        Args:
            coord, cell: (B, Q, 2) in LIIF's conventions (``reproduce.coords``).

        Returns:
            offset (B, Q, 2) in LR pixels (y, x), each in (-max_offset, max_offset);
            confidence (B, Q, 1) in (0, 1), or None without C.
        """
        p = prepared.flow
        b, c, h, w = p.shape
        rows = nearest_index(coord[..., 0].clamp(-1 + EDGE_EPS, 1 - EDGE_EPS), h)  # (B, Q)
        cols = nearest_index(coord[..., 1].clamp(-1 + EDGE_EPS, 1 - EDGE_EPS), w)
        ys, xs = centres(h, device=coord.device), centres(w, device=coord.device)
        size = coord.new_tensor([h, w])
        # Offset from the chosen LR pixel's centre and the cell, in LR-pixel halves as in LIIF.
        rel = (coord - torch.stack([ys[rows], xs[cols]], dim=-1)) * size
        flat = p.flatten(2).transpose(1, 2)                                         # (B, h*w, Cp)
        nearest = torch.gather(flat, 1, (rows * w + cols).unsqueeze(-1).expand(-1, -1, c))
        x = torch.cat([nearest, rel.to(nearest.dtype), (cell * size).to(nearest.dtype)], dim=-1)
        offset = self.max_offset * torch.tanh(self.flow(x).float() / self.max_offset)
        confidence = torch.sigmoid(self.conf(x).float()) if self.conf is not None else None
        return offset, confidence

    def shifted(self, coord: torch.Tensor, offset: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """coord + offset (LR pixels) in [-1, 1] units, clamped inside the image."""
        unit = coord.new_tensor([2.0 / size[0], 2.0 / size[1]])
        return (coord + offset * unit).clamp(-1 + EDGE_EPS, 1 - EDGE_EPS)

    def decode(self, prepared: IPFPrepared, coord: torch.Tensor, cell: torch.Tensor | None = None) -> torch.Tensor:
        """I^f: (B, Q, 2) coord and cell -> (B, Q, 3) RGB in [-1, 1] (official-style ``query_rgb``)."""
        if cell is None:
            raise ValueError("IPF needs cells: pass cell = (2/H, 2/W) per query")
        offset, confidence = self.flow_field(prepared, coord, cell)
        step = offset * confidence if confidence is not None else offset
        return self.base.decode(prepared.base, self.shifted(coord, step, prepared.flow.shape[-2:]), cell)

    def training_outputs(self, inp: torch.Tensor, size: tuple[int, int]) -> dict[str, torch.Tensor]:
        """The images the losses supervise: ``flow`` (I^f) and, with ``dual`` and the confidence, ``dual`` (I^d).

        Without the confidence I^d would equal I^f: it is left out rather than
        supervised twice.

        inp (B, 3, h, w) in [-1, 1] -> each (B, 3, H, W) in [-1, 1] for ``size = (H, W)``.
        """
        with torch.no_grad():  # the frozen LIIF's encoder needs no graph
            feat = self.base.encode(inp)
        prepared = IPFPrepared(self.base.prepare(feat), self.flow_encoder(feat))
        coord = make_coord(size, device=inp.device).unsqueeze(0).expand(inp.shape[0], -1, -1)
        cell = make_cell(coord, size)
        offset, confidence = self.flow_field(prepared, coord, cell)
        lr_size = feat.shape[-2:]
        outputs = {"flow": offset * confidence if confidence is not None else offset}
        if self.dual and confidence is not None:
            outputs["dual"] = offset
        return {name: _as_image(self.base.decode(prepared.base, self.shifted(coord, step, lr_size), cell), size)
                for name, step in outputs.items()}


def _as_image(pred: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, H*W, 3) -> (B, 3, H, W)."""
    return pred.transpose(1, 2).reshape(pred.shape[0], 3, *size)
