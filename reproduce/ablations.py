"""LIIF's ablations (notebook ``05_ablations``, issue 11): the arms, their configs, and a mechanism measure.

Each arm is one change from the cpu-budget EDSR-baseline-LIIF
(``configs/cpu/edsr-baseline-liif.yaml``), as in the official ablation
configs, or a fixed-scale EDSR-baseline (the single-scale references of the
paper's Table 1), trained with the same data, steps, schedule and seed-driven
batch stream (the fixed-scale networks see the same images in the same
order as crops of their own scale, minus images smaller than their patch:
:func:`training_images`). Arm ``LIIF`` seed 0 is the committed checkpoint
(trained with the code of its own commit: the budget table shows it).
Checkpoints live at ``results/checkpoints/ablations/<arm>-seed<k>.pt``.
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


def seeds_of(arm: str, liif_seeds, arm_seeds) -> list[int]:
    """The seeds an arm is trained with: LIIF's (the noise measurement) or every other arm's."""
    return list(liif_seeds if arm == "LIIF" else arm_seeds)


def training_images(cfg: dict) -> tuple[int, int]:
    """(images a config's training uses, images in its datasets): image crops need images at least the patch.

    The fixed-scale arms train on HR patches of 48 x scale pixels, so the
    smallest T91 images drop out at x3 and x4, while LIIF keeps every image
    (one too small for its drawn scale draws a smaller one, see
    ``data.TrainSamples``); the budget table says how many each arm used.
    """
    from .data import ImageSet

    t = cfg["train"]
    images = ImageSet(t["datasets"], limit=t["limit"])
    if t["task"] != "image":
        return len(images), len(images)
    return sum(min(img.shape[:2]) >= t["patch"] for img in images), len(images)


def check_same_budget(budget) -> None:
    """Every trained arm must share LIIF seed 0's steps, batch, peak lr, schedule and data; raises ``ReproduceError``."""
    trained = budget[budget["status"] == "trained"]
    if trained.empty:
        return
    keys = [k for k in ("steps", "batch", "peak lr", "schedule", "data") if k in trained]
    differ = [k for k in keys if trained[k].nunique() > 1]
    if differ:
        raise ReproduceError(f"the arms were trained with different {', '.join(differ)}: "
                             + "; ".join(f"{a}: {', '.join(str(r[k]) for k in differ)}" for a, r in
                                         trained.set_index(trained.columns[0]).iterrows()))


def checkpoint_path(folder: str | Path, arm: str, seed: int) -> Path:
    """``<folder>/<arm>-seed<seed>.pt`` (e.g. ``results/checkpoints/ablations/LIIF-c-seed1.pt``)."""
    if arm not in ARMS:
        raise ReproduceError(f"unknown ablation arm {arm!r}; known: {', '.join(ARMS)}")
    return Path(folder) / f"{arm}-seed{seed}.pt"


def arm_config(arm: str, seed: int, config_dir: str | Path, run_dir: str | Path,
               liif_config: str = "edsr-baseline-liif.yaml") -> dict:
    """The training config of one arm and seed: its file, its overrides, ``train.seed`` and its own run folder.

    ``liif_config`` names the LIIF file in ``config_dir`` the LIIF arms change
    (the smoke profile's tiny LIIF is ``liif-tiny.yaml``).
    """
    if arm not in ARMS:
        raise ReproduceError(f"unknown ablation arm {arm!r}; known: {', '.join(ARMS)}")
    name, overrides, _ = ARMS[arm]
    name = liif_config if name == "edsr-baseline-liif.yaml" else name
    dotted = {**overrides, "train.seed": seed, "run.out_dir": str(Path(run_dir) / f"{arm}-seed{seed}")}
    return load_config(Path(config_dir) / name, nest_dotted(dotted))


def train_arm(arm: str, seed: int, config_dir: str | Path = "configs/cpu", run_dir: str | Path = "runs/cpu/ablations",
              store_dir: str | Path = "results/checkpoints/ablations", liif_config: str = "edsr-baseline-liif.yaml",
              log=print) -> Path:
    """Train one arm and seed (resuming its run folder) and store its weights: ``<store_dir>/<arm>-seed<seed>.pt``.

    What ``05_ablations`` does for every missing arm with ``train=True``, one
    arm at a time (``reproduce ablation ARM SEED``): about an hour each on
    two cores with AMX, so a sitting trains one or two. Returns the
    checkpoint path (weights and training log only, no optimizer state).
    """
    from .engine import train_and_store

    cfg = arm_config(arm, seed, config_dir, run_dir, liif_config)
    return train_and_store(cfg, checkpoint_path(store_dir, arm, seed), log=log)


def arm_scales(arm: str, scales, sample_scales=None) -> list[float]:
    """The scales an arm is scored at: the grid's, or a fixed-scale network's own scale only.

    ``sample_scales`` (a report run's check of the committed scores): only
    the grid's scales among them, or, for an arm with none of them (the x2
    and x3 networks), its own, so every arm and seed is still recomputed
    somewhere. Empty when a fixed-scale network's scale is not in the grid.
    """
    grid = [float(s) for s in scales]
    if arm.startswith("EDSR-baseline-x"):
        own = float(arm.rsplit("x", 1)[1])
        grid = [s for s in grid if s == own]
    if sample_scales is None:
        return grid
    chosen = [s for s in grid if s in {float(x) for x in sample_scales}]
    return chosen or grid[:1]


def paired_precision_check(model_a, model_b, set_name: str, scales, limit: int | None = None):
    """Does bf16 move the paired difference between two models? fp32 and bf16 side by side, per scale.

    The ablation verdicts rest on per-image differences of a few hundredths
    of a dB between arms scored in bf16; a per-image bf16 shift of that size
    matters only if it does not cancel in the difference. Scores both models
    on the first ``limit`` images of ``set_name`` in fp32 and in bf16.

    Returns:
        DataFrame ``set, scale, images, delta_fp32, delta_bf16, shift,
        max_abs_image_shift``: the mean of per-image (a - b) PSNR in each
        precision (dB), their difference, and the largest per-image
        |(a - b)_bf16 - (a - b)_fp32|.
    """
    from .evaluate import paired_precision

    out = paired_precision({"a": model_a, "b": model_b}, "b", set_name, scales, limit)
    return out[["set", "scale", "images", "delta_fp32", "delta_bf16", "shift", "max_abs_image_shift"]]


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
    from .coords import centres
    from .models.liif_fast import nearest_index

    for axis, n, n_lr in ((0, height, lr_size[0]), (1, width, lr_size[1])):
        # The LR cell of output pixel i: the code LIIF's nearest sampling picks for its centre
        # (grid_sample's rule, ties to even: at non-integer scales a plain floor differs at ties).
        cell = nearest_index(centres(n), n_lr)
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


def detectable_difference(sd: float, n_seeds: int, power: float = 0.8, level: float = 0.95, df: int | None = None) -> float:
    """The smallest true difference between two arms that ``n_seeds`` seeds each detect with ``power``.

    Two-sided test at ``level`` on the difference of two means of
    ``n_seeds`` runs each, runs differing by ``sd`` (the seed-to-seed spread
    of one arm's mean): (q_{level} + q_{power}) * sd * sqrt(2 / n), with
    normal quantiles, or Student t quantiles with ``df`` degrees of freedom
    when ``sd`` is itself estimated from few seeds (df = seeds - 1), which
    is the honest figure for 2-3 seeds. It assumes the two arms' seed effects
    are independent and leaves out the image-to-image term of the verdicts'
    intervals, so it is a lower bound on what the design can resolve.
    """
    from statistics import NormalDist

    from scipy import stats as sps

    if n_seeds < 1 or not sd >= 0:
        raise ValueError(f"need n_seeds >= 1 and sd >= 0, got {n_seeds}, {sd}")
    if df is None:
        q = NormalDist().inv_cdf(1 - (1 - level) / 2) + NormalDist().inv_cdf(power)
    else:
        if df < 1:
            raise ValueError(f"df must be >= 1, got {df}")
        q = sps.t.ppf(1 - (1 - level) / 2, df) + sps.t.ppf(power, df)
    return q * sd * (2 / n_seeds) ** 0.5


def effect_table(scores, metric: str = "psnr", reference: str = "LIIF", paper: dict | None = None, n_boot: int = 10000):
    """Every arm against the reference, per set and scale, paired on seed and image.

    Rows: ``method, set, scale, seeds, mean, paired_seeds, paired_images,
    delta, ci_low, ci_high, win_rate, paper_delta``: ``mean`` over the arm's
    own seeds of its per-seed means; ``delta`` the mean of (arm - reference)
    over the seeds both have (``paired_seeds``) and their common images,
    with a two-way bootstrap interval over seeds and images
    (``stats.compare_methods``; with one paired seed it covers images only,
    not training noise); no shared seed leaves ``delta`` empty; ``paper_delta`` the paper's
    (arm - LIIF) at that scale where its table has the arm and the scale
    (``paper``: rows like ``reproduce.paper.DIV2K_EDSR_BASELINE``, keyed by
    the paper's names (``PAPER_ROWS``) or the method's own, None where the
    paper has no number; by default that table and the fixed-scale
    networks' ``DIV2K_FIXED_EDSR_BASELINE`` at their own scale), else NaN.
    """
    import numpy as np
    import pandas as pd

    from .paper import DIV2K_EDSR_BASELINE, DIV2K_FIXED_EDSR_BASELINE, DIV2K_SCALES
    from .stats import compare_methods

    if paper is None:  # the LIIF paper's rows, and the fixed-scale networks' at their own scale only (Table 1 has no other)
        paper = {**DIV2K_EDSR_BASELINE, **{f"EDSR-baseline-x{s}": [v if d == s else None for d in DIV2K_SCALES]
                                           for s, v in DIV2K_FIXED_EDSR_BASELINE.items()}}
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
            ref_seeds = set(scores[(scores["method"] == reference) & (scores["set"] == r.set) & (scores["scale"] == r.scale)]["seed"])
            own_seeds = set(part[(part["set"] == r.set) & (part["scale"] == r.scale)]["seed"])
            # Only seeds both have are paired; with none in common there is no paired difference
            # (comparing with the reference's mean would leave training noise out of the interval).
            if len(d) and own_seeds & ref_seeds:
                row.update({k: float(d.iloc[0][k]) for k in ("delta", "ci_low", "ci_high", "win_rate")})
                row.update({"paired_seeds": int(d.iloc[0]["n_seeds"]), "paired_images": int(d.iloc[0]["n_images"])})
            paper_row, ref_row = paper.get(PAPER_ROWS.get(method, method)), paper.get(PAPER_ROWS.get(reference, reference))
            if paper_row and ref_row and float(r.scale) in [float(s) for s in DIV2K_SCALES]:
                i = [float(s) for s in DIV2K_SCALES].index(float(r.scale))
                if paper_row[i] is not None and ref_row[i] is not None:
                    row["paper_delta"] = round(paper_row[i] - ref_row[i], 4)
            rows.append(row)
    cols = ["method", "set", "scale", "seeds", "mean", "paired_seeds", "paired_images", "delta", "ci_low", "ci_high",
            "win_rate", "paper_delta"]
    return pd.DataFrame(rows).reindex(columns=cols).astype({"delta": float, "paper_delta": float}).replace({None: np.nan})


def upscale_with_cell(model, lr: torch.Tensor, size: tuple[int, int], cell_size: tuple[int, int], chunk: int = 30000):
    """LIIF's output at ``size`` decoded with the cell of another output size (the paper's Figure 6).

    ``cell_size = size`` is the normal output; ``cell_size = (4h, 4w)`` tells
    the decoder each pixel is as large as at x4 while it renders at ``size``.
    lr (3, h, w) in [0, 1] -> (3, H, W) in [0, 1] (``engine.upscale`` with ``cell_size``).
    """
    from .engine import upscale

    return upscale(model, lr, size, chunk=chunk, cell_size=cell_size)


def sharpness(img: torch.Tensor) -> float:
    """Mean gradient magnitude of the luma (central differences), in [0, 1] units per pixel: higher is sharper.

    img: (3, H, W) in [0, 1]. Used to compare renderings of the same image at
    the same size, where more high-frequency energy means a sharper (or
    noisier) picture; it is not a quality score on its own.
    """
    luma = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]).double()
    gy = (luma[2:, 1:-1] - luma[:-2, 1:-1]) / 2
    gx = (luma[1:-1, 2:] - luma[1:-1, :-2]) / 2
    return float(torch.sqrt(gx ** 2 + gy ** 2).mean())


