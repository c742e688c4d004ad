"""ST-LPIPS re-implementation: reference distances from the original package, and metric properties.

The reference inputs and distances are embedded in tests/data/perceptual (a lossless copy of
`<workspace>/shared/perceptual`; $REPRODUCE_PERCEPTUAL_REF points the tests at another copy);
the property tests need only the weights package.
"""
from __future__ import annotations

import copy
import csv
import functools
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from reproduce import perceptual
from reproduce.errors import ReproduceError
from reproduce.perceptual import MIN_SIDE, TAP_CHANNELS, BlurPool, load_stlpips

try:
    perceptual.weights_dir()
    HAVE_WEIGHTS = True
except ReproduceError:
    HAVE_WEIGHTS = False
needs_weights = pytest.mark.skipif(not HAVE_WEIGHTS,
                                   reason="stlpips-pytorch not installed (pip install stlpips-pytorch==0.0.2)")

REF_DIR = Path(os.environ.get("REPRODUCE_PERCEPTUAL_REF")
               or Path(__file__).resolve().parent / "data" / "perceptual")
REF_TSV = REF_DIR / "stlpips_reference.tsv"
REF_ROWS = list(csv.DictReader(REF_TSV.open(), delimiter="\t")) if REF_TSV.is_file() else []
needs_ref = pytest.mark.skipif(not REF_ROWS, reason=f"ST-LPIPS reference folder not found at {REF_DIR} "
                                                     "(set REPRODUCE_PERCEPTUAL_REF)")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # Small convolutions on a shared CPU spend most of their time in OpenMP barriers
    # (measured 10-50x slower with 2 threads next to a training run).
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@functools.cache
def _model(net, dtype_name):
    return load_stlpips(net, dtype=DTYPES[dtype_name])


def _image_path(rel_path):
    """The image a table names (.png), or its lossless .webp copy (tests/data/perceptual)."""
    path = REF_DIR / rel_path
    return path if path.is_file() else path.with_suffix(".webp")


def _signed(rel_path, dtype_name):
    """The package's im2tensor: uint8/127.5 - 1 in float64, cast to float32, (1, 3, H, W).

    The reference float64 column fed these float32 values, upcast, to the
    double model, so float64 here also starts from the float32-rounded tensor.
    """
    a = np.asarray(Image.open(_image_path(rel_path)).convert("RGB"), dtype=np.uint8)
    x = torch.from_numpy(a.astype(np.float64) / 127.5 - 1).float().permute(2, 0, 1)[None]
    return x.to(DTYPES[dtype_name])


@functools.cache
def _features(net, dtype_name, rel_path):
    # each image is shared by several pairs: compute its taps once
    with torch.no_grad():
        return _model(net, dtype_name).features(_signed(rel_path, dtype_name), signed=True)


def _ref_params():
    out = []
    for r in REF_ROWS:
        for dt in DTYPES:
            # the two full-size pairs (512x512, 344x228) cost more CPU than all the others together
            marks = [pytest.mark.slow] * r["pair_id"].endswith("_full_bicubic4")
            out.append(pytest.param(r, dt, id=f"{r['pair_id']}-{r['net']}-{dt}", marks=marks))
    return out or [pytest.param(None, None, id="no-reference")]


# ---------------------------------------------------------------- reference values
@needs_weights
@needs_ref
@pytest.mark.parametrize("row, dtype_name", _ref_params())
def test_reference_distance(row, dtype_name):
    net = row["net"]
    terms = _model(net, dtype_name).compare_features(_features(net, dtype_name, row["in0"]),
                                                     _features(net, dtype_name, row["in1"]))[0].double()
    ref_total = float(row["dist_float64"])
    if dtype_name == "float64":
        ref_terms = [float(row[f"layer{k}_f64"]) for k in range(5)]
        np.testing.assert_allclose(terms.numpy(), ref_terms, rtol=1e-9, atol=0)
        np.testing.assert_allclose(terms.sum().item(), ref_total, rtol=1e-9, atol=0)
    else:
        np.testing.assert_allclose(terms.sum().item(), ref_total, rtol=0, atol=1e-6)


