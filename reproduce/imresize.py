"""Image resizing used to build low-resolution (LR) inputs.

Two different bicubic resizes are needed to reproduce LIIF faithfully:

* ``imresize`` re-implements MATLAB's ``imresize(img, scale, 'bicubic')``.  The
  published benchmark LR files (DIV2K / Set5 / Set14 / B100 / Urban100, x2-x4)
  were made with it: cubic kernel with a = -0.5, kernel widened by 1/scale when
  downscaling (antialiasing) and symmetric mirroring at the borders.
* ``resize_pil_bicubic`` is what LIIF's own code uses for random training crops
  and for test scales above x4: PIL's bicubic resize on 8-bit images.  PIL
  truncates the kernel at the image border and renormalises the remaining
  weights instead of mirroring, and works on uint8, so its output differs
  slightly from MATLAB's.

``imresize_uint8`` wraps ``imresize`` the way MATLAB treats uint8 images
(compute in double, round half away from zero, clip to [0, 255]).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image


def _cubic(x: torch.Tensor) -> torch.Tensor:
    """Keys cubic kernel with a = -0.5 (MATLAB's 'bicubic'); support |x| < 2."""
    ax = x.abs()
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))
    return near + far


def _contributions(in_len: int, out_len: int, scale: float):
    """Taps of a 1-D resize, following MATLAB's ``contributions``.

    Returns ``(indices, weights)``, both shaped (out_len, P): 0-based input
    indices (already mirrored into [0, in_len)) and float64 weights, each row
    summing to 1.  Output pixel ``x`` (1-based) is sum_p weights[x-1, p] *
    input[indices[x-1, p]].
    """
    # Antialiasing when downscaling: stretch the kernel by 1/scale (height
    # scaled to keep unit area) so it low-passes to the new sampling rate.
    width = 4.0 / scale if scale < 1 else 4.0
    kernel_scale = min(scale, 1.0)

    def kernel(t):
        return kernel_scale * _cubic(kernel_scale * t)

    x = torch.arange(1, out_len + 1, dtype=torch.float64)
    # Centre of output pixel x in input coordinates (pixel centres at 1, 2, ...).
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - width / 2)
    taps = math.ceil(width) + 2
    indices = left[:, None] + torch.arange(taps, dtype=torch.float64)  # 1-based
    weights = kernel(u[:, None] - indices)
    weights = weights / weights.sum(dim=1, keepdim=True)

    # MATLAB 'symmetric' padding: ..., 2, 1 | 1, 2, ..., n | n, n-1, ...
    # A modulo over the period 2n handles taps arbitrarily far outside.
    mirror = torch.cat([torch.arange(in_len), torch.arange(in_len - 1, -1, -1)])
    indices = mirror[torch.remainder(indices.long() - 1, 2 * in_len)]

    keep = (weights != 0).any(dim=0)  # drop tap columns that never contribute
    return indices[:, keep], weights[:, keep]


def _resize_dim(x: torch.Tensor, dim: int, out_len: int, scale: float) -> torch.Tensor:
    """Resize float64 tensor ``x`` along ``dim`` (-1 or -2) to ``out_len``."""
    if dim == -1:
        # Gathering along the innermost axis picks single scattered elements
        # and is several times slower than gathering whole contiguous rows, so
        # resize the rows of the transposed image instead.
        x_t = x.transpose(-1, -2).contiguous()
        return _resize_dim(x_t, -2, out_len, scale).transpose(-1, -2).contiguous()
    indices, weights = _contributions(x.shape[-2], out_len, scale)
    weights = weights[:, :, None]  # (out, P, 1): one weight per output row
    # Loop over the P taps only (4-6 when upscaling, ~4/scale when
    # downscaling); each step gathers a whole (..., out, W) slab of rows.
    out = x.index_select(-2, indices[:, 0]) * weights[:, 0]
    for p in range(1, indices.shape[1]):
        out.addcmul_(x.index_select(-2, indices[:, p]), weights[:, p])
    return out


def _pair(v, name):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(v) != 2:
        raise ValueError(f"{name} must be a number or a pair (H, W), got {v!r}")
    return v