# The paper's claims on its ablation table, as tested here: (arm, claimed sign of arm - LIIF, scales, wording).
CLAIMS = [
    ("LIIF-c", -1, "small", "without cell decoding, LIIF loses at small scales"),
    ("LIIF-c", +1, "large", "without cell decoding, LIIF gains slightly at very large scales"),
    ("LIIF-u", -1, "all", "without feature unfolding, LIIF loses"),
    ("LIIF-e", -1, "all", "without the local ensemble, LIIF loses"),
    ("LIIF-d", -1, "all", "with a shallower decoder, LIIF loses"),
]


def ablation_claims(effects, set_name: str, small=(2.0,), large=(30.0,), noise=None) -> list[dict]:
    """The paper's ablation claims at each scale on one set (the DIV2K stand-in): verdicts from ``effect_table`` rows.

    Returns one dict per claim and scale with the ``ClaimResult`` fields
    (``claim, a, b, metric, scope, delta, ci_low, ci_high, win_rate,
    n_images, verdict``) plus ``paper``, the paper's delta, and
    ``noise_floor`` and ``detectable``, the noise level behind the verdict
    (:func:`claim_noise`; NaN without ``noise``, the :func:`seed_spread`
    table of LIIF): an effect within the floor is "within noise" even where
    its two-way bootstrap interval excludes zero. An arm or scale without rows is
    "not tested", its scope saying which arm has no scores.
    """
    rows = []
    part = effects[effects["set"] == set_name]
    all_scales = sorted(float(s) for s in part["scale"].unique())
    for arm, sign, which, wording in CLAIMS:
        scales = {"small": small, "large": large, "all": all_scales or small}[which]
        for scale in scales:
            hit = part[(part["method"] == arm) & (part["scale"] == float(scale))]
            base = {"claim": wording, "a": arm, "b": "LIIF", "metric": "psnr", "scope": f"{set_name}, x{scale:g}"}
            if hit.empty or hit["delta"].isna().all():
                rows.append({**base, "scope": f"{base['scope']}; no scores for {arm}", "delta": None, "ci_low": None,
                             "ci_high": None, "win_rate": None, "n_images": 0, "verdict": "not tested", "paper": None,
                             "noise_floor": float("nan"), "detectable": float("nan")})
                continue
            r = hit.iloc[0]
            rows.append(_judged({**base, "scope": _scope(base["scope"], r), "delta": r["delta"], "ci_low": r["ci_low"],
                                 "ci_high": r["ci_high"], "win_rate": r["win_rate"], "n_images": int(r["paired_images"]),
                                 "paper": r["paper_delta"]}, sign, noise, set_name, scale, int(r["paired_seeds"])))
    return rows


