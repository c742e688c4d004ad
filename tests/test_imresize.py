import math

import numpy as np
import pytest
import torch
from PIL import Image

from reproduce.imresize import _contributions, imresize, imresize_uint8, resize_pil_bicubic


# ---------------------------------------------------------------------------
# Slow, obviously-correct reference: loop over output pixels and over every
# input position the (possibly widened) kernel touches; mirror out-of-range
# positions by hand.  No vectorisation, no shared code with the module.
# ---------------------------------------------------------------------------
def ref_cubic(x):
    x = abs(x)
    if x <= 1:
        return 1.5 * x**3 - 2.5 * x**2 + 1
    if x <= 2:
        return -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2
    return 0.0


def ref_weight_matrix(n_in, n_out, s):
    """Dense (n_out, n_in) matrix of the 1-D MATLAB bicubic resize."""
    m = np.zeros((n_out, n_in))
    width = 4.0 / s if s < 1 else 4.0
    for x in range(1, n_out + 1):
        u = x / s + 0.5 * (1 - 1 / s)
        row = {}
        for j in range(math.floor(u - width / 2) - 1, math.ceil(u + width / 2) + 2):
            w = s * ref_cubic(s * (u - j)) if s < 1 else ref_cubic(u - j)
            k = j
            while k < 1 or k > n_in:  # symmetric reflection, edge repeated
                k = 1 - k if k < 1 else 2 * n_in + 1 - k
            row[k] = row.get(k, 0.0) + w
        total = sum(row.values())
        for k, w in row.items():
            m[x - 1, k - 1] = w / total
    return m


def ref_imresize(img, scales, out_size):
    """img: (H, W) float64 numpy; per-pixel double loop."""
    wh = ref_weight_matrix(img.shape[0], out_size[0], scales[0])
    ww = ref_weight_matrix(img.shape[1], out_size[1], scales[1])
    out = np.zeros(out_size)
    for i in range(out_size[0]):
        for j in range(out_size[1]):
            out[i, j] = sum(wh[i, a] * ww[j, b] * img[a, b]
                            for a in np.nonzero(wh[i])[0] for b in np.nonzero(ww[j])[0])
    return out


@pytest.mark.parametrize("scale", [1 / 3, 0.37, 0.5, 2, 3.7, (0.6, 2.5)])
def test_constant_image_stays_constant(scale):
    img = torch.full((3, 17, 23), 0.625, dtype=torch.float64)
    out = imresize(img, scale=scale)
    assert torch.allclose(out, torch.full_like(out, 0.625), atol=1e-12)


def test_output_sizes():
    img = torch.rand(2, 3, 10, 13)
    assert imresize(img, scale=0.37).shape == (2, 3, math.ceil(10 * 0.37), math.ceil(13 * 0.37))
    assert imresize(img, scale=3.7).shape == (2, 3, 37, math.ceil(13 * 3.7))
    assert imresize(img, scale=(2, 0.5)).shape == (2, 3, 20, 7)  # ceil(6.5) = 7
    assert imresize(img, size=(7, 29)).shape == (2, 3, 7, 29)
    assert imresize(img[0, 0], size=(4, 5)).shape == (4, 5)


