import math

import numpy as np
import pytest
import torch
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from reproduce.metrics import (
    PRESETS,
    MetricPreset,
    get_preset,
    preset_for_dataset,
    psnr,
    rgb_to_y,
    ssim,
)


def _pair(b=None, h=40, w=48, noise=0.05, seed=0):
    """Smooth image + noisy copy, both clamped to [0, 1], float64."""
    g = torch.Generator().manual_seed(seed)
    shape = (3, h, w) if b is None else (b, 3, h, w)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = 0.5 + 0.3 * torch.sin(6 * xx + 4 * yy) * torch.cos(3 * yy)
    hr = (base + 0.1 * torch.rand(shape, generator=g)).clamp(0, 1).double()
    sr = (hr + noise * torch.randn(shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return sr, hr


def _np(img):  # (3, H, W) tensor -> (H, W, 3) numpy
    return img.permute(1, 2, 0).numpy()


def _y255_skimage(img):
    return rgb2ycbcr(_np(img))[..., 0]


# ---------------------------------------------------------------- Y conversion
def test_rgb_to_y_matches_skimage():
    _, hr = _pair()
    y = rgb_to_y(hr)
    assert y.shape == (1, 40, 48) and y.dtype == torch.float64
    np.testing.assert_allclose(y[0].numpy() * 255, _y255_skimage(hr), rtol=0, atol=1e-10)
    yb = rgb_to_y(hr.unsqueeze(0).float())
    assert yb.shape == (1, 1, 40, 48)


def test_rgb_to_y_range():
    assert rgb_to_y(torch.zeros(3, 2, 2)).allclose(torch.full((1, 2, 2), 16 / 255, dtype=torch.float64))
    assert rgb_to_y(torch.ones(3, 2, 2)).allclose(torch.full((1, 2, 2), 235 / 255, dtype=torch.float64))


# ------------------------------------------------------------------------ PSNR
def test_psnr_rgb_matches_skimage():
    sr, hr = _pair()
    ref = peak_signal_noise_ratio(_np(hr), _np(sr), data_range=1)
    got = psnr(sr, hr)
    assert got.shape == () and got.dtype == torch.float64
    assert abs(got.item() - ref) < 1e-10


# BT.601 luma as MATLAB's rgb2ycbcr writes it, typed here independently of the package:
# Y = 16 + 65.481 R + 128.553 G + 24.966 B for R, G, B in [0, 1], Y in [16, 235].
BT601 = np.array([65.481, 128.553, 24.966])


def _y255_bt601(img):
    return 16 + _np(img) @ BT601


def test_psnr_y_channel_weights_are_bt601_to_rounding():
    """The weight PSNR-Y gives each channel, read back from a constant error in that channel alone.

    LIIF/EDSR's PSNR code weights [0, 1] differences by (65.738, 129.057, 25.064) / 256, which is
    BT601 / 255 up to the rounding of the published coefficients (< 4e-6 relative; < 4e-5 dB in
    PSNR, hence the 1e-4 dB tolerances below: a coefficient off by 0.05 % moves PSNR-Y by > 4e-3 dB,
    a swapped channel by several dB).
    """
    hr = torch.full((3, 6, 6), 0.5, dtype=torch.float64)
    weights = []
    for c in range(3):
        sr = hr.clone()
        sr[c] += 0.25
        weights.append(10 ** (-psnr(sr, hr, "benchmark-y", 2).item() / 20) / 0.25)  # |dY| = 0.25 w_c
    np.testing.assert_allclose(weights, BT601 / 255, rtol=4e-6)


def test_rgb_to_y_primaries_hand_typed():
    prim = torch.eye(3, dtype=torch.float64).view(3, 3, 1, 1).expand(3, 3, 1, 2)  # pure R, G, B
    got = torch.stack([rgb_to_y(p)[0, 0, 0] for p in prim]) * 255
    np.testing.assert_allclose(got.numpy(), [16 + 65.481, 16 + 128.553, 16 + 24.966], rtol=0, atol=1e-9)


def test_psnr_hand_computed_on_a_tiny_array():
    hr = torch.zeros(3, 2, 2, dtype=torch.float64)
    sr = hr.clone()
    sr[1, 0, 1] = 0.5  # one of 12 values off by 0.5: MSE = 0.25 / 12, PSNR = 10 log10(48)
    assert psnr(sr, hr).item() == pytest.approx(16.812412373755872, abs=1e-12)
    gray = hr.clone()
    gray[:, 1, 0] = 0.5  # one grey pixel of 4: Y differs by 0.5 * (65.481 + 128.553 + 24.966) / 255 = 0.5 * 219 / 255
    y_no_shave = MetricPreset("y-no-shave", "y", lambda s: 0)
    assert psnr(gray, hr, y_no_shave).item() == pytest.approx(10 * math.log10(4 / (0.5 * 219 / 255) ** 2), abs=1e-4)
    big = torch.zeros(3, 4, 4, dtype=torch.float64)
    bump = big.clone()
    bump[:, 1:3, 1:3] = 0.5  # shave 1 at scale 1 keeps the 2x2 centre, all of it off
    assert psnr(bump, big, "benchmark-y", 1).item() == pytest.approx(-20 * math.log10(0.5 * 219 / 255), abs=1e-4)


@pytest.mark.parametrize("channel", [0, 1, 2])
def test_psnr_y_weights_each_channel_by_bt601(channel):
    """An error in one channel only: PSNR-Y is set by that channel's BT.601 weight alone."""
    g = torch.Generator().manual_seed(channel)
    hr = 0.2 + 0.6 * torch.rand(3, 12, 14, generator=g, dtype=torch.float64)
    sr = hr.clone()
    sr[channel] += 0.1 * torch.randn(12, 14, generator=g, dtype=torch.float64)
    s = 2
    dy = (_y255_bt601(sr) - _y255_bt601(hr))[s:-s, s:-s] / 255
    expected = -10 * math.log10(np.mean(dy ** 2))
    assert psnr(sr, hr, "benchmark-y", scale=2).item() == pytest.approx(expected, abs=1e-4)


def test_psnr_y_matches_bt601_and_skimage():
    sr, hr = _pair()
    s = 3
    y_sr, y_hr = _y255_bt601(sr)[s:-s, s:-s], _y255_bt601(hr)[s:-s, s:-s]
    ref = peak_signal_noise_ratio(y_hr, y_sr, data_range=255)
    got = psnr(sr, hr, "benchmark-y", scale=3)
    assert got.item() == pytest.approx(ref, abs=1e-4)
    y2 = peak_signal_noise_ratio(_y255_skimage(hr)[s:-s, s:-s], _y255_skimage(sr)[s:-s, s:-s], data_range=255)
    assert got.item() == pytest.approx(y2, abs=1e-4)


def test_psnr_div2k_preset_matches_skimage_on_crop():
    sr, hr = _pair(h=60, w=64)
    s = 4 + 6
    ref = peak_signal_noise_ratio(_np(hr)[s:-s, s:-s], _np(sr)[s:-s, s:-s], data_range=1)
    assert abs(psnr(sr, hr, "div2k-rgb", scale=4).item() - ref) < 1e-10


@pytest.mark.parametrize("preset,scale,shave", [("benchmark-y", 2, 2), ("benchmark-y", 4, 4),
                                                ("div2k-rgb", 3, 9), ("rgb-full", 4, 0)])
def test_shave_border_perturbation_ignored(preset, scale, shave):
    sr, hr = _pair(h=50, w=52)
    base = psnr(sr, hr, preset, scale)
    sr2 = sr.clone()
    if shave:
        sr2[:, :shave, :] = 1 - sr2[:, :shave, :]
        sr2[:, :, -shave:] = 0
        assert psnr(sr2, hr, preset, scale).item() == base.item()
    sr2[:, shave, shave] += 0.5  # first pixel inside the crop does count
    assert psnr(sr2, hr, preset, scale).item() != base.item()


def test_psnr_batch_per_image():
    sr, hr = _pair(b=3)
    sr[1] = hr[1] + 0.2 * (sr[1] - hr[1])  # make images differ in quality
    got = psnr(sr, hr, "benchmark-y", scale=2)
    assert got.shape == (3,) and got.dtype == torch.float64
    for i in range(3):
        assert got[i].item() == pytest.approx(psnr(sr[i], hr[i], "benchmark-y", 2).item(), abs=1e-12)
    assert got[1] > got[0] + 5


def test_psnr_identical_is_inf():
    _, hr = _pair()
    assert math.isinf(psnr(hr, hr.clone()).item())


# ------------------------------------------------------------------------ SSIM
@pytest.mark.parametrize("seed,noise", [(0, 0.05), (1, 0.2), (2, 0.01)])
def test_ssim_y_matches_skimage(seed, noise):
    sr, hr = _pair(h=45, w=50, noise=noise, seed=seed)
    s = 2
    a, b = _y255_skimage(sr)[s:-s, s:-s], _y255_skimage(hr)[s:-s, s:-s]
    ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=255)
    got = ssim(sr, hr, "benchmark-y", scale=2)
    assert got.dtype == torch.float64 and got.shape == ()
    assert abs(got.item() - ref) <= 1e-10


def test_ssim_rgb_matches_skimage_channel_axis():
    sr, hr = _pair(h=38, w=41, noise=0.1)
    ref = structural_similarity(_np(sr) * 255, _np(hr) * 255, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=255, channel_axis=-1)
    assert abs(ssim(sr, hr).item() - ref) <= 1e-10
    s = 2 + 6
    ref = structural_similarity(_np(sr)[s:-s, s:-s] * 255, _np(hr)[s:-s, s:-s] * 255,
                                gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                data_range=255, channel_axis=-1)
    assert abs(ssim(sr, hr, "div2k-rgb", 2).item() - ref) <= 1e-10


def test_ssim_batch_float32_and_identity():
    sr, hr = _pair(b=2)
    got = ssim(sr.float(), hr.float(), "benchmark-y", 4)
    assert got.shape == (2,) and got.dtype == torch.float64
    assert torch.all(got < 1)
    assert torch.allclose(ssim(hr, hr, "benchmark-y", 4), torch.ones(2, dtype=torch.float64))


# --------------------------------------------------------------------- presets
def test_preset_shave_rules():
    by, dv, full = PRESETS["benchmark-y"], PRESETS["div2k-rgb"], PRESETS["rgb-full"]
    assert [by.shave(s) for s in (2, 3, 4)] == [2, 3, 4]
    assert [dv.shave(s) for s in (2, 3, 4)] == [8, 9, 10]
    assert by.shave(2.5) == 3 and dv.shave(2.5) == 9
    assert full.shave(4) == 0
    assert (by.channel, dv.channel, full.channel) == ("y", "rgb", "rgb")
    assert get_preset("div2k-rgb") is dv and get_preset(dv) is dv
    with pytest.raises(Exception):
        by.name = "x"  # frozen


def test_custom_preset_object():
    sr, hr = _pair()
    p = MetricPreset("y-noshave", "y", lambda s: 0)
    ref = peak_signal_noise_ratio(_y255_bt601(hr), _y255_bt601(sr), data_range=255)
    assert psnr(sr, hr, p, 4).item() == pytest.approx(ref, abs=1e-4)


def test_preset_for_dataset():
    for n in ("Set5", "set14", "B100", "URBAN100", "sample"):
        assert preset_for_dataset(n) == "benchmark-y"
    for n in ("Kodak24", "div2k", "DIV2K-valid", "div2k_x4"):
        assert preset_for_dataset(n) == "div2k-rgb"
    with pytest.raises(ValueError, match="Set5|set5"):
        preset_for_dataset("manga109")


# ----------------------------------------------------------------- error paths
def test_errors():
    sr, hr = _pair()
    with pytest.raises(ValueError, match="shape mismatch"):
        psnr(sr, hr[:, :-1])
    with pytest.raises(ValueError, match="RGB"):
        psnr(sr[:1], hr[:1])
    with pytest.raises(ValueError, match="RGB"):
        ssim(sr[0], hr[0])
    with pytest.raises(ValueError, match="too small"):
        psnr(sr[:, :16, :16], hr[:, :16, :16], "div2k-rgb", 2)  # 2 * 8 = 16
    psnr(sr[:, :17, :17], hr[:, :17, :17], "div2k-rgb", 2)  # 1 pixel left: fine
    with pytest.raises(ValueError, match="too small"):
        ssim(sr[:, :20, :20], hr[:, :20, :20], "benchmark-y", 5)  # 10 < 11
    ssim(sr[:, :21, :21], hr[:, :21, :21], "benchmark-y", 5)
    with pytest.raises(ValueError, match="valid"):
        psnr(sr, hr, "bogus")
    with pytest.raises(ValueError, match="scale"):
        psnr(sr, hr, "benchmark-y", 0)
    with pytest.raises(ValueError, match="3, H, W"):
        rgb_to_y(torch.zeros(4, 5, 5))