def measured_noise(path: str | Path):
    """LIIF's seed-to-seed spread (:func:`seed_spread`) from 05's committed per-image scores, or None.

    ``path``: ``results/scores/ablations.csv``. None when the file is missing
    or holds fewer than two LIIF seeds: training noise is then not measured,
    and the claims that would use it say so.
    """
    from .scores import read_table

    path = Path(path)
    if not path.is_file():
        return None
    table = read_table(path)
    if table[table["method"] == "LIIF"]["seed"].nunique() < 2:
        return None
    return seed_spread(table)


def _measured_sd(noise, set_name: str, scale: float) -> tuple[float, int] | None:
    """LIIF's seed-to-seed sd and its number of seeds at this set and scale (a :func:`seed_spread` row), or None
    where it is not measured: no table, no row, fewer than two seeds, an sd that is not a number."""
    if noise is None:
        return None
    hit = noise[(noise["set"] == set_name) & (noise["scale"].astype(float) == float(scale))]
    if hit.empty or not int(hit.iloc[0]["seeds"]) >= 2 or not float(hit.iloc[0]["sd"]) >= 0:
        return None
    return float(hit.iloc[0]["sd"]), int(hit.iloc[0]["seeds"])


def claim_noise(noise, set_name: str, scale: float, paired_seeds: int, trained: int = 2) -> tuple[float, float]:
    """The noise level behind a verdict on ``paired_seeds`` seeds per arm at this set and scale: (floor, detectable),
    in the units of the spread (dB for 05's PSNR; ``ipf_study.noise_floor`` passes IPF's spread in any metric).

    From the reference's seed-to-seed sd there (``noise``: the :func:`seed_spread`
    table, LIIF's in 05; t quantiles on its seeds - 1 degrees of freedom, as the sd comes
    from few seeds), assuming the other arm's seeds spread as LIIF's do
    (measured for LIIF only; for the fixed-scale networks an assumption):

    * ``floor``: t_{0.975} * sd * sqrt(trained / paired_seeds), the
      difference that training noise alone exceeds between two arms of that
      many seeds 5 % of the time (``trained``: how many of the two compared
      methods are trained networks; 1 against bicubic, which has no
      training noise). The verdict's two-way bootstrap resamples only the paired
      seeds (two or so), which understates training noise; an effect no
      larger than the floor is "within noise" whatever its interval. It
      treats the two arms' seed effects as independent (no credit for the
      shared initial encoder and batch stream), so it is conservative; as
      the same LIIF seeds enter the sd and the difference, the t quantile
      is approximate.
    * ``detectable``: :func:`detectable_difference`, the effect such a
      design shows with 80 % power (image-to-image noise left out, so a
      lower bound).

    Both NaN where the noise is not measured (no table, no row, fewer than
    two LIIF seeds, an sd that is not a number) or no seed is paired.
    """
    from scipy import stats as sps

    if trained not in (1, 2):
        raise ValueError(f"trained is 1 or 2 (how many of the compared methods are trained), got {trained}")
    nan = (float("nan"), float("nan"))
    measured = _measured_sd(noise, set_name, scale)
    if measured is None or paired_seeds < 1:
        return nan
    sd, df = measured[0], measured[1] - 1
    floor = float(sps.t.ppf(0.975, df)) * sd * (trained / paired_seeds) ** 0.5
    return floor, detectable_difference(sd, paired_seeds, df=df) * (trained / 2) ** 0.5