@needs_weights
@needs_ref
@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("net", perceptual.NETS)
def test_forward_on_unit_range_images(net, dtype_name):
    """The public [0, 1] path (forward) gives the reference values too, batched."""
    ids = ("readme_ex_p0_vs_ref", "readme_ex_p1_vs_ref", "butterfly_odd93x75_noise10")
    rows = {r["pair_id"]: r for r in REF_ROWS if r["net"] == net}
    m = _model(net, dtype_name)

    def unit(rel_path):
        s = _signed(rel_path, dtype_name)
        if dtype_name == "float64":  # (s + 1) / 2 is exact in float64, so forward's 2x - 1 gives back s
            return (s + 1) / 2
        return torch.round((s + 1) * 127.5) / 255  # what a caller does: uint8 / 255 in float32

    with torch.no_grad():
        readme = m(torch.cat([unit(rows[i]["in0"]) for i in ids[:2]]),  # two 64x64 pairs in one batch
                   torch.cat([unit(rows[i]["in1"]) for i in ids[:2]]))
        odd = m(unit(rows[ids[2]]["in0"]), unit(rows[ids[2]]["in1"]))
    got = torch.cat([readme, odd])
    assert got.dtype == DTYPES[dtype_name] and got.shape == (3,)
    tol = dict(rtol=1e-9, atol=0) if dtype_name == "float64" else dict(rtol=0, atol=1e-6)
    np.testing.assert_allclose(got.double().numpy(), [float(rows[i]["dist_float64"]) for i in ids], **tol)


