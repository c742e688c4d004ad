"""The IPF study (notebook ``06_ipf``): its arms, their training, the flow figures and the claims.

Arms (each a checkpoint under ``results/checkpoints/``):

* ``IPF``: flow encoder, flow function and confidence on the frozen LIIF,
  trained on loss(I^f) + loss(I^d) (``configs/<profile>/ipf.yaml``);
* ``IPF-noconf``: without the confidence function (c = 1);
* ``IPF-nodual``: without the dual constraint (I^f only);
* ``LIIF-GAN``: the reference point: LIIF itself fine-tuned with the same
  losses and data, no flow (``liif-gan.yaml``): does the flow matter, or just
  the losses?

The claims of the IPF paper and of this study's issue are functions here
(:func:`ipf_claims`), tested, so the notebook only calls them.
"""
from __future__ import annotations

import colorsys
import re
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import torch

from .claims import ClaimResult, paired_claim
from .config import load_config, nest_dotted
from .errors import ReproduceError
from .models import load_checkpoint
from .normalize import from_model, to_model

# arm -> (config file, dotted overrides, what it tests)
ARMS: dict[str, tuple[str, dict, str]] = {
    "IPF": ("ipf.yaml", {}, "the full model"),
    "IPF-noconf": ("ipf.yaml", {"model.args.confidence": False},
                   "without the confidence function (c = 1, so I^d = I^f: no separate dual output either)"),
    "IPF-nodual": ("ipf.yaml", {"model.args.dual": False}, "without the dual constraint (I^f only)"),
    "LIIF-GAN": ("liif-gan.yaml", {}, "no flow: LIIF fine-tuned with the same losses"),
}


def checkpoint_path(folder: str | Path, arm: str) -> Path:
    """Where an arm's weights live: ``<folder>/ipf.pt``, ``<folder>/ipf-noconf.pt``, ..., ``<folder>/liif-gan.pt``."""
    if arm not in ARMS:
        raise ReproduceError(f"unknown IPF arm {arm!r}; known: {', '.join(ARMS)}")
    return Path(folder) / f"{arm.lower()}.pt"


def arm_config(arm: str, config_dir: str | Path, run_dir: str | Path, liif_checkpoint: str | Path) -> dict:
    """The training config of one arm: its file, its overrides, its run folder and the LIIF it starts from."""
    name, overrides, _ = ARMS[arm]
    dotted = {**overrides, "run.out_dir": str(Path(run_dir) / arm.lower()), "gan.init": str(liif_checkpoint)}
    return load_config(Path(config_dir) / name, nest_dotted(dotted))


def budget_table(checkpoints: dict[str, Path], liif_checkpoint: str | Path) -> pd.DataFrame:
    """One row per arm: training budget, time, device, and whether its frozen LIIF is the committed one.

    The check compares the arm's LIIF weights with ``liif_checkpoint``'s
    tensor by tensor (for IPF arms, whose LIIF is frozen; LIIF-GAN trains it).
    Missing checkpoints get a row saying so; the "resumed at step" column
    only where some arm was resumed.
    """
    from .budget import budget_row, without_unused_resume_column

    base = load_checkpoint(liif_checkpoint)["state_dict"]
    rows = []
    for arm, path in checkpoints.items():
        row = {"arm": arm, "tests": ARMS[arm][2], **budget_row(path)}
        if row["status"] == "trained":
            ckpt = load_checkpoint(path)
            t, g, sd = ckpt["config"]["train"], ckpt["config"]["gan"], ckpt["state_dict"]
            if ckpt["model"]["name"] == "ipf":
                same = all(torch.equal(sd[f"base.{k}"], v) for k, v in base.items())
                frozen = "identical" if same else "DIFFERENT"
                trained = sum(v.numel() for k, v in sd.items() if not k.startswith("base."))
            else:
                frozen, trained = "trained (not frozen)", sum(v.numel() for v in sd.values())
            row.update({"hr patch": t["patch"], "scales": f"U({t['scale_min']:g}, {t['scale_max']:g})",
                        "trained params (M)": trained / 1e6,
                        "losses": f"perc 1 + adv {g['adv_weight']:g} + {g['pixel_loss']} {g['pixel_weight']:g}",
                        "LIIF weights vs committed": frozen})
        rows.append(row)
    return without_unused_resume_column(pd.DataFrame(rows))