def _judged(row: dict, sign: int, noise, set_name: str, scale: float, paired_seeds: int) -> dict:
    """``row`` (delta and two-way bootstrap interval of the claim's A - B) with its verdict and noise columns.

    The verdict is :func:`reproduce.stats.verdict` of the interval, turned to
    "within noise" when |delta| does not exceed the seed-noise floor
    (:func:`claim_noise`), which the scope then says (the ledger carries the
    scope, not the floor), as it says when no floor is measured (NaN) under a
    "reproduced" or "contradicted"; ``noise_floor`` and ``detectable`` are
    recorded.
    """
    return _judged_against(row, sign, *claim_noise(noise, set_name, scale, paired_seeds))


def _judged_against(row: dict, sign: int, floor: float, detectable: float) -> dict:
    """``row`` with the verdict of its interval read against a given seed-noise ``floor`` (NaN: not measured).

    The rule of :func:`_judged` for floors computed otherwise (:func:`lead_growth`).
    """
    from .stats import floor_verdict, verdict

    interval = verdict(row, sign)
    said = floor_verdict(interval, float(row["delta"]), floor)
    if said != interval:
        row = {**row, "scope": f"{row['scope']}; |delta| within the seed-noise floor of {floor:.3f} dB"}
    elif floor != floor and said in ("reproduced", "contradicted"):  # NaN: the verdict rests on the images alone
        row = {**row, "scope": f"{row['scope']}; seed-noise floor not measured"}
    return {**row, "verdict": said, "noise_floor": floor, "detectable": detectable}


