"""LIIF: shapes, the coordinate conventions, ensemble weights, continuity."""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from conftest import liif_spec
from reproduce.coords import centres, make_cell, make_coord
from reproduce.engine import upscale
from reproduce.models import liif_fast, make

FLAGS = list(itertools.product([False, True], repeat=3))


@pytest.mark.parametrize("local_ensemble,feat_unfold,cell_decode", FLAGS)
def test_shapes_for_every_flag_combination(local_ensemble, feat_unfold, cell_decode):
    torch.manual_seed(0)
    model = make(liif_spec(local_ensemble=local_ensemble, feat_unfold=feat_unfold, cell_decode=cell_decode))
    assert model.imnet.in_dim == 8 * (9 if feat_unfold else 1) + 2 + (2 if cell_decode else 0)
    inp = torch.rand(2, 3, 5, 7) * 2 - 1
    coord = (torch.rand(2, 11, 2) * 2 - 1)
    out = model(inp, coord, make_cell(coord, (13, 17)))
    assert out.shape == (2, 11, 3) and torch.isfinite(out).all()


def test_paper_sizes():
    model = make(liif_spec(n_feats=64, n_resblocks=16, hidden=(256,) * 4))
    n_enc = sum(p.numel() for p in model.encoder.parameters())
    n_dec = sum(p.numel() for p in model.imnet.parameters())
    assert model.imnet.in_dim == 580
    assert abs(n_enc - 1.22e6) < 0.01e6 and abs(n_dec - 0.35e6) < 0.01e6


def test_make_coord_is_pixel_centres_in_yx_order():
    grid = make_coord((2, 4), flatten=False)
    assert grid.shape == (2, 4, 2)
    assert torch.allclose(grid[:, 0, 0], torch.tensor([-0.5, 0.5]))           # rows: y
    assert torch.allclose(grid[0, :, 1], torch.tensor([-0.75, -0.25, 0.25, 0.75]))  # columns: x
    assert torch.equal(centres(4), grid[0, :, 1])


class Identity(nn.Module):
    out_dim = 3

    def forward(self, x):
        return x


class FirstChannels(nn.Module):
    """A 'decoder' returning the sampled code itself (first 3 input channels)."""

    def forward(self, x):
        return x[..., :3]


def nearest_model():
    model = make(liif_spec(local_ensemble=False, feat_unfold=False, cell_decode=False))
    model.encoder = Identity()
    model.imnet = FirstChannels()
    return model


def test_query_at_lr_centres_returns_that_pixel_on_non_square_input():
    model = nearest_model()
    inp = torch.arange(3 * 4 * 6, dtype=torch.float32).view(1, 3, 4, 6)
    coord = make_coord((4, 6)).unsqueeze(0)
    out = model(inp, coord, None)
    assert torch.equal(out[0], inp[0].reshape(3, -1).t())


def test_upscale_integer_factor_is_nearest_neighbour_with_identity_decoder():
    # Orientation, (H, W) order and chunking: x3 upscaling of a non-square image
    # with a nearest-code decoder must equal pixel replication.
    model = nearest_model()
    lr = torch.rand(3, 4, 6)
    out = upscale(model, lr, (12, 18), chunk=7)
    expected = lr.repeat_interleave(3, dim=1).repeat_interleave(3, dim=2)
    assert out.shape == (3, 12, 18)
    assert torch.allclose(out, expected, atol=1e-6)


def test_ensemble_weights_are_bilinear_away_from_borders():
    torch.manual_seed(0)
    model = make(liif_spec(local_ensemble=True, feat_unfold=False, cell_decode=False))
    model.imnet = FirstChannels()
    feat = torch.randn(1, 8, 6, 9)
    h, w = feat.shape[-2:]
    # Interior queries: between the first and last LR pixel centres.
    coord = torch.rand(1, 500, 2)
    coord[..., 0] = coord[..., 0] * (2 - 2 / h) - (1 - 1 / h)
    coord[..., 1] = coord[..., 1] * (2 - 2 / w) - (1 - 1 / w)
    out = model.query(feat, coord)
    bilinear = F.grid_sample(feat[:, :3], coord.flip(-1).unsqueeze(1), mode="bilinear", align_corners=False)[:, :, 0].permute(0, 2, 1)
    assert torch.allclose(out, bilinear, atol=1e-5)


def _border_queries(h, w, y, delta):
    # Two queries at row position y +- delta, same x, inside the image.
    x = centres(w)[2] + 0.3 / w
    return torch.tensor([[[y - delta, x], [y + delta, x]]])


@pytest.mark.parametrize("local_ensemble", [True, False])
def test_continuity_across_cell_borders(local_ensemble):
    torch.manual_seed(0)
    model = make(liif_spec(local_ensemble=local_ensemble, cell_decode=False, hidden=(32, 32)))
    feat = torch.randn(1, 8, 6, 8)
    h, w = 6, 8
    border = -1 + 2 * 3 / h            # between LR rows 2 and 3
    centre = centres(h)[3].item()       # where the ensemble switches its four codes
    jumps = {}
    for name, y in (("border", border), ("centre", centre)):
        out = model.query(feat, _border_queries(h, w, y, 1e-4))
        jumps[name] = (out[0, 0] - out[0, 1]).abs().max().item()
    if local_ensemble:
        assert jumps["border"] < 5e-3 and jumps["centre"] < 5e-3
    else:
        assert jumps["border"] > 5e-2        # the nearest code changes: a visible seam
        assert jumps["centre"] < 5e-3


