"""What the image sets hold and how far the protocol's two bicubic resizers differ: the tables of ``01_data``."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..imresize import imresize_uint8, resize_pil_bicubic
from ..metrics import psnr
from .datasets import ImageSet, protocol_crop
from .images import image_size, to_tensor
from .locate import dataset_files

# DIV2K's 800 training images are about 2040 x 1356 each (their typical 2K size): the paper's training pixels.
DIV2K_TRAIN_MEGAPIXELS = 800 * 2040 * 1356 / 1e6


def dataset_table(roles: dict[str, list[str]]) -> pd.DataFrame:
    """One row per set: ``role, set, images, widths, heights, megapixels``.

    ``roles``: {"train": [...], "valid": [...], "test": [...]}; widths and
    heights as "min-max" text (pixels), megapixels the total over the set.
    """
    rows = []
    for role, names in roles.items():
        for name in names:
            sizes = [image_size(p) for p in dataset_files(name)]  # headers only: no pixels decoded
            heights, widths = [h for h, _ in sizes], [w for _, w in sizes]
            rows.append({"role": role, "set": name, "images": len(sizes),
                         "widths": f"{min(widths)}-{max(widths)}", "heights": f"{min(heights)}-{max(heights)}",
                         "megapixels": sum(h * w for h, w in zip(heights, widths)) / 1e6})
    return pd.DataFrame(rows)


def bicubic_pair(hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """The LR of ``hr`` (uint8 (H, W, 3)) by MATLAB bicubic and by PIL bicubic, from the same cropped HR.

    The crop and LR size are the evaluation protocol's (``protocol_crop``,
    as in ``make_lr``); returns ``(matlab, pil)``, both uint8 (h, w, 3).
    """
    lr_size, hr = protocol_crop(hr, scale)
    return imresize_uint8(hr, size=lr_size), resize_pil_bicubic(hr, lr_size)


def bicubic_agreement(sets: list[str], scales=(2, 4)) -> pd.DataFrame:
    """PSNR between the MATLAB and the PIL bicubic LR of every image, per set and scale.

    Columns: ``set, scale, PSNR MATLAB vs PIL (dB)`` (mean over images),
    ``lowest (dB)`` (the image where they differ most). High values mean the
    two resizers nearly agree.
    """
    rows = []
    for name in sets:
        images = ImageSet(name)
        for scale in scales:
            values = [float(psnr(*(to_tensor(x) for x in bicubic_pair(img, scale)))) for img in images]
            rows.append({"set": name, "scale": scale, "PSNR MATLAB vs PIL (dB)": float(np.mean(values)),
                         "lowest (dB)": float(np.min(values))})
    return pd.DataFrame(rows)
