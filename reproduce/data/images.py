"""Reading images as 8-bit RGB arrays, the one representation the data code uses.

Every image becomes a ``uint8`` array (H, W, 3). The conversions are chosen,
not left to chance:

* grayscale (L, 1) -> the gray value replicated on R, G, B;
* palette (P) -> its RGB colours (transparency as below);
* alpha (RGBA, LA, PA) -> composited over a white background (the convention
  of the normal maps here, whose outside is white);
* 16-bit and 32-bit integer grayscale (I;16, I) -> scaled to 8 bits by
  round(v / 257) (full-range 16-bit) with clipping;
* CMYK, YCbCr, ... -> PIL's RGB conversion.

The EXIF orientation tag is applied on read (a phone photograph stored
sideways with "rotate 90" in its EXIF comes out upright), everywhere an image
is read. :func:`open_image` also says what the conversion did (grayscale,
alpha, several frames), so the command line can tell the user.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ReproduceError

IMAGE_SUFFIXES = (".png", ".webp", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".gif")


WIDE_INTEGER_MODES = ("I;16", "I;16B", "I;16L", "I")  # more than 8 bits per pixel: scaled down to 8 below
GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


@dataclass(frozen=True)
class LoadedImage:
    """An image as read: the RGB pixels and what the conversion did to the file.

    Attributes:
        pixels: uint8 (H, W, 3), EXIF orientation applied.
        mode: the file's PIL mode before conversion (``"L"``, ``"RGBA"``, ...).
        grayscale: the file had one channel (R = G = B in ``pixels``).
        alpha: the file had transparency (composited over white in ``pixels``).
        frames: number of frames in the file (``pixels`` is the first).
        rotated: an EXIF orientation other than "normal" was applied.
    """
    pixels: np.ndarray
    mode: str
    grayscale: bool
    alpha: bool
    frames: int
    rotated: bool


@contextmanager
def _opened(path: str | os.PathLike) -> Iterator[Image.Image]:
    """``Image.open(path)`` for the duration of a ``with`` block, every failure a one-line ReproduceError.

    Covers what happens inside the block too (decoding is lazy: a truncated
    file fails at ``load()``, not at ``open``).
    """
    path = Path(path)
    if not path.is_file():
        raise ReproduceError(f"image not found: {path}")
    try:
        with Image.open(path) as im:
            yield im
    except Image.DecompressionBombError as exc:
        raise ReproduceError(f"{path} is too large to read safely ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ReproduceError(f"cannot read {path} as an image ({type(exc).__name__}: {exc})") from None


def open_image(path: str | os.PathLike) -> LoadedImage:
    """Read an image file as uint8 (H, W, 3) RGB, upright, with a note of the conversions.

    Raises:
        ReproduceError: the file is missing, unreadable or not an image.
    """
    with _opened(path) as im:
        frames = getattr(im, "n_frames", 1)
        mode = im.mode
        alpha = mode in ALPHA_MODES or (mode == "P" and "transparency" in im.info)
        orientation = im.getexif().get(0x0112, 1)  # EXIF Orientation; 1 = normal, 2..8 = flips/rotations
        rotated = orientation in range(2, 9)
        im.load()
        upright = ImageOps.exif_transpose(im) if rotated else im
        return LoadedImage(to_rgb_array(upright), mode, mode in GRAY_MODES, alpha, frames, rotated)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as uint8 (H, W, 3) RGB, EXIF orientation applied.

    Raises:
        ReproduceError: the file is missing, unreadable or not an image.
    """
    return open_image(path).pixels


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """The (H, W) of an image file as :func:`read_image` returns it (EXIF orientation applied), from its header.

    Decodes no pixels, so a survey of a whole dataset costs file opens only.

    Raises:
        ReproduceError: the file is missing, unreadable or not an image.
    """
    with _opened(path) as im:
        w, h = im.size
        # orientations 5-8 are the ones with a transpose: the upright image is W x H
        return (w, h) if im.getexif().get(0x0112, 1) in (5, 6, 7, 8) else (h, w)


def to_rgb_array(im: Image.Image) -> np.ndarray:
    """Convert a PIL image of any common mode to uint8 (H, W, 3) (see module doc)."""
    if im.mode in WIDE_INTEGER_MODES:
        values = np.asarray(im, dtype=np.float64)
        gray = np.clip(np.round(values / 257.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode == "F":
        raise ValueError("floating-point images are not supported; save them as 8- or 16-bit")
    if im.mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float64)
        alpha = rgba[..., 3:] / 255.0
        rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
        return np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    if im.mode != "RGB":
        im = im.convert("RGB")  # L, 1, CMYK, YCbCr, ...: PIL's documented conversions
    return np.array(im, dtype=np.uint8)  # a writable copy


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def to_tensor(img: np.ndarray):
    """uint8 (H, W, 3) -> float32 tensor (3, H, W) in [0, 1]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float().div_(255)


def to_uint8(img) -> np.ndarray:
    """Float tensor (3, H, W) in [0, 1] -> uint8 (H, W, 3), rounded."""
    return img.detach().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