def imresize(img: torch.Tensor, scale: float | tuple[float, float] | None = None,
             size: tuple[int, int] | None = None) -> torch.Tensor:
    """MATLAB-compatible bicubic resize of ``img`` shaped (..., H, W).

    Give exactly one of ``scale`` (number or (s_h, s_w)) or ``size``
    ((H_out, W_out)).  With ``scale`` the output length is ``ceil(in * s)`` as
    in MATLAB; beware that floating point can push this up by one (e.g.
    ``30 * 0.1 = 3.0000000000000004 -> 4``), so callers that need an exact
    integer downscale should pass ``size`` instead (then s = out / in).
    Any float dtype is accepted; computation is float64 and the result has the
    input's dtype.  Values keep the input's range (e.g. [0, 1]) but are NOT
    clamped or rounded: bicubic overshoot is left for the caller to handle.
    """
    if not torch.is_floating_point(img):
        raise TypeError(f"imresize expects a float tensor, got {img.dtype}")
    if img.dim() < 2:
        raise ValueError(f"imresize expects (..., H, W), got shape {tuple(img.shape)}")
    if (scale is None) == (size is None):
        raise ValueError("give exactly one of scale or size")
    in_size = tuple(img.shape[-2:])
    if scale is not None:
        scales = tuple(float(s) for s in _pair(scale, "scale"))
        if not all(math.isfinite(s) and s > 0 for s in scales):
            raise ValueError(f"scale must be positive, got {scale!r}")
        out_size = tuple(math.ceil(n * s) for n, s in zip(in_size, scales))
    else:
        out_size = _pair(size, "size")
        if not all(isinstance(n, (int, np.integer)) and n > 0 for n in out_size):
            raise ValueError(f"size entries must be positive integers, got {size!r}")
        out_size = tuple(int(n) for n in out_size)
        scales = tuple(o / n for o, n in zip(out_size, in_size))

    x = img.to(torch.float64).contiguous()  # row gathers are fast on contiguous data
    # MATLAB resizes the dimension with the smaller scale first (stable sort:
    # H before W on ties); this keeps the intermediate image small.
    for d in sorted((0, 1), key=lambda d: scales[d]):
        if scales[d] == 1 and out_size[d] == in_size[d]:
            continue  # identity: the kernel hits exactly one tap with weight 1
        x = _resize_dim(x, d - 2, out_size[d], scales[d])
    # copy when nothing was resized, so the result never aliases the input
    return x.to(img.dtype, copy=x is img)


def _check_uint8_image(img: np.ndarray) -> None:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
        raise ValueError(f"expected a uint8 numpy array, got {getattr(img, 'dtype', type(img))}")
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)):
        raise ValueError(f"expected shape (H, W) or (H, W, 3), got {img.shape}")


def resize_pil_bicubic(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """PIL bicubic resize of a uint8 image (H, W, 3) or (H, W) to ``size``.

    ``size`` is (H_out, W_out); the result is uint8 (H_out, W_out[, 3]).
    """
    _check_uint8_image(img)
    size = _pair(size, "size")
    if not all(isinstance(n, (int, np.integer)) and n > 0 for n in size):
        raise ValueError(f"size entries must be positive integers, got {size!r}")
    h_out, w_out = (int(n) for n in size)
    # PIL's resize takes (width, height), the reverse of our (H, W) convention.
    out = Image.fromarray(img).resize((w_out, h_out), Image.BICUBIC)
    return np.array(out)  # a writable copy (asarray of a PIL image is read-only)


def imresize_uint8(img: np.ndarray, scale: float | tuple[float, float] | None = None,
                   size: tuple[int, int] | None = None) -> np.ndarray:
    """MATLAB ``imresize`` on a uint8 image (H, W, 3) or (H, W), values 0..255.

    Resizes in float64 on the 0..255 values, then rounds half away from zero
    and clips to [0, 255] as MATLAB does when casting back to uint8.
    """
    _check_uint8_image(img)
    # (H, W, C) -> contiguous (C, H, W) float64; contiguity keeps row gathers fast.
    chw = np.ascontiguousarray(np.atleast_3d(img).transpose(2, 0, 1), dtype=np.float64)
    out = imresize(torch.from_numpy(chw), scale=scale, size=size)
    out = torch.sign(out) * torch.floor(out.abs() + 0.5)  # MATLAB round()
    out = out.clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    return np.ascontiguousarray(out[..., 0] if img.ndim == 2 else out)