def claim_line(c: dict) -> str:
    """One claim row (a dict from :func:`ablation_claims` / :func:`fixed_scale_claims`) as a sentence for the report.

    The paired difference with its interval, the paper's, the verdict and the
    detectable difference (:func:`claim_noise`); an effect turned "within
    noise" by the seed-noise floor says so in its scope. A "within noise"
    where the paper's effect is below the detectable difference is called
    weak evidence either way (less than 80 % power for an effect of the
    paper's size, which comes from a far longer schedule), not an absence.
    One where the paper's effect is at least the detectable difference and
    lies outside the interval widened by the seed-noise floor on each side
    says that the data argue against an effect of that size at this budget
    (the interval alone covers only the images; the floor adds training
    noise), which is not a contradiction of its sign.
    """
    import math

    get = c.get
    if get("verdict") == "not tested":
        return f"* {get('claim')} ({get('scope')}): **not tested** (no scores)."
    paper, det = get("paper"), get("detectable", float("nan"))
    has_paper = paper is not None and not math.isnan(float(paper))
    text = (f"* {get('claim')} ({get('scope')}): {get('a')} − {get('b')} = {float(get('delta')):+.3f} dB "
            f"[{float(get('ci_low')):+.3f}, {float(get('ci_high')):+.3f}]"
            + (f" (paper {float(paper):+.2f})" if has_paper else " (not in the paper's table)")
            + f": **{get('verdict')}**")
    if det is None or math.isnan(float(det)):
        return text + "; noise not measured at this scale."
    text += f"; smallest detectable difference {float(det):.3f} dB"
    if get("verdict") == "within noise" and has_paper and abs(float(paper)) < float(det):
        text += (" (the paper's effect is below it: less than 80 % power for an effect of the paper's size, "
                 "so this null is weak evidence either way)")
    elif get("verdict") == "within noise" and has_paper:
        floor = float(get("noise_floor", float("nan")))
        floor = 0.0 if math.isnan(floor) else floor
        low, high = float(get("ci_low")) - floor, float(get("ci_high")) + floor
        if not low <= float(paper) <= high:
            text += (f" (the paper's {float(paper):+.2f} is above it and outside the interval widened by the "
                     f"seed-noise floor, [{low:+.3f}, {high:+.3f}]: at this budget the data argue against an effect "
                     "of the paper's size, though not against its sign)")
    return text + "."


