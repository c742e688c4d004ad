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


def seed_checkpoint_path(folder: str | Path, seed: int) -> Path:
    """IPF's weights for one training seed: seed 0 is the arm's own ``<folder>/ipf.pt``; seed k >= 1
    ``<folder>/ipf-seeds/ipf-seed<k>.pt`` (the extra seeds that measure IPF's training noise)."""
    if seed < 0:
        raise ReproduceError(f"seed must be 0 or more, got {seed}")
    return checkpoint_path(folder, "IPF") if seed == 0 else Path(folder) / "ipf-seeds" / f"ipf-seed{seed}.pt"


def arm_config(arm: str, config_dir: str | Path, run_dir: str | Path, liif_checkpoint: str | Path,
               seed: int = 0) -> dict:
    """The training config of one arm and seed: its file, its overrides, ``train.seed``, its run folder
    (``<run_dir>/<arm>``, ``<run_dir>/<arm>-seed<k>`` for k >= 1) and the LIIF it starts from.

    The seed sets the initial flow networks and discriminator and the batch
    stream; the frozen LIIF is the same for every seed.
    """
    name, overrides, _ = ARMS[arm]
    folder = arm.lower() if seed == 0 else f"{arm.lower()}-seed{seed}"
    dotted = {**overrides, "train.seed": int(seed), "run.out_dir": str(Path(run_dir) / folder),
              "gan.init": str(liif_checkpoint)}
    return load_config(Path(config_dir) / name, nest_dotted(dotted))


def train_seed(seed: int, config_dir: str | Path, run_dir: str | Path, liif_checkpoint: str | Path,
               store: str | Path, log=print) -> Path:
    """Train the full IPF with seed ``seed`` >= 1 (resuming its run folder) and store its weights at
    :func:`seed_checkpoint_path`: what ``06_ipf`` does for ``ipf_seeds`` with ``train=True``
    (``reproduce ipf-seed K``). Same config, data and budget as the committed IPF (seed 0)."""
    from .engine import train_and_store

    if seed < 1:
        raise ReproduceError(f"seed 0 is the IPF arm itself ({checkpoint_path(store, 'IPF')}); "
                             f"the extra seeds that measure its training noise are 1, 2, ... (got {seed})")
    cfg = arm_config("IPF", config_dir, run_dir, liif_checkpoint, seed=seed)
    return train_and_store(cfg, seed_checkpoint_path(store, seed), log=log)


def budget_table(checkpoints: dict[str, Path], liif_checkpoint: str | Path) -> pd.DataFrame:
    """One row per arm (or extra seed of IPF, ``IPF-seed<k>``): training budget, time, device, and whether
    its frozen LIIF is the committed one.

    The check compares the arm's LIIF weights with ``liif_checkpoint``'s
    tensor by tensor (for IPF arms, whose LIIF is frozen; LIIF-GAN trains it).
    Missing checkpoints get a row saying so; the "resumed at step" column
    only where some arm was resumed.
    """
    from .budget import budget_row, with_integer_counts, without_unused_resume_column

    base = load_checkpoint(liif_checkpoint)["state_dict"]
    rows = []
    for arm, path in checkpoints.items():
        row = {"arm": arm, "tests": _tests(arm), **budget_row(path)}
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
    return without_unused_resume_column(with_integer_counts(pd.DataFrame(rows)))


def _tests(label: str) -> str:
    """What a budget row's model tests: an arm of :data:`ARMS`, or ``IPF-seed<k>`` (an extra seed of IPF)."""
    if label in ARMS:
        return ARMS[label][2]
    seed = re.fullmatch(r"IPF-seed([1-9][0-9]*)", label)
    if seed is None:
        raise ReproduceError(f"unknown IPF arm {label!r}; known: {', '.join(ARMS)} and IPF-seed<k>")
    return f"the full model with seed {seed.group(1)}: IPF's training noise"


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


