"""Reference NIQE values from scikit-video's own code, for tests/test_niqe.py.

Run from the repository root (needs scikit-video 1.1.11: ``pip install -e .[test]``)::

    OMP_NUM_THREADS=1 .venv/bin/python tests/data/make_niqe_reference.py

It writes ``tests/data/niqe_reference.json``: for each input of
:func:`make_inputs` (deterministic: seeded synthetic images and two photographs
shipped in tests/data/perceptual), its shape, the SHA-256 of its float64 pixels
and ``skvideo.measure.niqe`` of it.

skvideo 1.1.11 no longer runs as it is on current NumPy/SciPy, so, only while
it runs (:func:`skvideo_patched`):

- ``scipy.misc.imresize`` (removed in SciPy 1.3) is supplied by
  :func:`scipy_misc_imresize`, a re-implementation of SciPy 1.2's function for
  float ("F" mode) 2-D arrays: a Pillow resize of the float32 image;
- ``np.int`` (removed in NumPy 1.24, used by its patch loop) is set to ``int``
  (and ``np.float`` to ``float``).

Nothing of this repository's ``reproduce`` package is used here, so the
references are independent of the implementation under test. The test imports
this file for :func:`make_inputs` and :func:`skvideo_patched`.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import sys
import types
from pathlib import Path

import numpy as np
import scipy
import scipy.ndimage
from PIL import Image

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "niqe_reference.json"
PHOTOS = HERE / "perceptual" / "pairs"
# MATLAB rgb2gray's printed weights, applied to the 8-bit RGB values.
GRAY = np.array([0.2989, 0.5870, 0.1140])


def scipy_misc_imresize(arr, size, interp="bilinear", mode=None):
    """SciPy 1.2's ``scipy.misc.imresize`` for a 2-D array with ``mode='F'`` (all skvideo's NIQE uses).

    SciPy's code: ``toimage`` made an "F" image from the float32 bytes, a float
    ``size`` became ``tuple((array(im.size) * size).astype(int))`` (``im.size``
    is (width, height)), then ``im.resize(size, resample=...)`` and
    ``fromimage`` (``np.array(im)``).
    """
    if mode != "F" or np.ndim(arr) != 2:
        raise NotImplementedError("only 2-D arrays with mode='F' are supported")
    data = np.asarray(arr).astype(np.float32)
    im = Image.frombytes("F", (data.shape[1], data.shape[0]), data.tobytes())
    if isinstance(size, (int, np.signedinteger)):
        size = tuple((np.array(im.size) * (size / 100.0)).astype(int))
    elif isinstance(size, (float, np.floating)):
        size = tuple((np.array(im.size) * size).astype(int))
    else:
        size = (size[1], size[0])
    resample = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "cubic": 3}[interp]
    return np.array(im.resize(size, resample=resample))


@contextlib.contextmanager
def skvideo_patched():
    """Import ``skvideo.measure.niqe`` (the module) with the patches above; undo them on exit."""
    np_saved = {k: np.__dict__[k] for k in ("int", "float") if k in np.__dict__}
    try:
        import scipy.misc as misc  # deprecated in SciPy 1.x, absent in 2.0
        made_misc = False
    except ImportError:
        misc, made_misc = types.ModuleType("scipy.misc"), True
        sys.modules["scipy.misc"] = misc
        scipy.misc = misc
    had_imresize = "imresize" in vars(misc)
    old_imresize = vars(misc).get("imresize")
    misc.imresize = scipy_misc_imresize
    np.int, np.float = int, float
    try:
        yield importlib.import_module("skvideo.measure.niqe")
    finally:
        for k in ("int", "float"):
            if k in np_saved:
                setattr(np, k, np_saved[k])
            else:
                delattr(np, k)
        if had_imresize:
            misc.imresize = old_imresize
        else:
            delattr(misc, "imresize")
        if made_misc:
            del sys.modules["scipy.misc"]
            del scipy.misc


def _photo_luma(name: str) -> np.ndarray:
    rgb = np.asarray(Image.open(PHOTOS / name).convert("RGB"), dtype=np.float64)
    return rgb @ GRAY


def _gradient_noise() -> np.ndarray:
    # A smooth diagonal ramp plus Gaussian noise (sigma 6); sides not multiples of 96.
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:250, 0:333]
    img = 40 + 150 * (0.6 * x / 333 + 0.4 * y / 250) + rng.normal(0, 6, size=x.shape)
    return np.round(np.clip(img, 0, 255))


def _texture() -> np.ndarray:
    # A natural-ish random field: white noise low-passed at several scales with
    # roughly 1/f amplitudes, plus a few hard-edged blobs, mapped to [10, 245].
    rng = np.random.default_rng(1)
    h, w = 300, 260
    field = sum(s * scipy.ndimage.gaussian_filter(rng.normal(size=(h, w)), s, mode="reflect") for s in (1, 2, 4, 8, 16))
    y, x = np.mgrid[0:h, 0:w]
    for cy, cx, r in rng.uniform((0, 0, 10), (h, w, 50), size=(6, 3)):
        field += np.where((y - cy) ** 2 + (x - cx) ** 2 < r * r, 0.5 * field.std(), 0)
    field = (field - field.min()) / (field.max() - field.min())
    return np.round(10 + 235 * field)


def _letterbox(img: np.ndarray) -> np.ndarray:
    img = img.copy()
    img[:120] = 0
    return img


# name -> (recipe, builder); every input is (H, W) float64 in [0, 255]. The synthetic
# ones are rounded to integers, like the grey levels of 8-bit images, which also keeps
# their SHA-256 stable should a platform's last bits of gaussian_filter differ.
INPUTS = {
    "gradient_noise": ("250x333 ramp 40 + 150 (0.6 x/333 + 0.4 y/250) + N(0, 6), default_rng(0), clipped, rounded", _gradient_noise),
    "texture": ("300x260 sum over s in 1,2,4,8,16 of s * gaussian_filter(N(0,1), s) + 6 discs, default_rng(1), mapped to [10, 245], rounded",
                _texture),
    "baby_full": ("perceptual/pairs/baby_full.webp (Set5 baby, 512x512), gray = RGB8 @ (0.2989, 0.5870, 0.1140)",
                  lambda: _photo_luma("baby_full.webp")),
    "woman_full": ("perceptual/pairs/woman_full.webp (Set5 woman, 344x228), gray = RGB8 @ (0.2989, 0.5870, 0.1140)",
                   lambda: _photo_luma("woman_full.webp")),
    # Black bars make all-zero MSCN patches: skvideo's NaN moment ratio -> alpha 0.2 path.
    "woman_letterbox": ("woman_full gray as above with rows 0-119 set to 0", lambda: _letterbox(_photo_luma("woman_full.webp"))),
    "baby_full_bicubic4": ("perceptual/pairs/baby_full_bicubic4.webp (baby down and up x4), gray as above",
                           lambda: _photo_luma("baby_full_bicubic4.webp")),
}


def make_inputs() -> dict[str, np.ndarray]:
    """name -> (H, W) float64 grey image in [0, 255]."""
    return {name: np.ascontiguousarray(build(), dtype=np.float64) for name, (_, build) in INPUTS.items()}


def digest(img: np.ndarray) -> str:
    """SHA-256 of the float64 C-order bytes (detects a changed recipe before any score is compared)."""
    return hashlib.sha256(np.ascontiguousarray(img, dtype=np.float64).tobytes()).hexdigest()


def main() -> None:
    import PIL
    import skvideo

    images = {}
    with skvideo_patched() as sk:
        for name, img in make_inputs().items():
            images[name] = {"recipe": INPUTS[name][0], "shape": list(img.shape), "sha256": digest(img),
                            "niqe": float(sk.niqe(img)[0])}
            print(f"{name:20s} {images[name]['niqe']:.6f}")
    out = {
        "about": "skvideo.measure.niqe of the inputs of tests/data/make_niqe_reference.py (which wrote this file); "
                 "scipy.misc.imresize supplied by a Pillow re-implementation, np.int = int, for that run only. "
                 "skvideo returns float32.",
        "versions": {"scikit-video": skvideo.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
                     "pillow": PIL.__version__},
        "images": images,
    }
    REFERENCE.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {REFERENCE}")


if __name__ == "__main__":
    main()