def _scope(scope: str, row) -> str:
    """The claim's scope with its paired seeds, saying when the interval cannot cover training noise."""
    seeds = int(row["paired_seeds"])
    return f"{scope}, {seeds} paired seed{'s' if seeds != 1 else ''}" + (
        " (interval over images only: training noise not covered)" if seeds < 2 else "")


FIXED_PANEL = "EDSR-baseline-x2/x3/x4"


def fixed_scale_rows(effects):
    """The fixed-scale networks' rows of :func:`effect_table`, each at its own scale, as one method ``FIXED_PANEL``.

    For one panel of the delta-vs-scale figure: EDSR-baseline-x{s} - LIIF at
    x{s} for s = 2, 3, 4 (a network scored at another scale is left out);
    empty when none is scored.
    """
    own = effects["method"] == effects["scale"].map(lambda s: f"EDSR-baseline-x{float(s):g}")
    return effects[own].assign(method=FIXED_PANEL).reset_index(drop=True)


def fixed_scale_claims(effects, set_name: str, noise=None) -> list[dict]:
    """"LIIF is slightly ahead of fixed-scale networks inside x2-x4": LIIF - EDSR-baseline-x{s} at x{s}, a verdict each.

    The paper's LIIF is ahead of the fixed-scale networks by 0.12, 0.06 and
    0.06 dB at x2, x3, x4 (its Table 1): "reproduced" when the interval of
    LIIF - fixed lies above zero, "contradicted" below, "within noise" when
    it covers zero or |delta| is within the seed-noise floor (which is also
    what "close" would look like). Rows as :func:`ablation_claims`,
    ``noise_floor`` and ``detectable`` included (LIIF's seed spread assumed
    for the fixed-scale networks too).
    """
    from .paper import DIV2K_EDSR_BASELINE, DIV2K_SCALES
    from .paper import DIV2K_FIXED_EDSR_BASELINE as fixed_paper  # LIIF paper Table 1 (protocol.md section 5)
    rows = []
    part = effects[effects["set"] == set_name]
    for s in (2, 3, 4):
        arm = f"EDSR-baseline-x{s}"
        hit = part[(part["method"] == arm) & (part["scale"] == float(s))]
        base = {"claim": "LIIF trained on x1-x4 is slightly ahead of a network trained for this scale alone", "a": "LIIF",
                "b": arm, "metric": "psnr", "scope": f"{set_name}, x{s}"}
        paper = round(DIV2K_EDSR_BASELINE["LIIF"][DIV2K_SCALES.index(s)] - fixed_paper[s], 4)
        if hit.empty or hit["delta"].isna().all():
            rows.append({**base, "scope": f"{base['scope']}; no scores for {arm}", "delta": None, "ci_low": None,
                         "ci_high": None, "win_rate": None, "n_images": 0, "verdict": "not tested", "paper": paper,
                         "noise_floor": float("nan"), "detectable": float("nan")})
            continue
        r = hit.iloc[0]  # arm - LIIF: flip to LIIF - arm
        rows.append(_judged({**base, "scope": _scope(base["scope"], r), "delta": -r["delta"], "ci_low": -r["ci_high"],
                             "ci_high": -r["ci_low"], "win_rate": 1 - r["win_rate"], "n_images": int(r["paired_images"]),
                             "paper": paper}, +1, noise, set_name, s, int(r["paired_seeds"])))
    return rows