def flow_to_rgb(offset: np.ndarray, max_magnitude: float) -> np.ndarray:
    """Colour-code a flow field: white = no offset, hue = direction, saturation = magnitude.

    Args:
        offset: (2, H, W) offsets (dy, dx) in LR pixels.
        max_magnitude: the magnitude shown fully saturated (larger ones clip).

    Returns:
        (H, W, 3) float RGB in [0, 1]. Hue 0 (red) points right (+x), 1/4
        (yellow-green) down (+y), and so on around the circle.
    """
    dy, dx = offset
    hue = (np.arctan2(dy, dx) / (2 * np.pi)) % 1.0
    sat = np.clip(np.hypot(dy, dx) / max_magnitude, 0, 1)
    rgb = np.vectorize(colorsys.hsv_to_rgb, otypes=[float, float, float])(hue, sat, np.ones_like(sat))
    return np.stack(rgb, axis=-1)


def flow_wheel(size: int = 64) -> np.ndarray:
    """The colour key of :func:`flow_to_rgb`: (size, size, 3), offsets up to 1 at the rim (white outside)."""
    y, x = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    rgb = flow_to_rgb(np.stack([y, x]), 1.0)
    rgb[np.hypot(y, x) > 1] = 1.0
    return rgb


@torch.no_grad()
def flow_maps(model, lr: torch.Tensor, size: tuple[int, int], chunk: int = 30000) -> dict[str, np.ndarray]:
    """IPF's output, offsets and confidences for one image, chunk by chunk.

    Args:
        model: an ``IPF``; lr: (3, h, w) in [0, 1]; size: output (H, W).

    Returns:
        ``{"output": (H, W, 3) in [0, 1], "offset": (2, H, W) in LR pixels
        (dy, dx), "applied": (2, H, W) = confidence * offset, "confidence":
        (H, W) in (0, 1) (ones without C)}``.
    """
    from .engine.predict import query_chunks

    height, width = size
    prepared = model.prepare(model.encode(to_model(lr).unsqueeze(0)))
    out, offset, conf = (torch.empty(height * width, n) for n in (3, 2, 1))
    for index, coord, cell in query_chunks(size, chunk, lr.device):
        off, c = model.flow_field(prepared, coord, cell)
        c = c if c is not None else torch.ones_like(off[..., :1])
        out[index] = from_model(model.decode(prepared, coord, cell)[0].float()).clamp(0, 1)
        offset[index], conf[index] = off[0], c[0]
    grid = lambda t: t.view(height, width, -1).permute(2, 0, 1).numpy()  # noqa: E731
    return {"output": grid(out).transpose(1, 2, 0), "offset": grid(offset), "applied": grid(offset * conf),
            "confidence": grid(conf)[0]}


METRIC_LABELS = {"psnr": "PSNR", "ssim": "SSIM", "stlpips": "ST-LPIPS", "niqe": "NIQE"}


def ipf_claims(scores: pd.DataFrame, scales: Iterable[float], n_boot: int = 10000) -> list[ClaimResult]:
    """The claims of the IPF paper and of the study, one per scale, on all images scored at that scale.

    * IPF is sharper than LIIF: lower ST-LPIPS, lower NIQE;
    * at some PSNR cost: LIIF has higher PSNR than IPF;
    * the confidence helps: IPF better than IPF-noconf (ST-LPIPS, NIQE);
    * the dual constraint helps: IPF better than IPF-nodual (ST-LPIPS, NIQE);
    * the flow helps beyond the losses: IPF better than LIIF-GAN (ST-LPIPS, NIQE).

    An arm without scores gives "not tested". ``scores`` is a long score table
    (``reproduce.scores``) with ``stlpips`` and ``niqe`` columns.
    """
    tests = [("IPF", "LIIF", "stlpips", "IPF is sharper than LIIF"),
             ("IPF", "LIIF", "niqe", "IPF is sharper than LIIF"),
             ("LIIF", "IPF", "psnr", "IPF costs PSNR (LIIF higher)"),
             ("IPF", "IPF-noconf", "stlpips", "the confidence function helps"),
             ("IPF", "IPF-noconf", "niqe", "the confidence function helps"),
             ("IPF", "IPF-nodual", "stlpips", "the dual constraint helps"),
             ("IPF", "IPF-nodual", "niqe", "the dual constraint helps"),
             ("IPF", "LIIF-GAN", "stlpips", "the flow helps beyond the GAN losses"),
             ("IPF", "LIIF-GAN", "niqe", "the flow helps beyond the GAN losses")]
    out = []
    for scale in scales:
        part = scores[scores["scale"] == float(scale)]
        sets = "+".join(sorted(part["set"].unique())) or "no scores"
        for a, b, metric, claim in tests:
            if metric not in part.columns:
                out.append(ClaimResult(f"{claim}, by {METRIC_LABELS[metric]}", a, b, metric, f"{sets}, x{scale:g}; no {metric} scores", None, None, None, None,
                                       0, "not tested"))
                continue
            # Images are named within their set: pair on set/image.
            keyed = part.dropna(subset=[metric]).assign(image=lambda d: d["set"] + "/" + d["image"])
            out.append(paired_claim(keyed, a, b, metric, claim=f"{claim}, by {METRIC_LABELS[metric]}",
                                    scope=f"{sets}, x{scale:g}", n_boot=n_boot))
    return out


