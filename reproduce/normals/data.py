"""Normal-map datasets: reading the maps, leave-objects-out folds, the LR degradation.

Layout (``$REPRODUCE_DATA/normals``, see the data README): ``DiLiGenT/<object>/``
holds ``normal_map.png`` (``Normal_gt.png`` for ball), ``mask.png``, and for
all but ball ``depth_gt.npz`` and ``K.txt``; ``other/<name>/`` holds more maps
with masks. Files store white outside the mask.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from ..errors import ReproduceError
from ..imresize import imresize
from ..data.locate import data_root
from . import geometry

# Maps in other/ that show an object of DiLiGenT (a crop or another capture of
# it): a fold that tests that object leaves them out of training too.
SAME_OBJECT = {"Fig4_reading": "reading"}
# LR mask rule: an LR pixel belongs to the object when at least this share of
# its footprint does (the mask resized with the same bicubic as the map).
MASK_THRESHOLD = 0.5


@dataclass
class NormalMap:
    """One normal map. ``normals``: (3, H, W) float32 unit vectors, background (0, 0, 1);
    ``mask``: (H, W) bool; ``depth``: (H, W) float32 mm or None; ``K``: (3, 3) intrinsics or None."""
    name: str
    group: str
    normals: torch.Tensor
    mask: torch.Tensor
    depth: np.ndarray | None = None
    K: np.ndarray | None = None

    @property
    def object(self) -> str:
        """The physical object shown (maps of the same object share it)."""
        return SAME_OBJECT.get(self.name, self.name)

    def crop(self, height: int, width: int) -> "NormalMap":
        """Top-left crop (keeps the principal point of K valid)."""
        return NormalMap(self.name, self.group, self.normals[:, :height, :width].contiguous(), self.mask[:height, :width].contiguous(),
                         None if self.depth is None else self.depth[:height, :width], self.K)


def normals_root() -> Path:
    return data_root() / "normals"


def read_map(folder: str | Path, group: str | None = None) -> NormalMap:
    """Read one map folder (normal map, mask, optional depth and intrinsics)."""
    folder = Path(folder)
    image = next((folder / n for n in ("normal_map.png", "Normal_gt.png") if (folder / n).is_file()), None)
    if image is None or not (folder / "mask.png").is_file():
        raise ReproduceError(f"{folder} is not a normal-map folder (needs normal_map.png or Normal_gt.png, and mask.png)")
    rgb = np.asarray(Image.open(image).convert("RGB"), dtype=np.float32) / 255.0
    mask = np.asarray(Image.open(folder / "mask.png").convert("L")) > 127
    if mask.shape != rgb.shape[:2]:
        raise ReproduceError(f"{folder}: mask {mask.shape} and normal map {rgb.shape[:2]} differ in size")
    normals = geometry.decode(torch.from_numpy(rgb).permute(2, 0, 1).contiguous())
    mask_t = torch.from_numpy(mask)
    depth = K = None
    if (folder / "depth_gt.npz").is_file():
        with np.load(folder / "depth_gt.npz") as z:
            depth = z[z.files[0]].astype(np.float32)
    if (folder / "K.txt").is_file():
        K = np.loadtxt(folder / "K.txt").reshape(3, 3)
    return NormalMap(folder.name, group or folder.parent.name, geometry.fill_background(normals, mask_t), mask_t, depth, K)


def read_maps(group: str, root: str | Path | None = None) -> list[NormalMap]:
    """Every map of ``DiLiGenT`` or ``other``, sorted by name."""
    base = Path(root) if root else normals_root()
    folders = sorted(p for p in (base / group).glob("*") if p.is_dir())
    if not folders:
        raise ReproduceError(f"no normal maps under {base / group} (set REPRODUCE_DATA to the data folder)")
    return [read_map(p, group) for p in folders]


def folds(objects: Sequence[str], n_folds: int) -> list[list[str]]:
    """Leave-objects-out folds: the sorted objects dealt round-robin into n_folds test groups."""
    objects = sorted(objects)
    if not 1 <= n_folds <= len(objects):
        raise ReproduceError(f"n_folds must be between 1 and {len(objects)}, got {n_folds}")
    return [objects[k::n_folds] for k in range(n_folds)]


def training_maps(maps: Sequence[NormalMap], test_objects: Sequence[str]) -> list[NormalMap]:
    """The maps a fold may train on: every map whose object is not tested in that fold."""
    return [m for m in maps if m.object not in set(test_objects)]


def resize_normals(normals: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic (MATLAB imresize, antialiased when shrinking) of the encoded map, decoded and renormalised."""
    return geometry.decode(imresize(geometry.encode(normals), size=tuple(size)).clamp_(0, 1))


