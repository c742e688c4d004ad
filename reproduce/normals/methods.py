"""Super-resolving a normal map: bicubic, LIIF on the map, LIIF on the detail component.

Every method takes the LR normals (3, h, w) unit vectors with background
(0, 0, 1), the LR mask (h, w) bool, and an output size (H, W); it returns unit
normals (3, H, W). Scoring (inside the HR mask) is ``normals.metrics``.
"""
from __future__ import annotations

import torch

from ..engine.predict import upscale
from . import geometry
from .data import resize_normals


def bicubic(lr: torch.Tensor, lr_mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic on the encoded map, then renormalised (the baseline)."""
    return resize_normals(lr, size)


def model_on_map(model, lr: torch.Tensor, size: tuple[int, int], bf16: bool = False, chunk: int = 30000) -> torch.Tensor:
    """An implicit model applied to the encoded map as to a photograph; output decoded and renormalised."""
    device = next(model.parameters()).device
    out = upscale(model, geometry.encode(lr).to(device), tuple(size), chunk=chunk, bf16=bf16).cpu()
    return geometry.decode(out)


def lr_detail(lr: torch.Tensor, lr_mask: torch.Tensor, sigma: float = geometry.SHAPE_SIGMA) -> tuple[torch.Tensor, torch.Tensor]:
    """(shape, detail) of an LR map; the detail outside the mask is (0, 0, 1), like the map's background."""
    shape = geometry.shape_component(lr, lr_mask, sigma)
    detail = geometry.fill_background(geometry.decompose(lr, shape), lr_mask)
    return shape, detail


def model_on_detail(model, lr: torch.Tensor, lr_mask: torch.Tensor, size: tuple[int, int], bf16: bool = False,
                    chunk: int = 30000, sigma: float = geometry.SHAPE_SIGMA) -> torch.Tensor:
    """The source report's method: super-resolve the detail component, upsample the shape, recompose.

    shape_LR, detail_LR = decompose(LR); detail_HR = model(detail_LR);
    shape_HR = bicubic(shape_LR), renormalised; output = R(shape_HR) detail_HR.
    """
    shape, detail = lr_detail(lr, lr_mask, sigma)
    detail_hr = model_on_map(model, detail, size, bf16=bf16, chunk=chunk)
    return geometry.recompose(resize_normals(shape, size), detail_hr)


def fold_methods(photo_liif, checkpoint_folder, fold: int, bf16: bool = False) -> tuple[dict, list[str]]:
    """The methods evaluated on one fold's objects, and the names of those without a checkpoint.

    bicubic; LIIF trained on photographs on the map (``photo_liif``, or None);
    the fold's LIIF fine-tuned on the map and on the detail component.
    """
    from ..models import load
    from .finetune import checkpoint_path

    chosen, missing = {"bicubic": bicubic}, []
    if photo_liif is not None:
        chosen["LIIF (photographs)"] = lambda lr, mask, size: model_on_map(photo_liif, lr, size, bf16=bf16)
    else:
        missing.append("LIIF (photographs)")
    for variant, name in (("map", "LIIF fine-tuned (map)"), ("detail", "LIIF fine-tuned (detail)")):
        path = checkpoint_path(checkpoint_folder, variant, fold)
        if not path.is_file():
            missing.append(name)
            continue
        model = load(path)
        if variant == "map":
            chosen[name] = lambda lr, mask, size, model=model: model_on_map(model, lr, size, bf16=bf16)
        else:
            chosen[name] = lambda lr, mask, size, model=model: model_on_detail(model, lr, mask, size, bf16=bf16)
    return chosen, missing