@needs_weights
@needs_ref
@pytest.mark.parametrize("net", perceptual.NETS)
def test_trunk_fingerprint(net):
    """Raw tap statistics on ex_ref.png (shape, mean, max, channel norms), float64."""
    path = REF_DIR / "trunk_fingerprint_ex_ref.tsv"
    rows = [r for r in csv.DictReader(path.open(), delimiter="\t") if r["net"] == net]
    m = _model(net, "float64")
    x = _signed("imgs/ex_ref.png", "float64")
    tensors = [m.scaling(x)] + list(_features(net, "float64", "imgs/ex_ref.png"))
    assert [r["tensor"] for r in rows] == ["scaled_input"] + [f"tap{k}" for k in range(5)]
    for r, t in zip(rows, tensors):
        assert "x".join(map(str, t.shape)) == r["shape_NCHW"], r["tensor"]
        h, w = t.shape[-2:]
        got = [t.mean(), t.std(), t.max(), t[:, 0].mean(),
               t[0, :, 0, 0].norm(), t[0, :, h // 2, w // 2].norm()]
        want = [float(r[k]) for k in ("mean", "std_unbiased", "max", "mean_channel0",
                                      "l2norm_over_channels_at_y0x0", "l2norm_over_channels_at_yH//2_xW//2")]
        np.testing.assert_allclose([v.item() for v in got], want, rtol=1e-8, atol=1e-12, err_msg=r["tensor"])


# ---------------------------------------------------------------- building blocks
def test_blurpool_size_and_centring():
    # n -> (n + 1) // 2 + 1; output sample i is centred on input index 2i - 1 (index -1 mirrors to 1).
    # (README 1.3 also lists "75 -> 38", which contradicts its own formula; the 93x75 reference pair
    # passes with 39.)
    for n, expect in [(64, 33), (128, 65), (75, 39), (31, 17), (18, 10)]:
        ramp = torch.arange(n, dtype=torch.float64).expand(1, 2, n, n)
        out = BlurPool(2).double()(ramp)
        assert out.shape == (1, 2, expect, expect)
        # a binomial blur keeps a ramp linear; the last sample may straddle the mirrored right edge
        centres = (2 * torch.arange(expect - 1, dtype=torch.float64) - 1).abs()
        assert torch.equal(out[0, 0, 0, : expect - 1], centres)
    assert BlurPool(5).filt.sum(dim=(1, 2, 3)).eq(1).all()


@needs_weights
@pytest.mark.parametrize("net", perceptual.NETS)
def test_tap_shapes_and_minimum_size(net):
    m = _model(net, "float32")
    sides = {"alex": (30, 15, 8, 8, 8), "vgg": (64, 33, 17, 9, 5)}[net]
    with torch.no_grad():
        taps = m.features(torch.rand(1, 3, 64, 64))
        assert [tuple(t.shape) for t in taps] == [(1, c, s, s) for c, s in zip(TAP_CHANNELS[net], sides)]
        s = MIN_SIDE[net]
        assert m(torch.rand(1, 3, s, s), torch.rand(1, 3, s, s)).shape == (1,)
    with pytest.raises(ValueError, match="needs H, W"):
        m(torch.rand(1, 3, s - 1, 40), torch.rand(1, 3, s - 1, 40))
    with pytest.raises(ValueError, match="RGB"):
        m(torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32))


def test_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(perceptual.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ReproduceError, match=r"pip install stlpips-pytorch==0\.0\.2"):
        load_stlpips("alex")


# ---------------------------------------------------------------- metric properties
def _images(n=3, h=26, w=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = 0.5 + 0.3 * torch.sin(7 * xx + 3 * yy + torch.arange(n).view(n, 1, 1, 1))
    a = (base.expand(n, 3, h, w) + 0.1 * torch.rand(n, 3, h, w, generator=g)).clamp(0, 1)
    b = (a + 0.05 * torch.randn(n, 3, h, w, generator=g)).clamp(0, 1)
    return a.double(), b.double()


@needs_weights
@pytest.mark.parametrize("net", perceptual.NETS)
def test_metric_properties(net):
    m = _model(net, "float64")
    a, b = _images()
    with torch.no_grad():
        d = m(a, b)
        assert d.shape == (3,) and d.dtype == torch.float64
        assert (d > 0).all()
        assert torch.equal(m(b, a), d)  # exactly symmetric
        assert torch.equal(m(a, a), torch.zeros(3, dtype=torch.float64))  # d(x, x) == 0 exactly
        one_by_one = torch.cat([m(a[i:i + 1], b[i:i + 1]) for i in range(3)])
        torch.testing.assert_close(d, one_by_one, rtol=1e-12, atol=0)
        assert torch.equal(m(a * 2 - 1, b * 2 - 1, signed=True), d)
        assert torch.equal(m.layer_distances(a, b).sum(1), d)


@needs_weights
@pytest.mark.parametrize("net", perceptual.NETS)
def test_train_mode_and_frozen(net):
    m = _model(net, "float32")  # as load_stlpips returns it
    assert not m.training and not any(p.requires_grad for p in m.parameters())
    m = copy.deepcopy(m)  # the cached one must stay in eval mode
    assert not any(isinstance(mod, torch.nn.Dropout) for mod in m.modules())
    a, b = (x.float() for x in _images(n=2))
    with torch.no_grad():
        d_eval = m(a, b)
        m.train()
        assert torch.equal(m(a, b), d_eval)


@needs_weights
@pytest.mark.parametrize("net", perceptual.NETS)
def test_input_gradients_are_finite(net):
    m = _model(net, "float32")
    a, b = (x.float() for x in _images(n=2))
    flat = torch.full_like(a, 0.5)
    for x, ref in [(a, b), (flat, b), (a.clone(), a)]:
        x = x.clone().requires_grad_(True)
        m(x, ref).sum().backward()
        assert torch.isfinite(x.grad).all()
        if ref is not a:
            assert x.grad.abs().sum() > 0
