"""Paired comparisons of per-image scores, with a bootstrap interval and a verdict.

"A beats B" in this study means: on the same images, the mean of the per-image
differences A - B, with a 95 % bootstrap interval, excludes zero in A's
favour. The interval is over images (and seeds, when several trained models
per method are given); it does not cover training noise when each method is
one trained model, and a verdict built on it must say so.

Verdict words: ``reproduced`` (the interval lies on the claimed side of
zero), ``contradicted`` (it lies on the other side), ``within noise`` (it
contains zero). ``not tested`` is for claims with no scores at all.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

VERDICTS = ("reproduced", "contradicted", "within noise", "not tested")
# Metrics where a lower value is better; every other metric is higher-is-better.
LOWER_IS_BETTER = {"stlpips", "lpips", "niqe", "mean_angle", "median_angle", "made_mm", "made_detail_mm", "seconds"}


@dataclass(frozen=True)
class PairedDifference:
    """Mean of A - B over paired scores, its bootstrap interval, and how often A is better.

    Attributes:
        delta: mean difference A - B (in the metric's units).
        ci_low, ci_high: expanded percentile bootstrap interval of ``delta``
            at ``level`` (:func:`expanded_tail`).
        win_rate: fraction of pairs where A is better (ties count one half).
        n_images: number of images; n_seeds: number of seed pairs (1 if none).
    """
    delta: float
    ci_low: float
    ci_high: float
    win_rate: float
    n_images: int
    n_seeds: int
    level: float

    def as_dict(self) -> dict:
        return asdict(self)


def expanded_tail(level: float, n: int) -> float:
    """The tail probability of each end of an *expanded* percentile bootstrap interval at ``level`` for ``n`` values.

    The plain percentile interval of a mean is too narrow for few values
    (simulated coverage of a nominal 95 % interval: about 84 % for 5 values,
    92 % for 14): it behaves like mean ± z·s/sqrt(n) with the plug-in s.
    Hesterberg's expansion (2015, "What teachers should know about the
    bootstrap", Am. Stat. 69(4)) takes the quantiles at Phi(-sqrt(n/(n-1)) *
    t_{n-1}), which restores the t interval's width for small ``n`` and tends
    to the plain percentiles for large ``n``: (1 - 0.95) / 2 = 0.025 becomes
    about 0.001 for n = 5, 0.012 for n = 14 and 0.023 for n = 100.

    Raises:
        ValueError: ``n`` below 2 (one value says nothing about its spread).
    """
    from scipy import stats as sps

    if n < 2:
        raise ValueError(f"an interval needs at least 2 paired images, got {n}")
    t = sps.t.ppf(0.5 + level / 2, n - 1)
    return float(sps.norm.cdf(-np.sqrt(n / (n - 1)) * t))


def paired_difference(a, b, *, lower_is_better: bool = False, n_boot: int = 10000, level: float = 0.95,
                      seed: int = 0) -> PairedDifference:
    """Paired difference of scores ``a`` and ``b`` on the same images.

    Args:
        a, b: per-image scores, shape (images,) or (seeds, images): row k of
            ``a`` and of ``b`` come from models trained with seed k, column j
            is image j. With several seeds, the bootstrap resamples seeds and
            images independently (a two-way bootstrap), so the interval covers
            both sources of variation.
        lower_is_better: for the win rate (e.g. ST-LPIPS, NIQE).
        n_boot: bootstrap resamples; ``seed``: their random generator's seed
            (the interval is a pure function of the inputs).

    Raises:
        ValueError: shapes differ, are empty, or hold NaN.
    """
    a, b = np.atleast_2d(np.asarray(a, dtype=np.float64)), np.atleast_2d(np.asarray(b, dtype=np.float64))
    if a.shape != b.shape or a.size == 0 or a.ndim != 2:
        raise ValueError(f"paired scores need equal non-empty shapes (images,) or (seeds, images); got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("paired scores hold NaN or infinity (e.g. the PSNR of identical images): "
                         "score every image of both methods first, and compare finite values only")
    diff = a - b
    n_seeds, n_images = diff.shape
    rng = np.random.default_rng(seed)
    img_idx = rng.integers(0, n_images, size=(n_boot, n_images))
    if n_seeds == 1:
        boots = diff[0][img_idx].mean(axis=1)
    else:
        seed_idx = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
        # Resample seeds and images independently: entry [k, i, j] = diff[seed_idx[k, i], img_idx[k, j]].
        boots = diff[seed_idx[:, :, None], img_idx[:, None, :]].mean(axis=(1, 2))
    tail = expanded_tail(level, n_images)
    low, high = np.quantile(boots, [tail, 1 - tail])
    better = -diff if lower_is_better else diff
    win_rate = float(((better > 0).sum() + 0.5 * (better == 0).sum()) / better.size)
    return PairedDifference(float(diff.mean()), float(low), float(high), win_rate, n_images, n_seeds, level)


def verdict(diff, claimed_sign: int) -> str:
    """The verdict on a claim that A - B has sign ``claimed_sign`` (+1: A higher, -1: A lower).

    ``diff``: a :class:`PairedDifference`, or a row (mapping) of
    :func:`compare_methods` with ``ci_low`` and ``ci_high``; ``None`` (no
    scores) is ``not tested``.
    """
    if claimed_sign not in (1, -1):
        raise ValueError("claimed_sign is +1 (A - B > 0) or -1 (A - B < 0)")
    if diff is None:
        return "not tested"
    low, high = (diff["ci_low"], diff["ci_high"]) if hasattr(diff, "__getitem__") else (diff.ci_low, diff.ci_high)
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"the interval [{low}, {high}] is not finite: no verdict can be drawn from it")
    if low > 0:
        return "reproduced" if claimed_sign > 0 else "contradicted"
    if high < 0:
        return "reproduced" if claimed_sign < 0 else "contradicted"
    return "within noise"


def floor_verdict(said: str, distance: float, floor: float) -> str:
    """A verdict read against a training-noise floor (in the metric's units): "reproduced" or "contradicted"
    becomes "within noise" where |``distance``| (the effect, or its distance to a claim's margin) does not
    exceed ``floor``.

    The one rule behind ``ablations`` (arms against LIIF) and
    ``claims.with_floor`` (one-model claims: LIIF's spread in PSNR,
    IPF's in every metric); a NaN floor (noise not measured) leaves the
    verdict as it is.

    Raises:
        ValueError: a "reproduced" or "contradicted" with a NaN ``distance``
            (a verdict without an effect to read).
    """
    if said in ("reproduced", "contradicted") and distance != distance:  # NaN: a verdict without an effect
        raise ValueError(f"a {said!r} verdict with no effect size to read against the floor")
    if said in ("reproduced", "contradicted") and floor == floor and abs(distance) <= floor:  # floor == floor: not NaN
        return "within noise"
    return said


def compare_methods(scores, metric: str, method_a: str, method_b: str, *, by: tuple[str, ...] = ("set", "scale"),
                    n_boot: int = 10000, seed: int = 0):
    """Paired differences A - B of ``metric`` per group of a long score table.

    Args:
        scores: DataFrame with columns ``method, seed, image`` and ``by`` and
            ``metric`` (one row per method x seed x image x group).
        by: the columns that define a comparison (default one per set and scale).

    Returns:
        DataFrame: ``by`` columns, ``a``, ``b``, ``metric``, and the fields of
        :class:`PairedDifference`. Images scored by only one of the two
        methods are left out of the pairing (``n_images`` says how many pair).
    """
    import pandas as pd

    lower = metric in LOWER_IS_BETTER
    rows = []
    if "set" in scores.columns and "set" not in by:
        # pair on (set, image): two sets may share an image name
        scores = scores.assign(image=scores["set"].astype(str) + "/" + scores["image"].astype(str))
    a_rows, b_rows = scores[scores["method"] == method_a], scores[scores["method"] == method_b]
    for key, a_group in a_rows.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        mask = np.ones(len(b_rows), dtype=bool)
        for col, value in zip(by, key):
            mask &= (b_rows[col] == value).to_numpy()
        b_group = b_rows[mask]
        if b_group.empty:
            continue
        for name, group in ((method_a, a_group), (method_b, b_group)):
            twice = group.duplicated(["seed", "image"])
            if twice.any():  # pivoting would average them into one silently wrong pair
                first = group[twice].iloc[0]
                raise ValueError(f"{name} has more than one {metric} row for seed {first['seed']}, image "
                                 f"{first['image']} in {dict(zip(by, key))}")
        a_wide = a_group.pivot_table(index="seed", columns="image", values=metric, aggfunc="mean")
        b_wide = b_group.pivot_table(index="seed", columns="image", values=metric, aggfunc="mean")
        images = a_wide.columns.intersection(b_wide.columns)
        seeds = a_wide.index.intersection(b_wide.index)
        if len(seeds) == 0:  # different seeds (e.g. bicubic has none): pair each seed of A with B's mean
            b_vals = np.broadcast_to(b_wide[images].mean(axis=0).to_numpy(), (len(a_wide), len(images)))
            a_vals = a_wide[images].to_numpy()
        else:
            a_vals, b_vals = a_wide.loc[seeds, images].to_numpy(), b_wide.loc[seeds, images].to_numpy()
        diff = paired_difference(a_vals, b_vals, lower_is_better=lower, n_boot=n_boot, seed=seed)
        rows.append({**dict(zip(by, key)), "a": method_a, "b": method_b, "metric": metric, **diff.as_dict()})
    return pd.DataFrame(rows)


def summary_against(scores, reference: str, metrics: tuple[str, ...] = ("psnr", "ssim", "stlpips"),
                    paired: tuple[str, ...] = ("psnr", "ssim", "stlpips"), extra: tuple[str, ...] = ("seconds",),
                    n_boot: int = 10000):
    """One row per method: means of ``metrics`` and ``extra``, and paired differences to ``reference``.

    ``scores`` is a long score table of one set-up (one scale); methods are
    paired with ``reference`` image by image. Columns ``Δ<metric> vs
    <reference>`` hold "delta [ci_low, ci_high]" text and ``wins (<metric>)``
    the fraction of images where the method is better than the reference.
    """
    import pandas as pd

    if scores["scale"].nunique() != 1:
        raise ValueError(f"summary_against takes one set-up; the table holds scales {sorted(scores['scale'].unique())}")
    cols = [c for c in (*metrics, *extra) if c in scores.columns]
    out = scores.groupby("method", sort=False)[cols].mean().reset_index()
    out.insert(1, "images", scores.groupby("method", sort=False)["image"].nunique().to_numpy())
    others = [m for m in out["method"] if m != reference]
    for metric in paired:
        parts = [compare_methods(scores, metric, m, reference, by=("scale",), n_boot=n_boot) for m in others]
        diffs = pd.concat(parts).set_index("a") if parts else None
        out[f"Δ{metric} vs {reference}"] = [
            "" if m == reference else f"{diffs.loc[m, 'delta']:+.3f} [{diffs.loc[m, 'ci_low']:+.3f}, {diffs.loc[m, 'ci_high']:+.3f}]"
            for m in out["method"]]
        out[f"wins ({metric})"] = [float("nan") if m == reference else float(diffs.loc[m, "win_rate"]) for m in out["method"]]
    return out