def _seed_means(scores: pd.DataFrame, metric: str, arm: str = "IPF") -> dict[float, tuple[pd.Series, str, int]]:
    """Per scale: each seed's mean of ``metric`` over the images (``set/image``) every seed scored, with the sets
    and the number of images pooled; what :func:`seed_noise` and :func:`machine_floor_range` spread over."""
    part = scores[scores["method"] == arm].assign(key=lambda d: d["set"] + "/" + d["image"])
    out = {}
    for scale, group in part.dropna(subset=[metric]).groupby("scale", sort=True):
        seeds = sorted(group["seed"].unique())
        common = set.intersection(*(set(group.loc[group["seed"] == s, "key"]) for s in seeds))
        pooled = group[group["key"].isin(common)]
        out[float(scale)] = (pooled.groupby("seed")[metric].mean(), "+".join(sorted(pooled["set"].unique())), len(common))
    return out


def seed_noise(scores: pd.DataFrame, metrics: Iterable[str] = ("psnr", "stlpips", "niqe"),
               arm: str = "IPF") -> pd.DataFrame:
    """IPF's run-to-run noise: per metric and scale, the spread over seeds of its mean over the pooled images.

    ``scores``: a long score table holding ``arm`` with several seeds (the
    committed arm as seed 0 and the extra seeds). Per metric and scale the
    images (``set/image``) every seed scored are pooled across sets, as the
    claims pool them, and each seed's mean over them is taken.

    Returns:
        DataFrame ``metric, scale, sets, images, seeds, mean, sd`` (sd over
        seeds of the per-seed means, ddof=1; NaN with one seed).
    """
    rows = []
    for metric in metrics:
        if metric not in scores.columns:
            continue
        for scale, (per_seed, sets, images) in _seed_means(scores, metric, arm).items():
            rows.append({"metric": metric, "scale": scale, "sets": sets, "images": images, "seeds": len(per_seed),
                         "mean": float(per_seed.mean()),
                         "sd": float(per_seed.std(ddof=1)) if len(per_seed) > 1 else float("nan")})
    return pd.DataFrame(rows, columns=["metric", "scale", "sets", "images", "seeds", "mean", "sd"])


def noise_floor(noise: pd.DataFrame | None, metric: str, scale: float, trained: int) -> tuple[float, str]:
    """The training-noise floor of a one-seed comparison of ``metric`` at ``scale`` and where it comes from.

    ``ablations.claim_noise`` on IPF's seed spread (:func:`seed_noise`):
    t_{0.975, seeds - 1} * sd * sqrt(trained), ``trained`` the number of the
    two compared methods whose own training noise enters (1 for IPF against
    LIIF: every arm is built on the same frozen LIIF, so the claim is about
    what the arm adds to that LIIF; 2 for two trained arms, assuming each
    arm's seeds spread as IPF's do: for LIIF-GAN, which fine-tunes LIIF
    itself, a borrowed figure, which the source text says). NaN and "" where
    it is not measured (no table, no row, fewer than two seeds). With two or
    three seeds the sd, and so the floor, is itself rough (t_{0.975, 2} = 4.3).
    The verdict then applies two rules in turn (interval over images, then
    |delta| against the floor), as ``05_ablations`` does, not one interval
    combining both sources of noise.
    """
    from .ablations import claim_noise

    if noise is None or noise.empty:
        return float("nan"), ""
    rows = noise[noise["metric"] == metric].rename(columns={"sets": "set"})
    hit = rows[rows["scale"].astype(float) == float(scale)]
    if hit.empty:
        return float("nan"), ""
    row = hit.iloc[0]
    floor = claim_noise(rows, row["set"], scale, 1, trained=trained)[0]
    both = ", assumed for both arms" if trained == 2 else ""
    return floor, f"IPF's seed spread, {int(row['seeds'])} seeds on {row['set']}{both}"


