"""NIQE (reproduce.niqe) against scikit-video 1.1.11, and its behaviour.

Agreement is checked twice, so that a missing scikit-video cannot hide a failure
behind a skip: against values computed once with skvideo's own code and
committed in tests/data/niqe_reference.json (always runs), and against skvideo
run live (needs the ``test`` extras: scikit-video==1.1.11). Both use the inputs
and the compatibility patches of tests/data/make_niqe_reference.py, which wrote
the JSON file.
"""
from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage
import torch

from reproduce import niqe as N
from reproduce.data import to_tensor
from reproduce.errors import ReproduceError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
REFERENCE = json.loads((DATA / "niqe_reference.json").read_text())


def _load_maker():
    spec = importlib.util.spec_from_file_location("make_niqe_reference", DATA / "make_niqe_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = _load_maker()
NAMES = sorted(MAKER.INPUTS)


@pytest.fixture(scope="module")
def inputs() -> dict[str, np.ndarray]:
    return MAKER.make_inputs()


# -- agreement with scikit-video ------------------------------------------------------------------


def test_reference_file_covers_every_input():
    assert sorted(REFERENCE["images"]) == NAMES
    assert REFERENCE["versions"]["scikit-video"] == "1.1.11"


@pytest.mark.parametrize("name", NAMES)
def test_matches_committed_skvideo_reference(inputs, name):
    ref = REFERENCE["images"][name]
    img = inputs[name]
    assert list(img.shape) == ref["shape"]
    assert MAKER.digest(img) == ref["sha256"], f"the recipe of {name} changed: rerun tests/data/make_niqe_reference.py"
    # Measured agreement is <= 1e-6 relative (skvideo returns float32 and does its
    # AGGD statistics in float32, here float64).
    assert N.niqe(img) == pytest.approx(ref["niqe"], rel=1e-5)


def test_matches_skvideo_live(inputs):
    skvideo = pytest.importorskip("skvideo", reason="scikit-video not installed (pip install -e '.[test]'); "
                                                    "test_matches_committed_skvideo_reference still checks the values")
    if skvideo.__version__ != "1.1.11":
        pytest.skip(f"scikit-video {skvideo.__version__} installed; reproduce.niqe follows 1.1.11")
    with MAKER.skvideo_patched() as sk:
        for name, img in inputs.items():
            h, w = img.shape
            cropped = img[: h - h % 96, : w - w % 96].astype(np.float32)
            # Stage by stage, so that a failure says where the definitions part.
            assert np.array_equal(N.mscn(cropped), sk.compute_image_mscn_transform(cropped)[0]), name
            assert np.array_equal(N._half_scale(cropped), MAKER.scipy_misc_imresize(cropped, 0.5, interp="bicubic", mode="F")), name
            np.testing.assert_allclose(N.niqe_features(img), sk.get_patches_test_features(img, 96),
                                       rtol=1e-4, atol=1e-6, err_msg=name)
            theirs = float(sk.niqe(img)[0])
            assert theirs == pytest.approx(REFERENCE["images"][name]["niqe"], rel=1e-6), f"{name}: stale niqe_reference.json"
            assert N.niqe(img) == pytest.approx(theirs, rel=1e-5), name


def test_skvideo_patches_are_undone():
    pytest.importorskip("skvideo")
    with MAKER.skvideo_patched():
        assert np.int is int
    assert "int" not in np.__dict__
    import scipy.misc  # noqa: F401 (deprecated, may warn)
    assert not hasattr(scipy.misc, "imresize")


def test_nearest_alpha_index_equals_skvideo_argmin():
    # skvideo: argmin((rho_grid - rho) ** 2) over the whole grid; NaN -> index 0.
    rng = np.random.default_rng(0)
    grid = N._RHO_GRID
    mids = (grid[:-1] + grid[1:]) / 2
    rho = np.concatenate([rng.uniform(0, 0.8, 2000), grid[::97], mids[::89], [0.0, -1.0, 5.0, np.nan, grid[0], grid[-1]]])
    with np.errstate(invalid="ignore"):
        expected = np.array([np.argmin((grid - r) ** 2) for r in rho])
    assert np.array_equal(N._nearest_alpha_index(rho), expected)


def test_aggd_recovers_a_known_shape():
    # A Laplacian (alpha = 1) with left scale 1 and right scale 2 (AGGD betas).
    rng = np.random.default_rng(0)
    n = 200_000
    side = rng.random(n) < 1 / 3  # P(left) = beta_l / (beta_l + beta_r)
    x = np.where(side, -rng.exponential(1.0, n), rng.exponential(2.0, n))
    alpha, eta, bl, br = (float(v[0]) for v in N._aggd(x[None]))
    assert alpha == pytest.approx(1.0, abs=0.03)
    assert (bl, br) == (pytest.approx(1.0, rel=0.03), pytest.approx(2.0, rel=0.03))
    assert eta == pytest.approx(x.mean(), rel=0.05)


def test_diagonal_features_repeat_beta_left():
    # skvideo's quirk, kept: (alpha, eta, beta_l, beta_l) for both diagonal products.
    f = N.niqe_features(MAKER.make_inputs()["gradient_noise"])
    for base in (0, 18):
        assert np.array_equal(f[:, base + 12], f[:, base + 13])
        assert np.array_equal(f[:, base + 16], f[:, base + 17])
        assert not np.array_equal(f[:, base + 4], f[:, base + 5])


# -- behaviour -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["baby_full", "woman_full"])
def test_heavy_noise_raises_niqe(inputs, name):
    img = inputs[name]
    noisy = np.clip(img + np.random.default_rng(0).normal(0, 50, img.shape), 0, 255)
    assert N.niqe(noisy) > 1.3 * N.niqe(img)


def test_strong_blur_raises_niqe(inputs):
    # Measured 21.0 -> 35.1. (skvideo's NIQE ranks *mild* blur poorly: sigma 1
    # lowers "baby" from 16.9 to 14.5; see the module docstring.)
    img = inputs["woman_full"]
    assert N.niqe(scipy.ndimage.gaussian_filter(img, 3, mode="reflect")) > 1.3 * N.niqe(img)


@pytest.mark.parametrize("shape", [(193, 400), (400, 193), (100, 100)])
def test_too_small_is_an_error(shape):
    with pytest.raises(ReproduceError, match="at least 194"):
        N.niqe(np.full(shape, 128.0))


def test_smallest_accepted_size():
    img = np.round(MAKER.make_inputs()["texture"][:194, :194])
    assert np.isfinite(N.niqe(img))


@pytest.mark.parametrize("bad, match", [
    (np.zeros((3, 256, 256)), "2-D"),
    (np.full((256, 256), 300.0), r"\[0, 255\]"),
    (np.full((256, 256), np.nan), r"\[0, 255\]"),
    (np.full((256, 256), -1.0), r"\[0, 255\]"),
])
def test_bad_input_is_an_error(bad, match):
    with pytest.raises(ReproduceError, match=match):
        N.niqe(bad)


def test_pristine_checksum_is_verified(tmp_path, monkeypatch):
    original = Path(str(N._PARAMS_PATH)).read_bytes()
    intact = tmp_path / "intact.mat"
    intact.write_bytes(original)
    monkeypatch.setattr(N, "_PARAMS_PATH", intact)
    mu, cov = N.pristine_model()
    assert mu.shape == (36,) and cov.shape == (36, 36)

    altered = tmp_path / "altered.mat"
    data = bytearray(original)
    data[-1] ^= 1
    altered.write_bytes(bytes(data))
    monkeypatch.setattr(N, "_PARAMS_PATH", altered)
    with pytest.raises(ReproduceError, match="SHA-256") as err:
        N.niqe(MAKER.make_inputs()["texture"])
    assert "\n" not in str(err.value)

    monkeypatch.setattr(N, "_PARAMS_PATH", tmp_path / "missing.mat")
    with pytest.raises(ReproduceError, match="cannot read the NIQE pristine model"):
        N.niqe_metric()


def test_pristine_model_is_package_data():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "niqe_image_params.mat" in package_data["reproduce.data"]
    assert Path(str(N._PARAMS_PATH)).parent == ROOT / "reproduce" / "data"


def test_luma_of_a_known_colour():
    rgb = np.empty((2, 3, 3), dtype=np.uint8)
    rgb[:] = (200, 100, 50)
    y = N.luma_for_niqe(rgb)
    assert y.shape == (2, 3) and y.dtype == np.float64
    np.testing.assert_allclose(y, 0.2989 * 200 + 0.5870 * 100 + 0.1140 * 50)  # 124.18
    # A [0, 1] tensor is rounded to 8 bits first: (0.5, 0.25, 1.0) -> (128, 64, 255),
    # 104.8972 (not 104.601 of the unrounded 127.5, 63.75, 255).
    t = torch.tensor([0.5, 0.25, 1.0]).view(3, 1, 1).expand(3, 4, 5)
    np.testing.assert_allclose(N.luma_for_niqe(t), np.full((4, 5), 104.8972))


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 3), dtype=np.float32), np.zeros((3, 4, 4), dtype=np.uint8),
                                 torch.zeros(4, 4, 3)])
def test_luma_rejects_other_layouts(bad):
    with pytest.raises(ReproduceError, match="luma_for_niqe needs"):
        N.luma_for_niqe(bad)


def test_metric_scores_the_sr_image_only(inputs):
    from PIL import Image

    rgb = np.array(Image.open(DATA / "perceptual" / "pairs" / "baby_full.webp").convert("RGB"))
    sr = to_tensor(rgb)
    metric = N.niqe_metric()
    value = metric(sr, torch.zeros_like(sr))
    assert isinstance(value, float)
    assert value == metric(sr, sr)
    # The 8-bit round trip of the tensor gives back the reference's grey image.
    assert value == pytest.approx(REFERENCE["images"]["baby_full"]["niqe"], rel=1e-5)