def precision_sensitivity(claims: pd.DataFrame, check: pd.DataFrame, reference: str = "LIIF") -> pd.DataFrame:
    """Which verdicts could the scoring precision have decided? Each claim against the bf16 check.

    The scores are made with bf16 autocast; ``check`` (``evaluate.paired_precision``:
    per method, metric and scale, the mean bf16 - fp32 shift of the paired
    difference method - ``reference`` on a few images) estimates how far bf16
    moved each difference. A claim a - b moves by shift(a) - shift(b) (the
    reference's own shift is 0). Its fp32 counterpart is estimated by moving
    the interval back by that shift; a verdict is ``sensitive`` when that
    moved interval falls on the other side of zero at either end (it would
    read differently in fp32), so a sensitive verdict rests on rounding as
    much as on the models.

    Args:
        claims: rows of ``ClaimResult.as_dict()`` (``claim, a, b, metric,
            scope, delta, ci_low, ci_high, verdict``); the scale is the last
            ``x<scale>`` of ``scope``.
        check: ``set, method, metric, scale, shift, ...``.

    Returns:
        DataFrame ``claim, scope, verdict, ci_low, ci_high, bf16_shift,
        fp32_low, fp32_high, sensitive``; claims that are not tested, or whose
        methods, metric or scale the check does not hold, are left out.
    """
    shifts = {(r.method, r.metric, float(r.scale)): float(r.shift) for r in check.itertuples()}
    rows = []
    for c in claims.itertuples():
        if c.verdict == "not tested" or pd.isna(c.ci_low):
            continue
        found = re.findall(r"x([0-9.]+)", str(c.scope))
        if not found:
            continue
        scale = float(found[-1])
        parts = [0.0 if m == reference else shifts.get((m, c.metric, scale)) for m in (c.a, c.b)]
        if None in parts:
            continue
        shift = parts[0] - parts[1]
        low, high = c.ci_low - shift, c.ci_high - shift
        sensitive = bool((c.ci_low > 0) != (low > 0) or (c.ci_high < 0) != (high < 0))
        rows.append({"claim": c.claim, "scope": c.scope, "verdict": c.verdict, "ci_low": c.ci_low, "ci_high": c.ci_high,
                     "bf16_shift": shift, "fp32_low": low, "fp32_high": high, "sensitive": sensitive})
    return pd.DataFrame(rows, columns=["claim", "scope", "verdict", "ci_low", "ci_high", "bf16_shift", "fp32_low",
                                       "fp32_high", "sensitive"])


def ablation_rows(scores: pd.DataFrame, metrics: Iterable[str] = ("stlpips", "niqe", "psnr"),
                  n_boot: int = 10000) -> pd.DataFrame:
    """IPF's rows of the study's ablation table: each ablated arm against the full IPF, per metric, set and scale.

    ``scores``: a long score table with IPF and any of its arms
    (``ARMS``); other methods are ignored. Returns
    ``ablations.effect_table``'s columns for every arm present plus IPF (the
    reference row, no delta) and a ``metric`` column; ``delta`` = arm - IPF
    (ST-LPIPS and NIQE: lower is better, so a positive delta means the arm
    is worse without the part it lacks). No IPF scores: an empty table.
    """
    from .ablations import effect_table

    arms = scores[scores["method"].isin(list(ARMS))]
    if "IPF" not in set(arms["method"]):
        return pd.DataFrame()
    parts = [effect_table(arms.dropna(subset=[m]), m, reference="IPF", paper={}, n_boot=n_boot).assign(metric=m)
             for m in metrics if m in arms.columns]
    return pd.concat(parts, ignore_index=True)
