"""Image sets and the two LIIF data protocols built on them.

* :class:`ImageSet` - the images of one or more named datasets, decoded once
  and kept in memory as uint8 (H, W, 3) (a few hundred MB for Urban100).
* :class:`TrainSamples` - LIIF's training samples ("sr-implicit-downsampled"
  with augmentation and pixel sampling): random scale, random HR crop, 8-bit
  PIL-bicubic LR, dihedral augmentation, sampled query pixels.
* :class:`EvalPairs` - the test protocol: HR cropped to a multiple of the
  scale, LR made as the published benchmark LR files were (MATLAB bicubic) up
  to x4, by PIL bicubic above, as in LIIF's own evaluation.

Randomness: a training sample is a pure function of ``(seed, k)`` where k
counts samples since the start of training (see :mod:`.sampler`), so the
same seed gives the same batches with any number of DataLoader workers or
processes, and a resumed run sees exactly the batches it would have seen.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..coords import make_coord
from ..errors import ReproduceError
from ..imresize import imresize, imresize_uint8, resize_pil_bicubic
from .images import read_image, to_tensor
from .locate import dataset_files


class ImageSet:
    """Decoded uint8 RGB images of one or more datasets, in a stable order.

    Args:
        names: dataset names (see ``locate.DATASETS``), 'sample', or folder paths.
        limit: keep only the first ``limit`` images of each dataset (None: all).
    """

    def __init__(self, names: str | Sequence[str], limit: int | None = None):
        names = [names] if isinstance(names, str) else list(names)
        self.names = names
        self.paths = [p for name in names for p in dataset_files(name)[:limit]]
        self.images = [read_image(p) for p in self.paths]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.images[i]


def dihedral(img: np.ndarray, hflip: bool, vflip: bool, transpose: bool) -> np.ndarray:
    """One of the 8 flips/transposes of an (H, W, C) array."""
    if hflip:
        img = img[:, ::-1]
    if vflip:
        img = img[::-1]
    if transpose:
        img = img.transpose(1, 0, 2)
    return img


class TrainSamples(Dataset):
    """LIIF training samples; item ``(image_index, k)`` is deterministic in ``(seed, k)``.

    Each item is a dict:
        inp   (3, inp_size, inp_size) float32 in [0, 1] - the LR crop;
        coord (sample_q, 2) float32 in (-1, 1), (y, x) - HR pixel centres;
        cell  (sample_q, 2) = (2/H_crop, 2/W_crop);
        gt    (sample_q, 3) float32 in [0, 1] - HR values at those pixels;
        scale () float32 - the drawn scale.

    Args:
        images: the HR images.
        inp_size: LR crop size (48).
        scale_min, scale_max: the scale is drawn ~ U(scale_min, scale_max).
            An image too small for the drawn crop round(inp_size*s) draws from
            U(scale_min, its own largest scale) instead (DIV2K never needs it;
            about half of T91 is smaller than 192 pixels).
        augment: the 8 dihedral transforms, each flip with p = 0.5.
        sample_q: number of HR pixels sampled without replacement (None: all).
        seed: the run's seed.
    """

    def __init__(self, images: ImageSet | Sequence[np.ndarray], inp_size: int = 48, scale_min: float = 1.0,
                 scale_max: float = 4.0, augment: bool = True, sample_q: int | None = 2304, seed: int = 0):
        if not 1 <= scale_min <= scale_max:
            raise ReproduceError(f"need 1 <= scale_min <= scale_max, got {scale_min}, {scale_max}")
        self.images = images
        self.inp_size, self.scale_min, self.scale_max = inp_size, scale_min, scale_max
        self.augment, self.sample_q, self.seed = augment, sample_q, seed
        smallest = min(min(img.shape[:2]) for img in images)
        if smallest < round(inp_size * scale_min):
            raise ReproduceError(f"an image of {smallest} pixels is smaller than the smallest crop {round(inp_size * scale_min)}")
        if sample_q is not None and sample_q > round(inp_size * scale_min) ** 2:
            raise ReproduceError(f"sample_q={sample_q} exceeds the {round(inp_size * scale_min) ** 2} pixels of the smallest HR crop")

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, k = key
        rng = np.random.default_rng([self.seed, k])
        img = self.images[index]
        h, w = img.shape[:2]
        s_max = min(self.scale_max, min(h, w) / self.inp_size)
        s = rng.uniform(self.scale_min, s_max)
        size_hr = min(round(self.inp_size * s), h, w)
        y0 = rng.integers(0, h - size_hr + 1)
        x0 = rng.integers(0, w - size_hr + 1)
        crop_hr = img[y0:y0 + size_hr, x0:x0 + size_hr]
        # LIIF makes the LR crop with PIL bicubic on the 8-bit HR crop.
        crop_lr = resize_pil_bicubic(crop_hr, (self.inp_size, self.inp_size))
        if self.augment:
            flips = rng.random(3) < 0.5
            crop_hr, crop_lr = dihedral(crop_hr, *flips), dihedral(crop_lr, *flips)
        hr = torch.from_numpy(np.ascontiguousarray(crop_hr)).reshape(-1, 3).float().div_(255)
        coord = make_coord((size_hr, size_hr))
        if self.sample_q is not None:
            pick = torch.from_numpy(rng.choice(size_hr * size_hr, self.sample_q, replace=False))
            hr, coord = hr[pick], coord[pick]
        cell = torch.full_like(coord, 2 / size_hr)
        return {"inp": to_tensor(crop_lr), "coord": coord, "cell": cell, "gt": hr,
                "scale": torch.tensor(size_hr / self.inp_size, dtype=torch.float32)}


class ImageCrops(Dataset):
    """Training pairs for image-to-image networks; item ``(image_index, k)`` is deterministic in ``(seed, k)``.

    Each item is a dict:
        inp (3, P/s, P/s) - the LR crop, or (3, P, P) - its MATLAB-bicubic
            upsample when ``upsample_input`` (SRCNN's input); float32 in [0, 1];
        gt  (3, P, P) float32 in [0, 1] - the HR crop;
        scale () float32.

    The LR crop is made like LIIF's: PIL bicubic on the 8-bit HR crop, so the
    LR is 8-bit as in evaluation. Same 8 dihedral augmentations. Images
    smaller than the patch are left out (``skipped`` counts them).

    Args:
        patch: HR crop size P (96 in SRGAN).
        scale_min, scale_max: the scale ~ U(scale_min, scale_max). Without
            ``upsample_input`` or ``scale_group`` it must be one integer
            dividing P (a fixed-scale network); with ``upsample_input``, the
            LR is round(P / s) pixels and the input its upsample back to P, so
            mixed scales batch together.
        scale_group: if > 0, samples k with equal k // scale_group share
            their scale (drawn from (seed, k // scale_group)); with the batch
            size as the group, every batch has one LR size round(P / s) and
            stacks (implicit models trained on whole images: IPF).
    """

    def __init__(self, images: ImageSet | Sequence[np.ndarray], patch: int = 96, scale_min: float = 4.0,
                 scale_max: float = 4.0, augment: bool = True, upsample_input: bool = False, seed: int = 0,
                 scale_group: int = 0):
        if not 1 <= scale_min <= scale_max:
            raise ReproduceError(f"need 1 <= scale_min <= scale_max, got {scale_min}, {scale_max}")
        if (not upsample_input and not scale_group
                and (scale_min != scale_max or scale_min != int(scale_min) or patch % int(scale_min))):
            raise ReproduceError(f"a fixed-scale network needs one integer scale dividing the patch {patch}; "
                                 f"got U({scale_min}, {scale_max})")
        if upsample_input and scale_group:
            raise ReproduceError("upsample_input and a per-batch scale exclude each other")
        self.scale_group = scale_group
        # Images smaller than the patch cannot give a crop; they are left out
        # (one of the 291 T91+BSD200 images, 78 px, for a 96-px patch).
        self.keep = [i for i, img in enumerate(images) if min(img.shape[:2]) >= patch]
        self.skipped = len(images) - len(self.keep)
        if not self.keep:
            raise ReproduceError(f"every image is smaller than the {patch}-pixel patch")
        self.images, self.patch, self.scale_min, self.scale_max = images, patch, scale_min, scale_max
        self.augment, self.upsample_input, self.seed = augment, upsample_input, seed

    def __len__(self) -> int:
        return len(self.keep)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, k = key
        rng = np.random.default_rng([self.seed, k])
        img = self.images[self.keep[index]]
        h, w = img.shape[:2]
        p = self.patch
        s = rng.uniform(self.scale_min, self.scale_max)
        if self.scale_group:  # drawn after the per-sample scale, so the crops' positions do not depend on the grouping
            s = np.random.default_rng([self.seed, k // self.scale_group, 1]).uniform(self.scale_min, self.scale_max)
        y0, x0 = rng.integers(0, h - p + 1), rng.integers(0, w - p + 1)
        crop_hr = img[y0:y0 + p, x0:x0 + p]
        if self.augment:
            crop_hr = dihedral(crop_hr, *(rng.random(3) < 0.5))
        side = max(1, round(p / s))
        lr = to_tensor(resize_pil_bicubic(np.ascontiguousarray(crop_hr), (side, side)))
        if self.upsample_input:
            lr = imresize(lr, size=(p, p)).clamp_(0, 1)
        return {"inp": lr, "gt": to_tensor(np.ascontiguousarray(crop_hr)), "scale": torch.tensor(p / side, dtype=torch.float32)}


def lr_size_for(hr_size: tuple[int, int], scale: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """LR size floor(H/s), and the HR crop round(h_lr * s) that it stands for."""
    h_lr = math.floor(hr_size[0] / scale + 1e-9)
    w_lr = math.floor(hr_size[1] / scale + 1e-9)
    return (h_lr, w_lr), (round(h_lr * scale), round(w_lr * scale))


def make_lr(hr: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The evaluation degradation: (LR, cropped HR), both uint8 (H, W, 3).

    The HR is cropped top-left to a multiple of the scale. Up to x4 the LR is
    MATLAB bicubic (as the published DIV2K/benchmark LR files were made),
    rounded to 8 bits; above x4 it is PIL bicubic on the 8-bit image, as in
    LIIF's evaluation of out-of-distribution scales.
    """
    lr_size, hr = protocol_crop(hr, scale)
    lr = imresize_uint8(hr, size=lr_size) if scale <= 4 else resize_pil_bicubic(hr, lr_size)
    return lr, hr


def protocol_crop(hr: np.ndarray, scale: float) -> tuple[tuple[int, int], np.ndarray]:
    """The evaluation protocol's LR size (h, w) for ``hr`` at ``scale`` and the HR cropped top-left to match.

    Raises:
        ReproduceError: a scale below 1, or an image too small for the scale.
    """
    if not scale >= 1:
        raise ReproduceError(f"evaluation scales must be >= 1, got {scale}")
    lr_size, hr_crop = lr_size_for(hr.shape[:2], scale)
    if min(lr_size) < 1:
        raise ReproduceError(f"image of {hr.shape[0]}x{hr.shape[1]} (H x W) is too small for scale {scale}")
    return lr_size, np.ascontiguousarray(hr[: hr_crop[0], : hr_crop[1]])


class EvalPairs:
    """(LR, HR) uint8 pairs of an image set at one scale, made on first access and cached."""

    def __init__(self, images: ImageSet | Sequence[np.ndarray], scale: float):
        self.images, self.scale = images, scale
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if i not in self._cache:
            self._cache[i] = make_lr(self.images[i], self.scale)
        return self._cache[i]