def test_bf16_autocast_runs_and_is_close():
    torch.manual_seed(0)
    model = make(liif_spec())
    inp = torch.rand(1, 3, 6, 6) * 2 - 1
    coord = torch.rand(1, 50, 2) * 2 - 1
    cell = make_cell(coord, (24, 24))
    ref = model(inp, coord, cell)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(inp, coord, cell)
    assert out.dtype == torch.float32  # the ensemble weights keep fp32
    assert (out - ref).abs().max() < 0.05


def test_cell_required_when_decoding_cells():
    model = make(liif_spec())
    with pytest.raises(ValueError, match="cell"):
        model(torch.zeros(1, 3, 4, 4), torch.zeros(1, 2, 2), None)


@pytest.mark.parametrize("local_ensemble,feat_unfold,cell_decode", FLAGS)
@pytest.mark.parametrize("hidden", [(32, 32, 32), (32,)])
@pytest.mark.parametrize("grad", [True, False])
def test_fast_path_equals_plain_path(local_ensemble, feat_unfold, cell_decode, hidden, grad, monkeypatch):
    # Without autograd the fast path decodes in blocks (made small here) with fused Linear+ReLU.
    monkeypatch.setattr(liif_fast, "BLOCK", 300)
    torch.set_grad_enabled(grad)
    torch.manual_seed(0)
    model = make(liif_spec(hidden=hidden, local_ensemble=local_ensemble, feat_unfold=feat_unfold, cell_decode=cell_decode))
    inp = torch.rand(2, 3, 7, 11) * 2 - 1
    # Random queries, plus the HR pixel centres of an integer and a fractional
    # scale (they sit exactly on LR centres and borders, where ties could differ).
    coord = torch.cat([torch.rand(2, 200, 2) * 2 - 1,
                       make_coord((21, 33)).expand(2, -1, -1), make_coord((26, 40)).expand(2, -1, -1)], dim=1)
    cell = make_cell(coord, (21, 33))
    fast = model(inp, coord, cell)
    model.fast = False
    plain = model(inp, coord, cell)
    torch.set_grad_enabled(True)
    assert (fast - plain).abs().max() <= 1e-5


def test_fast_path_gradients_equal_plain_path():
    torch.manual_seed(0)
    model = make(liif_spec())
    inp = torch.rand(2, 3, 6, 6) * 2 - 1
    coord = torch.rand(2, 64, 2) * 2 - 1
    cell = make_cell(coord, (20, 20))
    grads = []
    for fast in (True, False):
        model.fast = fast
        model.zero_grad()
        model(inp, coord, cell).square().sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for g_fast, g_plain in zip(*grads):
        assert torch.allclose(g_fast, g_plain, atol=1e-4, rtol=1e-4)


def test_tiled_encoding_equals_untiled():
    torch.manual_seed(0)
    model = make(liif_spec(n_resblocks=2))
    inp = torch.rand(1, 3, 23, 30) * 2 - 1
    full = model.encode(inp)
    from reproduce.engine.predict import encode_tiled
    tiled = encode_tiled(model, inp, tile=8)
    assert torch.allclose(tiled, full, atol=1e-5)


def test_upscale_uint8_output_is_the_rounded_float_output():
    torch.manual_seed(0)
    model = make(liif_spec())
    lr = torch.rand(3, 9, 13)
    as_float = upscale(model, lr, (20, 31), chunk=50)
    as_uint8 = upscale(model, lr, (20, 31), chunk=77, out_dtype=torch.uint8, tile=4)
    assert as_uint8.dtype == torch.uint8
    assert (as_uint8.float() - (as_float * 255).round()).abs().max() <= 1


def test_fused_op_probe_is_per_dtype_and_falls_back(monkeypatch):
    """Where oneDNN's fused linear+ReLU fails for a dtype (bf16 on CPUs without AVX-512), the plain MLP runs instead."""
    torch.manual_seed(0)
    model = make(liif_spec(hidden=(16, 16, 16))).eval()
    lr = torch.rand(3, 9, 11)
    monkeypatch.setattr(liif_fast, "_FUSED_OK", {})
    reference = upscale(model, lr, (20, 23), bf16=True)  # whatever this CPU supports

    def broken(x, weight, bias):
        if x.dtype == torch.bfloat16:
            raise RuntimeError("could not create a primitive descriptor for the inner product")
        return torch.relu(F.linear(x, weight, bias))

    monkeypatch.setattr(liif_fast, "_fused_linear_relu", broken)
    monkeypatch.setattr(liif_fast, "_FUSED_OK", {})
    out = upscale(model, lr, (20, 23), bf16=True)
    assert liif_fast._FUSED_OK == {torch.bfloat16: False}
    torch.testing.assert_close(out, reference, atol=2e-2, rtol=0)
    assert liif_fast._fused_linear_relu_works(torch.float32)  # fp32 still takes the (stand-in) fused path


def test_block_queries_are_sized_by_bytes(monkeypatch):
    monkeypatch.setattr(liif_fast, "BLOCK", None)
    assert liif_fast.block_queries(4, 256, torch.float32) == 2048
    assert liif_fast.block_queries(4, 256, torch.bfloat16) == 4096
    assert liif_fast.block_queries(1, 256, torch.float32) == 8192  # no local ensemble: one shift
    assert liif_fast.block_queries(4, 2**20, torch.float32) == 256  # never below 256 queries
    monkeypatch.setattr(liif_fast, "BLOCK", 300)
    assert liif_fast.block_queries(4, 256, torch.float32) == 300