def test_hand_computed_upscale_by_2():
    # s = 2: u = x/2 + 0.25, so outputs sit at 0.75, 1.25, 1.75, ... (1-based).
    # Kernel values: f(0.25) = 111/128, f(0.75) = 29/128, f(1.25) = -9/128,
    # f(1.75) = -3/128 (they already sum to 1).  Signal s(1..4) = 1, 2, 4, 8,
    # symmetric padding s(0)=1, s(-1)=2, s(5)=8, s(6)=4.
    #   x=1, u=0.75: taps -1..2 weights -3,29,111,-9: -6+29+111-18  = 116
    #   x=2, u=1.25: taps  0..3 weights -9,111,29,-3: -9+111+58-12  = 148
    #   x=3, u=1.75: taps  0..3 weights -3,29,111,-9: -3+29+222-36  = 212
    #   x=4, u=2.25: taps  1..4 weights -9,111,29,-3: -9+222+116-24 = 305
    #   x=5, u=2.75: taps  1..4 weights -3,29,111,-9: -3+58+444-72  = 427
    #   x=6, u=3.25: taps  2..5 weights -9,111,29,-3: -18+444+232-24 = 634
    #   x=7, u=3.75: taps  2..5 weights -3,29,111,-9: -6+116+888-72 = 926
    #   x=8, u=4.25: taps  3..6 weights -9,111,29,-3: -36+888+232-12 = 1072
    # (all divided by 128)
    signal = torch.tensor([[1.0, 2.0, 4.0, 8.0]], dtype=torch.float64)
    expected = torch.tensor([[116, 148, 212, 305, 427, 634, 926, 1072]], dtype=torch.float64) / 128
    assert torch.allclose(imresize(signal, scale=(1, 2)), expected, atol=1e-14)
    assert torch.allclose(imresize(signal, size=(1, 8)), expected, atol=1e-14)


def test_hand_computed_downscale_by_2():
    # s = 0.5: h(x) = 0.5 f(x/2), width 8, P = 10 taps.  Output x=3 sits at
    # u = 2*3 - 0.5 = 5.5; taps 1..10 at distances 4.5, 3.5, ..., -4.5;
    # h(4.5) = 0, h(3.5) = f(1.75)/2 = -3/256, h(2.5) = -9/256,
    # h(1.5) = 29/256, h(0.5) = 111/256 (sum 1).  The two outer tap columns
    # are zero for every output pixel and are dropped -> 8 columns.
    idx, w = _contributions(16, 8, 0.5)
    assert idx.shape == w.shape == (8, 8)
    assert idx[2].tolist() == list(range(1, 9))  # 1-based taps 2..9
    expected = torch.tensor([-3, -9, 29, 111, 111, 29, -9, -3], dtype=torch.float64) / 256
    assert torch.allclose(w[2], expected, atol=1e-15)
    # Output pixel 1 (u = 1.5): left = floor(1.5 - 4) = -3, kept taps -2..5
    # (1-based), mirrored to 3, 2, 1, 1, 2, 3, 4, 5 -> 0-based below.
    assert idx[0].tolist() == [2, 1, 0, 0, 1, 2, 3, 4]
    signal = torch.arange(1.0, 17.0, dtype=torch.float64)[None]
    assert imresize(signal, scale=(1, 0.5))[0, 2].item() == pytest.approx(5.5, abs=1e-13)


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_antialias_kernel_width(k):
    idx, w = _contributions(20 * k, 20, 1 / k)
    for row in range(5, 15):  # interior rows: no mirroring
        nz = idx[row][w[row] != 0]
        span = nz.max().item() - nz.min().item() + 1
        assert span in (4 * k - 1, 4 * k)  # support |u - j| < 2k
    idx, w = _contributions(20, 20 * k, float(k))  # upscaling: plain 4-tap kernel
    assert ((w != 0).sum(1) <= 4).all()


def test_symmetric_boundary_on_ramp():
    n = 10
    ramp = torch.arange(1.0, n + 1, dtype=torch.float64)[None]
    out = imresize(ramp, scale=(1, 3))[0].numpy()
    u = np.arange(1, 3 * n + 1) / 3 + 0.5 * (1 - 1 / 3)
    interior = (u > 2) & (u < n - 1)  # all 4 taps inside the image
    assert np.allclose(out[interior], u[interior], atol=1e-12)  # cubic keeps lines
    # Border: interpolate the explicitly symmetric-padded signal directly.
    pad = 3
    padded = np.pad(ramp[0].numpy(), pad, mode="symmetric")  # 3,2,1,1,2,...,n,n,n-1
    for x in np.nonzero(~interior)[0]:
        j = np.arange(math.floor(u[x]) - 1, math.floor(u[x]) + 3)  # 1-based taps
        w = np.array([ref_cubic(u[x] - jj) for jj in j])
        assert out[x] == pytest.approx((w * padded[j - 1 + pad]).sum() / w.sum(), abs=1e-12)
    assert out[0] != pytest.approx(u[0])  # the mirror genuinely bends the border