def repeat_shift(main: pd.DataFrame, seeds: pd.DataFrame, metrics: Iterable[str] = ("psnr", "stlpips", "niqe"),
                 n_boot: int = 10000) -> pd.DataFrame:
    """IPF seed 0 scored twice, in the main table and in the seeds' table: how far apart, per metric and scale.

    The same weights on the same images: a difference is the machines' (or
    the kernels', or the sittings') doing, not the model's. The claims pair
    arms within the main table and the floors come from the seeds' table
    alone, so neither carries it; it says how far a score here depends on
    where it was computed.

    Args:
        main, seeds: long score tables (``method, seed, set, image, scale``
            and the metrics); their IPF seed-0 rows are paired by set, image
            and scale.

    Returns:
        DataFrame ``metric, scale, images, delta, ci_low, ci_high, max_abs``
        (seeds' table - main table: mean, 95 % bootstrap interval over
        images, largest absolute difference on one image); empty where the
        tables share no row.
    """
    from .stats import paired_difference

    pick = lambda t: t[(t["method"] == "IPF") & (t["seed"] == 0)]  # noqa: E731
    both = pick(seeds).merge(pick(main), on=["set", "image", "scale"], suffixes=("_seeds", "_main"))
    rows = []
    for metric in metrics:
        if f"{metric}_seeds" not in both.columns or f"{metric}_main" not in both.columns:
            continue
        for scale, group in both.dropna(subset=[f"{metric}_seeds", f"{metric}_main"]).groupby("scale", sort=True):
            if len(group) < 2:
                continue
            diff = paired_difference(group[f"{metric}_seeds"], group[f"{metric}_main"], n_boot=n_boot)
            rows.append({"metric": metric, "scale": float(scale), "images": len(group), "delta": diff.delta,
                         "ci_low": diff.ci_low, "ci_high": diff.ci_high,
                         "max_abs": float((group[f"{metric}_seeds"] - group[f"{metric}_main"]).abs().max())})
    return pd.DataFrame(rows, columns=["metric", "scale", "images", "delta", "ci_low", "ci_high", "max_abs"])


def is_seed0_check(check: dict | None) -> bool:
    """Whether ``check`` (``benchmarks/bf16_emulation.py``'s JSON) recomputed IPF seed 0's rows: the only check that
    says how far the machines moved seed 0's scores."""
    return bool(check) and check.get("method") == "IPF" and check.get("seed") == 0 and bool(check.get("rows"))


def hardware_note(seed0_devices: list[str], seed_devices: list[str], check: dict | None = None) -> str | None:
    """Markdown saying that IPF's seeds were scored on other machines than seed 0, with the measured shifts; None if not.

    ``seed0_devices`` / ``seed_devices``: ``scores.computing_devices`` of
    the main table's IPF rows and of the seeds' table. Where they differ,
    seed 0's means carry the machines' arithmetic difference into the seed
    spread, and so into every floor. ``check``: the JSON that
    ``benchmarks/bf16_emulation.py --metrics stlpips niqe`` writes (seed 0's
    committed rows recomputed on the other machine); its per-scale mean
    shifts say how much of the spread that can be.
    """
    if not seed0_devices or not seed_devices or set(seed0_devices) == set(seed_devices):
        return None
    text = (f"**Machines**: seed 0's rows were computed on {'; '.join(seed0_devices)}, the extra seeds' on "
            f"{'; '.join(seed_devices)}. The seed spread, and every floor from it, then also holds whatever the "
            "machines' arithmetic changes in seed 0's means.")
    summary = (check.get("summary") or {}).get("emulated") if is_seed0_check(check) else None
    if not summary:
        return text + " Not measured here (`benchmarks/bf16_emulation.py --metrics stlpips niqe` on IPF seed 0 measures it)."
    parts = [f"PSNR by {summary['mean_dpsnr']:+.5f} dB on average (at most {summary['max_abs_dpsnr']:.4f} on one image)"]
    for name, label, fmt in (("stlpips", "ST-LPIPS", ".5f"), ("niqe", "NIQE", ".3f")):
        by_scale = summary.get(f"mean_d{name}_by_scale")
        if by_scale:
            parts.append(f"{label} by {min(by_scale.values()):+{fmt}} to {max(by_scale.values()):+{fmt}} in a scale's "
                         f"mean (at most {summary[f'max_abs_d{name}']:{fmt}} on one image)")
    rows = check.get("rows") or []
    images = len({r.get("image") for r in rows})
    where = (check.get("provenance") or {}).get("device", "an unnamed machine")
    return (text + f" Measured (`benchmarks/bf16_emulation.py`: seed 0's committed rows recomputed with emulated "
            f"bf16 on {where}, {len(rows)} rows, {images} images of {check.get('set')}): the machine moves "
            + "; ".join(parts) + f". A scale's mean here is over those {images} images only, so it is itself "
            "uncertain; a shift of the order of the sd column above means that metric's floor may be partly the "
            "machine's, in either direction.")


