"""The x8 thumbnail experiment: 100x100 thumbnails of held-out photographs, upscaled to 800x800.

Test images are chosen by rule, not by hand: among the photographs no model
of the study trains on (Urban100 and SunHays80 by default), the ``n`` with
the largest shorter side (ties by set and file name). Each gives one square
ground truth of ``size`` pixels:

* ``native``: the shorter side is at least ``size``: the centred
  ``size x size`` crop, pixels as in the file;
* ``resized``: otherwise the largest centred square, resized to ``size`` with
  MATLAB-compatible bicubic (an up-scaling by at most size / shorter side,
  which softens that ground truth slightly; tables report the two groups).

The thumbnail is the ground truth reduced by ``scale`` with the same
MATLAB-compatible ``imresize`` (antialiased, rounded to 8 bits), as a
thumbnail generator would make it. Both are written as PNG files, so every
method reads the same bytes through the batch upscaling command.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .data import dataset_files, read_image
from .errors import ReproduceError
from .fileio import atomic_path
from .imresize import imresize_uint8


@dataclass(frozen=True)
class Thumbnail:
    """One test pair: ``name`` (``<set>_<file stem>``), where it came from, how its ground truth was made."""
    name: str
    set: str
    source: str
    source_hw: tuple[int, int]
    square: int
    ground_truth: str  # "native" or "resized"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["source_hw"] = f"{self.source_hw[0]}x{self.source_hw[1]}"
        return d


def choose_sources(sets: list[str], n: int, size: int) -> list[Thumbnail]:
    """The ``n`` images of ``sets`` with the largest shorter side (see module doc).

    Raises:
        ReproduceError: fewer than ``n`` images in ``sets``.
    """
    candidates = []
    for set_name in sets:
        for path in dataset_files(set_name):
            with Image.open(path) as im:
                w, h = im.size  # header only: cheap
            candidates.append((-min(h, w), set_name, path.name, path, (h, w)))
    if len(candidates) < n:
        raise ReproduceError(f"only {len(candidates)} images in {', '.join(sets)}; {n} thumbnails asked for")
    chosen = sorted(candidates, key=lambda c: c[:3])[:n]
    return [Thumbnail(f"{s}_{Path(name).stem}", s, str(path), hw, min(hw), "native" if min(hw) >= size else "resized")
            for _, s, name, path, hw in chosen]


def ground_truth(thumb: Thumbnail, size: int) -> np.ndarray:
    """uint8 (size, size, 3): the centred crop (native) or the centred square resized to ``size``."""
    img = read_image(thumb.source)
    h, w = img.shape[:2]
    side = size if thumb.ground_truth == "native" else min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    square = img[y0:y0 + side, x0:x0 + side]
    return square if side == size else imresize_uint8(square, size=(size, size))


def write_pairs(thumbs: list[Thumbnail], folder: str | Path, size: int, scale: int) -> tuple[Path, Path]:
    """Write ``folder/gt/<name>.png`` (size x size) and ``folder/lr/<name>.png`` (size/scale square).

    Existing files are rewritten only when their content would differ (the
    pairs are a pure function of the data), so reruns are cheap and safe.

    Returns:
        (gt folder, lr folder).
    """
    if size % scale:
        raise ReproduceError(f"size {size} is not a multiple of the scale {scale}")
    folder = Path(folder)
    gt_dir, lr_dir = folder / "gt", folder / "lr"
    gt_dir.mkdir(parents=True, exist_ok=True)
    lr_dir.mkdir(parents=True, exist_ok=True)
    for thumb in thumbs:
        gt = ground_truth(thumb, size)
        lr = imresize_uint8(gt, size=(size // scale, size // scale))
        for path, pixels in ((gt_dir / f"{thumb.name}.png", gt), (lr_dir / f"{thumb.name}.png", lr)):
            if path.is_file() and np.array_equal(read_image(path), pixels):
                continue
            with atomic_path(path) as tmp:
                Image.fromarray(pixels).save(tmp, format="PNG")
    return gt_dir, lr_dir