def lead_growth(scores, set_name: str, small: float = 2, large: float = 4, metric: str = "psnr", reference: str = "LIIF",
                noise=None, n_boot: int = 10000) -> dict:
    """Hypothesis (this study's, not the paper's): the fixed-scale networks' lead over LIIF grows from x``small`` to x``large``.

    Why it is asked: per step a fixed-scale network is supervised on every
    pixel of its HR patch (4, 9 and 16 times LIIF's sampled pixels at x2,
    x3, x4), which a short budget may favour; if that explained their lead,
    the lead should grow with the scale. Per seed k (one every arm has) and
    image j of ``set_name``, lead_s[k, j] = EDSR-baseline-x{s} - ``reference``
    at x{s} (``metric``, higher is better); ``delta`` is the mean of
    lead_large - lead_small with a two-way bootstrap interval over the seeds
    and the images every arm and seed scored (:func:`reproduce.stats.paired_difference`;
    the scope says when images were left out); ``lead_small`` and
    ``lead_large`` are the two mean leads, and the scope says when one is
    not positive (then there is no lead at that scale for the hypothesis
    to explain, and "grows" must be read with that).

    ``noise_floor`` (dB): t_{0.975} * sqrt(2 (sd_small^2 + sd_large^2) / n)
    over the n shared seeds, from LIIF's seed spread at the two scales
    (``noise``: :func:`seed_spread`, t on the fewer seeds - 1 degrees of
    freedom): the difference of the two leads' per-seed means involves four
    trained arms, each assumed to spread as LIIF does (measured for LIIF
    only). Treating them as independent is approximately conservative: the
    same LIIF seed enters both leads (which lowers the true spread) and a
    seed's shared initial encoder and batch stream add covariances of both
    signs, which cancel if they are similar. An effect within the floor is
    "within noise"; ``detectable``: (t_{0.975} + t_{0.8}) times the same
    spread, the growth such a design shows with 80 % power. Verdict words
    as for the paper's claims: "reproduced" means the lead grows beyond the
    interval and the floor, "contradicted" that it shrinks.

    Returns:
        One claim row (the columns of :func:`fixed_scale_claims`, plus
        ``lead_small`` and ``lead_large``), "not tested" when an arm, a
        scale, a shared seed or two images scored by all of them is missing.
    """
    import numpy as np
    import pandas as pd
    from scipy import stats as sps

    from .stats import LOWER_IS_BETTER, paired_difference

    if metric in LOWER_IS_BETTER:  # the lead is A - reference and the floor is LIIF's PSNR spread, in dB
        raise ValueError(f"lead_growth reads a higher-is-better metric in dB (PSNR), not {metric}")
    small, large = float(small), float(large)
    arms = {small: f"EDSR-baseline-x{small:g}", large: f"EDSR-baseline-x{large:g}"}
    base = {"claim": f"hypothesis (ours): the fixed-scale networks' lead over {reference} grows from x{small:g} to x{large:g}",
            "a": f"lead at x{large:g}", "b": f"lead at x{small:g}", "metric": metric, "scope": set_name, "paper": float("nan")}
    untested = {"delta": None, "ci_low": None, "ci_high": None, "win_rate": None, "n_images": 0, "verdict": "not tested",
                "noise_floor": float("nan"), "detectable": float("nan"), "lead_small": float("nan"), "lead_large": float("nan")}
    if not {"method", "seed", "set", "image", "scale", metric} <= set(scores.columns):  # e.g. nothing scored yet
        scores = pd.DataFrame(columns=["method", "seed", "set", "image", "scale", metric])
    part = scores[(scores["set"] == set_name) & scores["scale"].astype(float).isin([small, large])]
    part = part[part["method"].isin([*arms.values(), reference])].dropna(subset=[metric])
    part = part.astype({"scale": float, metric: float})
    wide = part.pivot_table(index="image", columns=["method", "seed", "scale"], values=metric, aggfunc="mean")
    seeds = sorted(set.intersection(*[{k for m, k, sc in wide.columns if m == method and sc == s}
                                      for s, arm in arms.items() for method in (arm, reference)]))
    if not seeds:
        missing = [f"{m} x{s:g}" for s, arm in arms.items() for m in (arm, reference)
                   if not any(c[0] == m and c[2] == s for c in wide.columns)]
        why = f"no scores for {', '.join(missing)}" if missing else "no seed shared by all three arms"
        return {**base, "scope": f"{set_name}; {why}", **untested}
    cols = [(m, k, s) for s, arm in arms.items() for m in (arm, reference) for k in seeds]
    complete = wide[cols].dropna()  # images every arm and seed scored at both scales
    if len(complete) < 2:
        return {**base, "scope": f"{set_name}; fewer than 2 images scored by every arm and seed", **untested}

    def lead(s):  # (seeds, images)
        return np.stack([(complete[(arms[s], k, s)] - complete[(reference, k, s)]).to_numpy() for k in seeds])

    grown, base_lead = lead(large), lead(small)
    diff = paired_difference(grown, base_lead, n_boot=n_boot)
    floor = detectable = float("nan")
    measured = [_measured_sd(noise, set_name, s) for s in (small, large)]
    if None not in measured:
        df = min(n for _, n in measured) - 1
        spread = (2 * sum(sd ** 2 for sd, _ in measured) / len(seeds)) ** 0.5  # sd of lead_large - lead_small from training noise
        floor = float(sps.t.ppf(0.975, df)) * spread
        detectable = float(sps.t.ppf(0.975, df) + sps.t.ppf(0.8, df)) * spread
    scope = _scope(set_name, {"paired_seeds": len(seeds)})
    if len(complete) < len(wide):
        scope += f"; {len(complete)} of {len(wide)} images (the others lack a score of some arm or seed)"
    leads = {"lead_small": float(base_lead.mean()), "lead_large": float(grown.mean())}
    behind = [f"x{s:g}" for s, v in zip((small, large), leads.values()) if v <= 0]
    if behind:
        scope += f"; no lead at {' and '.join(behind)} (the fixed-scale network is not ahead there)"
    row = {**base, "scope": scope, "delta": diff.delta, "ci_low": diff.ci_low, "ci_high": diff.ci_high,
           "win_rate": diff.win_rate, "n_images": diff.n_images}
    return {**_judged_against(row, +1, floor, detectable), **leads}
