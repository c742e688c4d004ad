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


# The paper's rows (reproduce.paper.DIV2K_EDSR_BASELINE) for our arm names.
PAPER_ROWS = {"LIIF": "LIIF", "LIIF-c": "LIIF -c", "LIIF-u": "LIIF -u", "LIIF-e": "LIIF -e", "LIIF-d": "LIIF -d"}


def seed_spread(scores, arm: str = "LIIF", metric: str = "psnr"):
    """Run-to-run noise of one arm: per set and scale, the spread of its per-seed mean over seeds.

    Args:
        scores: long score table (``reproduce.scores``) with several seeds of ``arm``.

    Returns:
        DataFrame ``set, scale, seeds, mean, sd`` (sd over seeds of the per-seed
        means, ddof=1; NaN with one seed).
    """
    part = scores[scores["method"] == arm]
    per_seed = part.groupby(["set", "scale", "seed"], sort=False)[metric].mean().reset_index()
    out = per_seed.groupby(["set", "scale"], sort=False)[metric].agg(seeds="count", mean="mean", sd="std").reset_index()
    return out


def detectable_difference(sd: float, n_seeds: int, power: float = 0.8, level: float = 0.95) -> float:
    """The smallest true difference between two arms that ``n_seeds`` seeds each detect with ``power``.

    Two-sided test at ``level`` on the difference of two means of
    ``n_seeds`` runs each, runs differing by ``sd`` (the seed-to-seed spread
    of one arm's mean): (z_{level} + z_{power}) * sd * sqrt(2 / n). Pairing
    arms on a seed (same initial encoder, same batches) can only lower it,
    so this is the design's conservative figure.
    """
    from statistics import NormalDist

    if n_seeds < 1 or not sd >= 0:
        raise ValueError(f"need n_seeds >= 1 and sd >= 0, got {n_seeds}, {sd}")
    z = NormalDist().inv_cdf(1 - (1 - level) / 2) + NormalDist().inv_cdf(power)
    return z * sd * (2 / n_seeds) ** 0.5


def effect_table(scores, metric: str = "psnr", reference: str = "LIIF", paper: dict | None = None, n_boot: int = 10000):
    """Every arm against the reference, per set and scale, paired on seed and image.

    Rows: ``method, set, scale, seeds, mean, delta, ci_low, ci_high,
    win_rate, paper_delta``: ``mean`` over seeds of the per-seed means;
    ``delta`` the mean of (arm - reference) over the seeds both have and
    their common images, with a two-way bootstrap interval over seeds and
    images (``stats.compare_methods``); ``paper_delta`` the paper's
    (arm - LIIF) at that scale where its table has the arm and the scale
    (``paper``: rows like ``reproduce.paper.DIV2K_EDSR_BASELINE``), else NaN.
    """
    import numpy as np
    import pandas as pd

    from .paper import DIV2K_EDSR_BASELINE, DIV2K_SCALES
    from .stats import compare_methods

    paper = DIV2K_EDSR_BASELINE if paper is None else paper
    rows = []
    for method in dict.fromkeys(scores["method"]):
        part = scores[scores["method"] == method]
        per_seed = part.groupby(["set", "scale", "seed"], sort=False)[metric].mean().reset_index()
        summary = per_seed.groupby(["set", "scale"], sort=False)[metric].agg(seeds="count", mean="mean").reset_index()
        diffs = (compare_methods(scores, metric, method, reference, by=("set", "scale"), n_boot=n_boot)
                 if method != reference else pd.DataFrame())
        for r in summary.itertuples(index=False):
            d = diffs[(diffs["set"] == r.set) & (diffs["scale"] == r.scale)] if len(diffs) else diffs
            row = {"method": method, "set": r.set, "scale": r.scale, "seeds": int(r.seeds), "mean": float(r.mean)}
            if len(d):
                row.update({k: float(d.iloc[0][k]) for k in ("delta", "ci_low", "ci_high", "win_rate")})
            paper_row, ref_row = paper.get(PAPER_ROWS.get(method, "")), paper.get(PAPER_ROWS.get(reference, ""))
            if paper_row and ref_row and float(r.scale) in [float(s) for s in DIV2K_SCALES]:
                i = [float(s) for s in DIV2K_SCALES].index(float(r.scale))
                row["paper_delta"] = round(paper_row[i] - ref_row[i], 4)
            rows.append(row)
    cols = ["method", "set", "scale", "seeds", "mean", "delta", "ci_low", "ci_high", "win_rate", "paper_delta"]
    return pd.DataFrame(rows).reindex(columns=cols).astype({"delta": float, "paper_delta": float}).replace({None: np.nan})