def test_transpose_and_batch_invariance():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(2, 3, 9, 14, dtype=torch.float64, generator=g)
    out = imresize(img, scale=(0.6, 2.3))
    out_t = imresize(img.transpose(-1, -2), scale=(2.3, 0.6))
    assert torch.allclose(out_t, out.transpose(-1, -2), atol=1e-12)
    for b in range(2):
        for c in range(3):
            assert torch.allclose(out[b, c], imresize(img[b, c], scale=(0.6, 2.3)), atol=1e-14)


def test_dtype_preserved_and_float64_inside():
    img = torch.rand(3, 12, 12)
    out = imresize(img, scale=0.5)
    assert out.dtype == torch.float32
    ref = imresize(img.double(), scale=0.5).float()
    assert torch.equal(out, ref)
    assert imresize(img.half(), scale=2).dtype == torch.float16
    img64 = img.double()
    same = imresize(img64, scale=1)  # identity still returns a new tensor
    assert torch.equal(same, img64) and same.data_ptr() != img64.data_ptr()


@pytest.mark.parametrize("kwargs", [
    {}, {"scale": 2, "size": (4, 4)}, {"scale": 0}, {"scale": -1.5}, {"scale": (2, 0)},
    {"size": (0, 4)}, {"size": (4, -1)}, {"size": (4, 4, 4)},
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        imresize(torch.rand(3, 8, 8), **kwargs)


def test_non_float_input_rejected():
    with pytest.raises(TypeError):
        imresize(torch.zeros(3, 8, 8, dtype=torch.uint8), scale=2)


@pytest.mark.parametrize("shape,scales,size", [
    ((7, 9), (2, 2), None), ((12, 10), (0.5, 0.5), None), ((11, 13), (1 / 3, 1 / 3), None),
    ((8, 9), (3.7, 0.37), None), ((10, 6), (0.45, 1.75), None), ((9, 9), None, (4, 13)),
    ((5, 8), (1, 2.5), None), ((3, 4), (0.3, 0.26), None),
])
def test_matches_loop_reference(shape, scales, size):
    rng = np.random.default_rng(1)
    img = rng.random(shape)
    if size is None:
        out = imresize(torch.from_numpy(img), scale=scales).numpy()
        out_size = tuple(math.ceil(n * s) for n, s in zip(shape, scales))
    else:
        out = imresize(torch.from_numpy(img), size=size).numpy()
        out_size, scales = size, tuple(o / n for o, n in zip(size, shape))
    assert out.shape == out_size
    np.testing.assert_allclose(out, ref_imresize(img, scales, out_size), atol=1e-10, rtol=0)


def test_resize_pil_bicubic_matches_pil_and_orders_hw():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, size=(20, 32, 3), dtype=np.uint8)
    out = resize_pil_bicubic(img, (9, 50))
    assert out.dtype == np.uint8 and out.shape == (9, 50, 3)
    direct = np.asarray(Image.fromarray(img).resize((50, 9), Image.BICUBIC))
    assert np.array_equal(out, direct)
    gray = img[..., 0]
    assert resize_pil_bicubic(gray, (40, 16)).shape == (40, 16)
    with pytest.raises(ValueError):
        resize_pil_bicubic(img.astype(np.float32), (9, 50))
    with pytest.raises(ValueError):
        resize_pil_bicubic(img, (0, 50))


def test_imresize_uint8_hand_computed_values_and_rounding():
    # 1-D x2 of 16, 32, 64, 128: 16 x the values of test_hand_computed_upscale_by_2, i.e.
    # (116, 148, 212, 305, 427, 634, 926, 1072) / 8 = 14.5, 18.5, 26.5, 38.125, 53.375, 79.25, 115.75, 134.
    # MATLAB's round() takes halves away from zero: 15, 19, 27 (half-to-even would give 14, 18, 26).
    row = np.array([[16, 32, 64, 128]], dtype=np.uint8)
    assert imresize_uint8(row, scale=(1, 2)).tolist() == [[15, 19, 27, 38, 53, 79, 116, 134]]

    # 2-D x2 of a linear ramp 20 i + 10 j + c (0-based i, j; channel c). Output pixel x (1-based)
    # sits at u = x / 2 + 0.25, where the ramp is 20 (u_i - 1) + 10 (u_j - 1) + c; the cubic keeps
    # linear ramps where all 4 taps are inside (x = 4..13), so those pixels are exactly
    # 10 x_i + 5 x_j - 22.5 + c: each ends in .5 and rounds up.
    i, j = np.mgrid[0:8, 0:8]
    ramp = np.stack([20 * i + 10 * j + c for c in range(3)], axis=-1).astype(np.uint8)
    up = imresize_uint8(ramp, scale=2)
    assert up.dtype == np.uint8 and up.shape == (16, 16, 3) and up.flags.c_contiguous
    xi, xj = np.mgrid[4:14, 4:14]
    for c in range(3):
        assert np.array_equal(up[3:13, 3:13, c], 10 * xi + 5 * xj - 22 + c), c

    # 1-D x1/2 of the ramp 3, 6, ..., 48: output x sits at u = 2 x - 0.5 and the widened kernel
    # (8 taps) is inside for x = 3..6, where the ramp gives 3 u = 6 x - 1.5 -> 17, 23, 29, 35.
    down = imresize_uint8((3 * np.arange(1, 17)).astype(np.uint8)[None], scale=(1, 0.5))
    assert down.shape == (1, 8) and down[0, 2:6].tolist() == [17, 23, 29, 35]
    # 1-D x1/2 of one 128 at (1-based) position 5 among zeros: the widened kernel h(t) = f(t / 2) / 2
    # weights it by h(3.5), h(1.5), h(0.5), h(2.5) = -3, 29, 111, -9 (/ 256) in outputs 1..4, giving
    # -1.5, 14.5, 55.5, -4.5 -> 0, 15, 56, 0 (clipped; halves away from zero); a plain 4-tap cubic would give 72.
    spike = np.zeros((1, 16), dtype=np.uint8)
    spike[0, 4] = 128
    assert imresize_uint8(spike, scale=(1, 0.5)).tolist() == [[0, 15, 56, 0, 0, 0, 0, 0]]
    # a 1x2 pixel [2, 3] shrunk to 1x1 averages symmetrically to exactly 2.5 -> 3
    half = np.array([[[2, 2, 2], [3, 3, 3]]], dtype=np.uint8)
    assert imresize_uint8(half, size=(1, 1)).tolist() == [[[3, 3, 3]]]

    const = np.full((9, 13, 3), 77, dtype=np.uint8)
    for kwargs in ({"scale": 0.5}, {"scale": 3}, {"size": (4, 20)}):
        assert (imresize_uint8(const, **kwargs) == 77).all(), kwargs
    assert imresize_uint8(const[..., 0], size=(5, 7)).shape == (5, 7)
    # Bicubic over/undershoot at a 0/255 step is clipped, not wrapped.
    edge = np.zeros((4, 8, 3), dtype=np.uint8)
    edge[:, 4:] = 255
    up = imresize_uint8(edge, size=(4, 16))
    assert up.min() == 0 and up.max() == 255
    assert np.array_equal(up[:, :7], np.zeros_like(up[:, :7]))
    with pytest.raises(ValueError):
        imresize_uint8(const.astype(np.float64), scale=2)
