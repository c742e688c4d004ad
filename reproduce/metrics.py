"""PSNR / SSIM with the super-resolution community's evaluation conventions.

Images are torch tensors of shape (3, H, W) or (B, 3, H, W), RGB, float in
[0, 1]. SR outputs should be clamped to [0, 1] but not quantised to 8 bits.
All metric arithmetic is done in float64.

* PSNR = -10 log10(MSE) with data range 1; one value per image (average the
  per-image values to report a dataset figure). Identical images give +inf.
* On the Y channel, PSNR uses the difference image weighted by
  (65.738, 129.057, 25.064) / 256 (LIIF / EDSR evaluation code); the +16
  offset of BT.601 cancels in the difference.
* SSIM follows Wang et al. 2004 / MATLAB: 11x11 Gaussian window (sigma 1.5),
  K1 = 0.01, K2 = 0.03, L = 255, population covariances, mean over the
  'valid' region only (the map is (H-10) x (W-10)). It is computed on Y in
  [0, 255] as MATLAB's rgb2ycbcr gives it (offset 16 included), or per RGB
  channel on [0, 255] values, averaged over channels.
* `shave` pixels are cropped at every border before computing; the rule is
  given by a named preset (see PRESETS).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

import torch

# MATLAB rgb2ycbcr (BT.601) luma row for [0, 1] inputs; Y lands in [16, 235].
_Y_MATLAB = (65.481, 128.553, 24.966)
# The same row as written in LIIF/EDSR's PSNR code (applied to differences).
_Y_PSNR = (65.738 / 256, 129.057 / 256, 25.064 / 256)

_SSIM_WIN, _SSIM_SIGMA, _SSIM_K1, _SSIM_K2, _SSIM_L = 11, 1.5, 0.01, 0.03, 255.0


def _shave_scale(scale: float) -> int:
    return math.ceil(scale)


def _shave_scale_plus_6(scale: float) -> int:
    return math.ceil(scale) + 6


def _shave_none(scale: float) -> int:
    return 0


@dataclass(frozen=True)
class MetricPreset:
    """Evaluation protocol: which channel(s) to compare and how much border to crop.

    `shave(scale)` returns the number of pixels removed at each border.
    """

    name: str
    channel: Literal["y", "rgb"]
    shave: Callable[[float], int]


PRESETS: dict[str, MetricPreset] = {
    # Classic benchmark protocol (SRCNN, VDSR, EDSR, LIIF on Set5/Set14/B100/
    # Urban100): compare the luminance channel only, cropping `scale` pixels
    # (ceil for non-integer scales) because bicubic down/up-sampling leaves
    # unreliable borders about one LR pixel wide.
    "benchmark-y": MetricPreset("benchmark-y", "y", _shave_scale),
    # DIV2K validation protocol of EDSR/LIIF: full RGB, cropping scale + 6
    # pixels so that border effects of the network's padded convolutions (not
    # just of the resampling) are excluded. Also used for Kodak24, which stands
    # in for DIV2K-valid here.
    "div2k-rgb": MetricPreset("div2k-rgb", "rgb", _shave_scale_plus_6),
    # Plain full-image RGB comparison, no crop.
    "rgb-full": MetricPreset("rgb-full", "rgb", _shave_none),
}

_BENCHMARK_NAMES = {"set5", "set14", "b100", "urban100", "sample"}
_DIV2K_LIKE_NAMES = {"kodak24"}


def get_preset(preset: str | MetricPreset) -> MetricPreset:
    """Return the preset named `preset` (a MetricPreset is passed through)."""
    if isinstance(preset, MetricPreset):
        return preset
    if preset not in PRESETS:
        raise ValueError(f"unknown metric preset {preset!r}; valid: {sorted(PRESETS)}")
    return PRESETS[preset]


def preset_for_dataset(name: str) -> str:
    """Preset name for a dataset: benchmarks -> 'benchmark-y', DIV2K-like -> 'div2k-rgb'."""
    key = name.lower()
    if key in _BENCHMARK_NAMES:
        return "benchmark-y"
    if key in _DIV2K_LIKE_NAMES or key.startswith("div2k"):
        return "div2k-rgb"
    raise ValueError(
        f"no metric preset known for dataset {name!r}; known: "
        f"{sorted(_BENCHMARK_NAMES | _DIV2K_LIKE_NAMES)} or names starting with 'div2k'"
    )


def rgb_to_y(img: torch.Tensor) -> torch.Tensor:
    """BT.601 luma as MATLAB rgb2ycbcr: (..., 3, H, W) in [0, 1] -> (..., 1, H, W).

    The result is Y / 255 in [16/255, 235/255] (offset included), float64.
    """
    if img.dim() < 3 or img.shape[-3] != 3:
        raise ValueError(f"expected (..., 3, H, W) RGB, got shape {tuple(img.shape)}")
    w = img.new_tensor(_Y_MATLAB, dtype=torch.float64).view(3, 1, 1)
    y = (img.double() * w).sum(dim=-3, keepdim=True)
    return (y + 16.0) / 255.0


def _prepare(sr, hr, preset, scale, min_size):
    """Validate, crop borders; returns float64 (B, 3, h, w) pair, preset, batched flag."""
    preset = get_preset(preset)
    if not (isinstance(sr, torch.Tensor) and isinstance(hr, torch.Tensor)):
        raise ValueError("sr and hr must be torch tensors")
    if sr.shape != hr.shape:
        raise ValueError(f"shape mismatch: sr {tuple(sr.shape)} vs hr {tuple(hr.shape)}")
    if sr.dim() not in (3, 4) or sr.shape[-3] != 3:
        raise ValueError(f"expected (3, H, W) or (B, 3, H, W) RGB, got {tuple(sr.shape)}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    s = preset.shave(scale)
    h, w = sr.shape[-2:]
    if min(h, w) - 2 * s < min_size:
        raise ValueError(
            f"image {h}x{w} too small for preset {preset.name!r} at scale {scale}: "
            f"needs each side > 2*shave ({2 * s}) + {min_size - 1}"
        )
    batched = sr.dim() == 4
    sr, hr = (t if batched else t.unsqueeze(0) for t in (sr, hr))
    sr, hr = (t.double()[..., s:h - s, s:w - s] for t in (sr, hr))
    return sr, hr, preset, batched


def psnr(sr: torch.Tensor, hr: torch.Tensor, preset: str | MetricPreset = "rgb-full",
         scale: float = 1) -> torch.Tensor:
    """Per-image PSNR (dB, data range 1) of (B, 3, H, W) or (3, H, W) images in [0, 1].

    Returns a float64 tensor of shape (B,), or a scalar for an unbatched input;
    +inf where the (cropped) images are identical.
    """
    sr, hr, preset, batched = _prepare(sr, hr, preset, scale, min_size=1)
    diff = sr - hr
    if preset.channel == "y":
        w = diff.new_tensor(_Y_PSNR).view(1, 3, 1, 1)
        diff = (diff * w).sum(dim=1, keepdim=True)
    mse = diff.pow(2).mean(dim=(1, 2, 3))
    out = -10.0 * torch.log10(mse)
    return out if batched else out[0]


def _gaussian_window(device) -> torch.Tensor:
    r = _SSIM_WIN // 2
    x = torch.arange(-r, r + 1, dtype=torch.float64, device=device)
    g = torch.exp(-(x ** 2) / (2 * _SSIM_SIGMA ** 2))
    return g / g.sum()


def _ssim_maps_mean(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """SSIM of (N, C, h, w) float64 images on [0, 255]: mean over 'valid' map and channels."""
    n, c = x.shape[:2]
    taps = _gaussian_window(x.device).tolist()
    k = len(taps)

    def blur(t):
        """Separable 'valid' Gaussian filter over the last two dims.

        Written as a sum of shifted slices: float64 conv2d has no fast kernel
        on the CPU, and this is about 2.5x faster with the same arithmetic.
        """
        h, w = t.shape[-2:]
        rows = t[..., : h - k + 1, :] * taps[0]
        for i in range(1, k):
            rows.add_(t[..., i : h - k + 1 + i, :], alpha=taps[i])
        out = rows[..., : w - k + 1] * taps[0]
        for i in range(1, k):
            out.add_(rows[..., i : w - k + 1 + i], alpha=taps[i])
        return out

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx  # population (biased) variances / covariance
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    c1, c2 = (_SSIM_K1 * _SSIM_L) ** 2, (_SSIM_K2 * _SSIM_L) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.reshape(n, c, -1).mean(dim=2).mean(dim=1)


def ssim(sr: torch.Tensor, hr: torch.Tensor, preset: str | MetricPreset = "rgb-full",
         scale: float = 1) -> torch.Tensor:
    """Per-image SSIM (Wang et al. / MATLAB convention) of images in [0, 1].

    Inputs (B, 3, H, W) or (3, H, W); after shaving each side must be >= 11.
    Y presets compare 255 * rgb_to_y; RGB presets average SSIM over the three
    channels scaled to [0, 255]. Returns float64 of shape (B,) or a scalar.
    """
    sr, hr, preset, batched = _prepare(sr, hr, preset, scale, min_size=_SSIM_WIN)
    if preset.channel == "y":
        sr, hr = rgb_to_y(sr) * 255.0, rgb_to_y(hr) * 255.0
    else:
        sr, hr = sr * 255.0, hr * 255.0
    out = _ssim_maps_mean(sr, hr)
    return out if batched else out[0]