def resize_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The mask resized with the same bicubic as the map, thresholded at MASK_THRESHOLD."""
    m = mask.to(torch.float32).unsqueeze(0)
    return imresize(m, size=tuple(size))[0] >= MASK_THRESHOLD


def degrade(normals: torch.Tensor, mask: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
    """The LR input of a (3, H, W) map at ``scale``: (LR normals, LR mask, HR size used).

    The HR map is cropped top-left to a multiple of the scale; the LR map is the
    bicubic of the encoded map, renormalised, and the LR mask the same resize
    of the mask; LR pixels outside the LR mask get the background normal, so
    map and mask agree.
    """
    h, w = normals.shape[-2:]
    lh, lw = int(h // scale), int(w // scale)
    if min(lh, lw) < 1:
        raise ReproduceError(f"a {h}x{w} map is too small for scale {scale}")
    hr_size = (int(round(lh * scale)), int(round(lw * scale)))
    normals, mask = normals[:, :hr_size[0], :hr_size[1]], mask[:hr_size[0], :hr_size[1]]
    lr, lr_mask = fill_lr(resize_normals(normals, (lh, lw)), resize_mask(mask, (lh, lw)))
    return lr, lr_mask, hr_size


def fill_lr(lr: torch.Tensor, lr_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """LR normals with the background normal outside the LR mask, and the mask: map and mask agree."""
    return geometry.fill_background(lr, lr_mask), lr_mask


def synthetic_map(height: int = 64, width: int = 80, seed: int = 0) -> NormalMap:
    """A smooth bumpy surface with an elliptic mask, for tests and the smoke profile (no depth)."""
    g = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    z = 6 * np.sin(x / 7 + g.uniform(0, 6)) * np.cos(y / 9 + g.uniform(0, 6)) + 0.02 * ((x - width / 2) ** 2 + (y - height / 2) ** 2)
    gy, gx = np.gradient(z)
    n = np.stack([-gx, gy, np.ones_like(z)])  # image rows go down: y up is -d/drow
    n /= np.linalg.norm(n, axis=0, keepdims=True)
    mask = ((x - width / 2) / (0.45 * width)) ** 2 + ((y - height / 2) / (0.45 * height)) ** 2 <= 1
    normals = torch.from_numpy(n.astype(np.float32))
    mask_t = torch.from_numpy(mask)
    return NormalMap(f"synthetic{seed}", "synthetic", geometry.fill_background(normals, mask_t), mask_t)


def synthetic_objects() -> list[NormalMap]:
    """Stand-ins for the data in tests and the smoke profile: two spheres with depth and camera
    (group ``DiLiGenT``, the test objects) and two bumpy maps (group ``other``)."""
    from .integrate import sphere

    maps = []
    for k, radius in enumerate((30.0, 38.0)):
        normals, mask, depth, K = sphere(64, 80, radius=radius, distance=300.0, focal=400.0)
        mask_t = torch.from_numpy(mask)
        maps.append(NormalMap(f"sphere{k}", "DiLiGenT", geometry.fill_background(torch.from_numpy(normals), mask_t), mask_t,
                              depth.astype(np.float32), K))
    for k in range(2):
        m = synthetic_map(64, 80, seed=k)
        m.group = "other"
        maps.append(m)
    return maps