def _read(metric: str, low: float, high: float, delta: float, floor: float) -> str:
    """A claim's verdict by :func:`ipf_claims`' rule: its interval [low, high] on ``metric``'s better side, then
    ``delta`` against the training-noise ``floor`` (NaN: none); what the sensitivity checks read claims again with."""
    from .stats import LOWER_IS_BETTER, floor_verdict, verdict

    return floor_verdict(verdict({"ci_low": low, "ci_high": high}, -1 if metric in LOWER_IS_BETTER else 1), delta, floor)


def machine_floor_range(spread: pd.DataFrame, check: dict, level: float = 0.95, steps: int = 41) -> pd.DataFrame:
    """How far the machine between seed 0 and the extra seeds can move IPF's seed sd, per metric and scale.

    Seed 0's rows were computed on one machine, the extra seeds' on another
    (:func:`hardware_note`). ``check`` (the JSON of ``benchmarks/bf16_emulation.py``
    on IPF seed 0: per image, ``d<metric>_emulated`` = the other machine's
    score - seed 0's committed score) says what seed 0 would have scored
    there. Its mean shift per metric and scale is known only to a t interval
    at ``level`` over the check's few images; over that interval (``steps``
    points, and the shift that brings seed 0's mean to the other seeds',
    where it lies inside) seed 0's pooled mean is moved and the sd over seeds
    recomputed. The shift is assumed the same for every pooled image,
    though it was measured on the check's images only.

    Args:
        spread: the rows :func:`seed_noise` spreads over (IPF seed 0 and the
            extra seeds; columns ``method, seed, set, image, scale`` and the metrics).
        check: the benchmark's JSON (``method`` IPF, ``seed`` 0, ``rows``).

    Returns:
        DataFrame ``metric, scale, images, shift, shift_low, shift_high, sd,
        sd_min, sd_max`` (``images``: the check's at that scale; the sd as
        measured, and its least and greatest over the shift's interval);
        metrics and scales the check or the spread lacks are left out.

    Raises:
        ValueError: a check of other weights than IPF seed 0, or without rows.
    """
    from scipy import stats as sps

    if not is_seed0_check(check):
        raise ValueError("the machine check must recompute IPF seed 0's rows (benchmarks/bf16_emulation.py on IPF, seed 0)")
    shifts = pd.DataFrame(check["rows"])
    rows = []
    for metric in ("psnr", "stlpips", "niqe"):
        column = f"d{metric}_emulated"
        if column not in shifts.columns or metric not in spread.columns:
            continue
        means = _seed_means(spread, metric)
        for scale, d in shifts.dropna(subset=[column]).groupby("scale"):
            if float(scale) not in means or 0 not in means[float(scale)][0].index or len(d) < 2:
                continue
            per_seed = means[float(scale)][0]
            mean, se = float(d[column].mean()), float(d[column].std(ddof=1)) / np.sqrt(len(d))
            half = float(sps.t.ppf(0.5 + level / 2, len(d) - 1)) * se
            grid = list(np.linspace(mean - half, mean + half, steps))
            level_with_others = float(per_seed.drop(index=0).mean() - per_seed[0])  # seed 0's mean = the others'
            if mean - half <= level_with_others <= mean + half:
                grid.append(level_with_others)
            sds = [float(per_seed.add(pd.Series({0: shift}), fill_value=0.0).std(ddof=1)) for shift in grid]
            rows.append({"metric": metric, "scale": float(scale), "images": len(d), "shift": mean,
                         "shift_low": mean - half, "shift_high": mean + half,
                         "sd": float(per_seed.std(ddof=1)), "sd_min": min(sds), "sd_max": max(sds)})
    return pd.DataFrame(rows, columns=["metric", "scale", "images", "shift", "shift_low", "shift_high", "sd",
                                       "sd_min", "sd_max"])


