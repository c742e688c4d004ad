"""Normals as tensors: encoding, renormalisation, rotations and the shape/detail decomposition.

Shapes: normal maps are float (3, H, W) tensors of unit vectors (x right, y up,
z towards the camera); masks are bool (H, W). Encoded maps are float
(3, H, W) in [0, 1], ``(n + 1) / 2``: what an 8-bit normal map stores / 255.

The decomposition is the source report's: the *shape* component is the local
mean normal (a masked Gaussian low-pass of the normals, renormalised); the
*detail* component is the normal expressed in the frame where its shape
normal is (0, 0, 1). A flat surface therefore has detail (0, 0, 1)
everywhere, and ``recompose(shape, decompose(n, shape)) == n`` exactly
(up to float rounding), because the frame change is a rotation.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# The background value: a pixel outside the object is given the normal facing
# the camera, so that resizing near the silhouette mixes in a valid normal
# rather than the white (1, 1, 1) that the files store there.
FACING = (0.0, 0.0, 1.0)
# Our choice (the source does not state its filter): Gaussian sigma of the
# shape component's low-pass, in pixels of the map it is computed on.
SHAPE_SIGMA = 3.0


def encode(normals: torch.Tensor) -> torch.Tensor:
    """Unit normals (3, H, W) in [-1, 1] -> encoded map in [0, 1]."""
    return (normals + 1) / 2


def decode(encoded: torch.Tensor) -> torch.Tensor:
    """Encoded map (3, H, W) in [0, 1] -> unit normals (renormalised, since 8 bits and resizing leave non-unit vectors)."""
    return renormalise(encoded * 2 - 1)


def renormalise(vectors: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each (3,)-vector along dim -3 to unit length; a zero vector becomes (0, 0, 1)."""
    norm = vectors.norm(dim=-3, keepdim=True)
    facing = torch.tensor(FACING, dtype=vectors.dtype, device=vectors.device).view(3, 1, 1)
    return torch.where(norm > eps, vectors / norm.clamp_min(eps), facing.expand_as(vectors))


def facing(height: int, width: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """A (3, height, width) map of the camera-facing normal (0, 0, 1): the background."""
    return torch.tensor(FACING, dtype=dtype, device=device).view(3, 1, 1).repeat(1, height, width)


def fill_background(normals: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Normals with every pixel outside ``mask`` set to the camera-facing normal (0, 0, 1)."""
    return torch.where(mask.unsqueeze(0), normals, facing(*normals.shape[-2:], dtype=normals.dtype, device=normals.device))


def rotation_to(shape: torch.Tensor) -> torch.Tensor:
    """Per-pixel rotation matrices R with R @ (0, 0, 1) = shape: (3, H, W) -> (H, W, 3, 3).

    The smallest rotation (about the axis z x s), by Rodrigues' formula
    R = I + [v]x + [v]x^2 / (1 + s_z), v = z x s. It is defined for s_z > -1;
    normals seen by a camera have s_z >= 0, and s_z is clamped at -1 + 1e-6.
    """
    sx, sy, sz = shape[0], shape[1], shape[2].clamp_min(-1 + 1e-6)
    k = 1.0 / (1.0 + sz)
    # v = (-sy, sx, 0); entries of I + [v]x + [v]x^2 * k
    r00 = 1 - k * sx * sx
    r01 = -k * sx * sy
    r11 = 1 - k * sy * sy
    rows = [torch.stack([r00, r01, sx], -1),
            torch.stack([r01, r11, sy], -1),
            torch.stack([-sx, -sy, sz], -1)]
    return torch.stack(rows, -2)


def shape_component(normals: torch.Tensor, mask: torch.Tensor | None = None, sigma: float = SHAPE_SIGMA) -> torch.Tensor:
    """The local mean normal: a masked Gaussian low-pass of ``normals`` (3, H, W), renormalised.

    With a mask the filter is a normalised convolution (blur(n * m) / blur(m)),
    so pixels outside the object do not pull the shape normal at the silhouette.
    """
    radius = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=normals.dtype, device=normals.device)
    g = torch.exp(-t * t / (2 * sigma * sigma))
    g = g / g.sum()
    weight = torch.ones_like(normals[:1]) if mask is None else mask.to(normals.dtype).unsqueeze(0)

    def blur(x: torch.Tensor) -> torch.Tensor:
        c = x.shape[0]
        x = x.unsqueeze(0)
        x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
        x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
        return x[0]

    mean = blur(normals * weight) / blur(weight).clamp_min(1e-6)
    return renormalise(mean)


def decompose(normals: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    """Detail component: ``normals`` (3, H, W) expressed in the frame of ``shape`` (R(shape)^T n)."""
    rot = rotation_to(shape)                                   # (H, W, 3, 3)
    n = normals.permute(1, 2, 0).unsqueeze(-1)                 # (H, W, 3, 1)
    return (rot.transpose(-1, -2) @ n).squeeze(-1).permute(2, 0, 1)


def recompose(shape: torch.Tensor, detail: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`decompose`: R(shape) @ detail, (3, H, W)."""
    rot = rotation_to(shape)
    d = detail.permute(1, 2, 0).unsqueeze(-1)
    return (rot @ d).squeeze(-1).permute(2, 0, 1)


def angular_error(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle in degrees between unit normals a and b (3, H, W) -> (H, W)."""
    cos = (a * b).sum(0).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.acos(cos))
