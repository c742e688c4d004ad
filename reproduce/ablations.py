"""LIIF's ablations (notebook ``05_ablations``, issue 11): the arms, their configs, and a mechanism measure.

Each arm is one change from the cpu-budget EDSR-baseline-LIIF
(``configs/cpu/edsr-baseline-liif.yaml``), as in the official ablation
configs, or a fixed-scale EDSR-baseline (the single-scale references of the
paper's Table 1), trained with the same data, steps, schedule and seed-driven
batch stream. Arm ``LIIF`` seed 0 is the committed checkpoint. Checkpoints
live at ``results/checkpoints/ablations/<arm>-seed<k>.pt``.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .config import load_config, nest_dotted
from .errors import ReproduceError

_FIXED = "edsr-baseline-fixed.yaml"
# arm -> (config file, dotted overrides, what it removes or is)
ARMS: dict[str, tuple[str, dict, str]] = {
    "LIIF": ("edsr-baseline-liif.yaml", {}, "EDSR-baseline-LIIF as trained in 02"),
    "LIIF-c": ("edsr-baseline-liif.yaml", {"model.args.cell_decode": False}, "no cell decoding"),
    "LIIF-u": ("edsr-baseline-liif.yaml", {"model.args.feat_unfold": False}, "no feature unfolding"),
    "LIIF-e": ("edsr-baseline-liif.yaml", {"model.args.local_ensemble": False}, "no local ensemble"),
    "LIIF-d": ("edsr-baseline-liif.yaml", {"model.args.imnet_spec.args.hidden_list": [256, 256]},
               "a 3-layer decoder (hidden 256, 256) instead of 5 layers"),
    "EDSR-baseline-x2": (_FIXED, {}, "fixed-scale network trained on x2 only"),
    "EDSR-baseline-x3": (_FIXED, {"model.args.scale": 3, "train.patch": 144, "train.scale_min": 3.0, "train.scale_max": 3.0,
                                  "valid.scale": 3}, "fixed-scale network trained on x3 only"),
    "EDSR-baseline-x4": (_FIXED, {"model.args.scale": 4, "train.patch": 192, "train.scale_min": 4.0, "train.scale_max": 4.0,
                                  "valid.scale": 4}, "fixed-scale network trained on x4 only"),
}


def checkpoint_path(folder: str | Path, arm: str, seed: int) -> Path:
    """``<folder>/<arm>-seed<seed>.pt`` (e.g. ``results/checkpoints/ablations/LIIF-c-seed1.pt``)."""
    if arm not in ARMS:
        raise ReproduceError(f"unknown ablation arm {arm!r}; known: {', '.join(ARMS)}")
    return Path(folder) / f"{arm}-seed{seed}.pt"


def arm_config(arm: str, seed: int, config_dir: str | Path, run_dir: str | Path) -> dict:
    """The training config of one arm and seed: its file, its overrides, ``train.seed`` and its own run folder."""
    if arm not in ARMS:
        raise ReproduceError(f"unknown ablation arm {arm!r}; known: {', '.join(ARMS)}")
    name, overrides, _ = ARMS[arm]
    dotted = {**overrides, "train.seed": seed, "run.out_dir": str(Path(run_dir) / f"{arm}-seed{seed}")}
    return load_config(Path(config_dir) / name, nest_dotted(dotted))


def cell_border_jump(img: torch.Tensor, lr_size: tuple[int, int]) -> dict[str, float]:
    """How much an output jumps where its LR cell changes, against how much it changes inside cells.

    Without the local ensemble, LIIF decodes each output pixel from the one
    nearest LR code, so the prediction can jump where the nearest code
    changes: at the borders of LR cells. This compares the mean absolute
    difference between neighbouring output pixels (horizontal and vertical
    pairs) that lie in *different* LR cells with that of pairs in the *same*
    cell. Image content is the same on both sides of a border on average, so
    a smooth upsampling gives a ratio near 1 and a blocky one well above 1.

    Args:
        img: (3, H, W) or (H, W) output in [0, 1] of an (h, w) input.
        lr_size: (h, w).

    Returns:
        ``{"border": mean |diff| across cell borders, "inside": within cells,
        "ratio": border / inside}`` (differences in [0, 1] units).
    """
    img = img.float()
    if img.dim() == 3:
        img = img.mean(0)
    height, width = img.shape
    sums = {"border": [0.0, 0], "inside": [0.0, 0]}
    for axis, n, n_lr in ((0, height, lr_size[0]), (1, width, lr_size[1])):
        # The LR cell of output pixel i: floor of its centre in LR pixels (the nearest code's index).
        cell = torch.floor((torch.arange(n, dtype=torch.float64) + 0.5) * n_lr / n).long()
        border = cell[1:] != cell[:-1]
        diff = (img.narrow(axis, 1, n - 1) - img.narrow(axis, 0, n - 1)).abs()
        shape = (-1, 1) if axis == 0 else (1, -1)
        mask = border.view(shape).expand_as(diff)
        sums["border"][0] += float(diff[mask].sum())
        sums["border"][1] += int(mask.sum())
        sums["inside"][0] += float(diff[~mask].sum())
        sums["inside"][1] += int((~mask).sum())
    border, inside = (s / max(c, 1) for s, c in sums.values())
    return {"border": border, "inside": inside, "ratio": border / inside if inside > 0 else float("inf")}