def machine_sensitivity(claims: pd.DataFrame, noise: pd.DataFrame, ranges: pd.DataFrame) -> pd.DataFrame:
    """Which verdicts could the machine difference behind the floors have decided?

    Each claim (rows of ``ClaimResult.as_dict()``, as :func:`ipf_claims` words
    them) is read again, by :func:`ipf_claims`' rule (its interval, then the
    floor), with the floor from the least and the greatest sd of
    :func:`machine_floor_range` (``ranges``) in place of the measured one
    (``noise``: :func:`seed_noise`'s table). A verdict is ``sensitive`` when
    either reading differs from it: then the machine, not the models, may
    have decided it.

    Returns:
        DataFrame ``claim, scope, verdict, floor, floor_min, floor_max,
        verdict_min, verdict_max, sensitive``; claims not tested, or whose
        metric and scale ``ranges`` lacks, are left out.
    """
    bounds = {(r.metric, float(r.scale)): (r.sd_min, r.sd_max) for r in ranges.itertuples()}
    rows = []
    for c in claims.itertuples():
        found = SCOPE_SCALE.search(str(c.scope))
        if c.verdict == "not tested" or pd.isna(c.ci_low) or not found:
            continue
        scale = float(found.group(1))
        if (c.metric, scale) not in bounds:
            continue
        trained = _trained(c.a, c.b)
        at = noise["metric"].eq(c.metric) & noise["scale"].astype(float).eq(scale)
        floors = [noise_floor(noise.assign(sd=noise["sd"].mask(at, sd)), c.metric, scale, trained)[0]
                  for sd in bounds[(c.metric, scale)]]
        low, high = (_read(c.metric, c.ci_low, c.ci_high, c.delta, f) for f in floors)
        rows.append({"claim": c.claim, "scope": c.scope, "verdict": c.verdict,
                     "floor": noise_floor(noise, c.metric, scale, trained)[0], "floor_min": floors[0],
                     "floor_max": floors[1], "verdict_min": low, "verdict_max": high,
                     "sensitive": low != c.verdict or high != c.verdict})
    return pd.DataFrame(rows, columns=["claim", "scope", "verdict", "floor", "floor_min", "floor_max", "verdict_min",
                                       "verdict_max", "sensitive"])


def _trained(a: str, b: str) -> int:
    """How many of two compared methods bring their own training noise: LIIF is the frozen base every arm shares."""
    return 1 if "LIIF" in (a, b) else 2


# Floors in each metric's units, with the precision it is read at.
FLOOR_FORMAT = {"psnr": (" dB", ".3f"), "ssim": ("", ".4f"), "stlpips": ("", ".4f"), "niqe": ("", ".2f")}


def ipf_claims(scores: pd.DataFrame, scales: Iterable[float], n_boot: int = 10000,
               noise: pd.DataFrame | None = None) -> list[ClaimResult]:
    """The claims of the IPF paper and of the study, one per scale, on all images scored at that scale.

    * IPF is sharper than LIIF: lower ST-LPIPS, lower NIQE;
    * at some PSNR cost: LIIF has higher PSNR than IPF;
    * the confidence helps: IPF better than IPF-noconf (ST-LPIPS, NIQE);
    * the dual constraint helps: IPF better than IPF-nodual (ST-LPIPS, NIQE);
    * the flow helps beyond the losses: IPF better than LIIF-GAN (ST-LPIPS, NIQE).

    Each verdict's interval covers the images only; it is then read against
    the training-noise floor of its metric and scale (:func:`noise_floor`
    from ``noise``, :func:`seed_noise`'s table): an effect within it is
    "within noise" (``claims.with_floor``); without ``noise`` the scope says
    that training noise is not measured (one model per arm).

    An arm without scores gives "not tested". ``scores`` is a long score table
    (``reproduce.scores``) with ``stlpips`` and ``niqe`` columns and one
    model (seed) per method: several seeds of one method are refused, as
    the pairing is by image.
    """
    from .claims import with_floor

    several = scores.groupby("method")["seed"].nunique()
    if (several > 1).any():
        raise ValueError(f"one seed per method expected (pairs are by image); several for {', '.join(several[several > 1].index)}")
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
            result = paired_claim(keyed, a, b, metric, claim=f"{claim}, by {METRIC_LABELS[metric]}",
                                  scope=f"{sets}, x{scale:g}", n_boot=n_boot)
            floor, source = noise_floor(noise, metric, scale, trained=_trained(a, b))
            unit, fmt = FLOOR_FORMAT[metric]
            out.append(with_floor(result, floor, source, unit=unit, fmt=fmt,
                                  unmeasured="one model per arm, training noise not measured"))
    return out


