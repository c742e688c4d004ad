"""The two kinds of super-resolution model in the study, each one interface.

**Implicit models** (LIIF, MetaSR, and IPF on top of LIIF) answer queries at
continuous coordinates; one model serves every scale. Decoding is split into
three stages so inference can reuse the per-image work across query chunks:

* ``encode(inp)``: (B, 3, h, w) in [-1, 1] -> feature map (B, C, h, w).
  The official LIIF code calls this ``gen_feat``.
* ``prepare(feat)``: feature map -> whatever every query reads (e.g. the
  3x3-unfolded map, or the fast path's projected codes). Per image, once.
* ``decode(prepared, coord, cell)``: coord and cell (B, Q, 2) in (y, x)
  order (``reproduce.coords``: pixel centres in [-1, 1]; cell = (2/H, 2/W)
  for an H x W output) -> (B, Q, 3) RGB in [-1, 1], not clamped. The
  official code's ``query_rgb(coord, cell)`` is ``query(feat, coord, cell)``
  = ``decode(prepare(feat), coord, cell)``.
* ``forward(inp, coord, cell)`` = ``query(encode(inp), coord, cell)``, the
  official ``forward``.

**Image-to-image networks** (SRCNN, SRResNet/SRGAN) map a whole LR image to
an output image: ``upscale_to(lr, (H, W))`` with lr (B, 3, h, w) in [-1, 1]
-> (B, 3, H, W) in [-1, 1], each by its own rule for sizes it was not trained
for (documented on the class).

Callers (``engine.upscale``, the command line, the evaluation) ask
:func:`is_implicit` / :func:`is_image_to_image`, never probe attributes.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..coords import make_cell, make_coord


class ImplicitSR(nn.Module):
    """Base class of implicit (arbitrary-scale) models; see the module docstring for the contract."""

    def encode(self, inp: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) in [-1, 1] -> feature map (B, C, h, w) (official: ``gen_feat``)."""
        raise NotImplementedError

    @property
    def encoder_radius(self) -> int:
        """Receptive-field radius of :meth:`encode` in LR pixels (sizes the halo of tiled encoding)."""
        return self.encoder.radius

    def prepare(self, feat: torch.Tensor):
        """Per-image work shared by all queries; the identity unless a model needs more."""
        return feat

    def decode(self, prepared, coord: torch.Tensor, cell: torch.Tensor | None = None) -> torch.Tensor:
        """Queries on :meth:`prepare`'s output: coord, cell (B, Q, 2) -> (B, Q, 3) in [-1, 1]."""
        raise NotImplementedError

    def query(self, feat: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor | None = None) -> torch.Tensor:
        """Decode queries from a feature map of :meth:`encode` (official: ``query_rgb``)."""
        return self.decode(self.prepare(feat), coord, cell)

    def forward(self, inp: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor | None = None) -> torch.Tensor:
        """RGB at coordinates: inp (B, 3, h, w), coord/cell (B, Q, 2) -> (B, Q, 3), all in [-1, 1]."""
        return self.query(self.encode(inp), coord, cell)

    def training_outputs(self, inp: torch.Tensor, size: tuple[int, int]) -> dict[str, torch.Tensor]:
        """Whole output images for losses that need images (adversarial, perceptual).

        inp (B, 3, h, w) in [-1, 1] -> ``{"out": (B, 3, H, W)}`` in [-1, 1],
        every pixel of the ``size = (H, W)`` grid queried at once (with
        autograd). Models with several supervised outputs (IPF) return more.
        """
        b = inp.shape[0]
        coord = make_coord(size, device=inp.device).unsqueeze(0).expand(b, -1, -1)
        pred = self(inp, coord, make_cell(coord, size))
        return {"out": pred.transpose(1, 2).reshape(b, 3, *size)}


class ImageToImageSR(nn.Module):
    """Base class of networks that map a whole image to an output image."""

    def upscale_to(self, lr: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(B, 3, h, w) in [-1, 1] -> (B, 3, H, W) in [-1, 1] for ``size = (H, W)``."""
        raise NotImplementedError

    def training_outputs(self, inp: torch.Tensor, size: tuple[int, int]) -> dict[str, torch.Tensor]:
        """``{"out": self(inp)}``: the network's own output for its training crops (of ``size``)."""
        out = self(inp)
        if tuple(out.shape[-2:]) != tuple(size):
            raise ValueError(f"the network made {tuple(out.shape[-2:])} from its input, the target is {tuple(size)}")
        return {"out": out}


def unwrap(model):
    """The bare model inside DistributedDataParallel / torch.compile wrappers."""
    model = getattr(model, "module", model)
    return getattr(model, "_orig_mod", model)


def is_implicit(model) -> bool:
    return isinstance(unwrap(model), ImplicitSR)


def is_image_to_image(model) -> bool:
    return isinstance(unwrap(model), ImageToImageSR)