# The scale in an ipf_claims scope: "B100+Set14, x4" or "Set14, x4; training-noise floor 0.0010 (...)".
SCOPE_SCALE = re.compile(r", x([0-9.]+)(?:;|$)")


def precision_sensitivity(claims: pd.DataFrame, check: pd.DataFrame, reference: str = "LIIF",
                          noise: pd.DataFrame | None = None) -> pd.DataFrame:
    """Which verdicts could the scoring precision have decided? Each claim against the bf16 check.

    The scores are made with bf16 autocast; ``check`` (``evaluate.paired_precision``:
    per method, metric and scale, the mean bf16 - fp32 shift of the paired
    difference method - ``reference`` on a few images) estimates how far bf16
    moved each difference. A claim a - b moves by shift(a) - shift(b) (the
    reference's own shift is 0). Its fp32 counterpart is estimated by moving
    the delta and the interval back by that shift and reading them by the
    rule :func:`ipf_claims` reads the claim by (its interval, then the
    training-noise floor from ``noise`` where measured); a verdict is
    ``sensitive`` when the moved claim reads differently, so a sensitive
    verdict rests on rounding as much as on the models.

    Args:
        claims: rows of ``ClaimResult.as_dict()`` (``claim, a, b, metric,
            scope, delta, ci_low, ci_high, verdict``); the scale is the
            ``", x<scale>"`` that ends ``scope`` or its first ``;``-part (as :func:`ipf_claims` words it).
        check: ``set, method, metric, scale, shift, ...``.
        noise: :func:`seed_noise`'s table, as passed to :func:`ipf_claims` (None: no floor).

    Returns:
        DataFrame ``claim, scope, verdict, ci_low, ci_high, bf16_shift,
        fp32_low, fp32_high, fp32_verdict, sensitive``; claims that are not
        tested, or whose methods, metric or scale the check does not hold,
        are left out.
    """
    if "set" in check.columns and check["set"].nunique() > 1:  # one shift per method, metric and scale is read
        raise ValueError(f"the bf16 check holds sets {sorted(check['set'].unique())}: pass one set's rows")
    shifts = {(r.method, r.metric, float(r.scale)): float(r.shift) for r in check.itertuples()}
    rows = []
    for c in claims.itertuples():
        if c.verdict == "not tested" or pd.isna(c.ci_low):
            continue
        found = SCOPE_SCALE.search(str(c.scope))
        if not found:
            continue
        scale = float(found.group(1))
        parts = [0.0 if m == reference else shifts.get((m, c.metric, scale)) for m in (c.a, c.b)]
        if None in parts:
            continue
        shift = parts[0] - parts[1]
        low, high = c.ci_low - shift, c.ci_high - shift
        floor = noise_floor(noise, c.metric, scale, trained=_trained(c.a, c.b))[0]
        fp32 = _read(c.metric, low, high, c.delta - shift, floor)
        rows.append({"claim": c.claim, "scope": c.scope, "verdict": c.verdict, "ci_low": c.ci_low, "ci_high": c.ci_high,
                     "bf16_shift": shift, "fp32_low": low, "fp32_high": high, "fp32_verdict": fp32,
                     "sensitive": fp32 != _read(c.metric, c.ci_low, c.ci_high, c.delta, floor)})
    return pd.DataFrame(rows, columns=["claim", "scope", "verdict", "ci_low", "ci_high", "bf16_shift", "fp32_low",
                                       "fp32_high", "fp32_verdict", "sensitive"])


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
