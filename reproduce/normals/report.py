"""Tables and claims of the normal-map study, from the per-object rows of ``normals.evaluate``."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..claims import ClaimResult, paired_claim
from ..stats import paired_difference, verdict

# results/normals.csv: the columns first, then ours.
CSV_COLUMNS = ["method", "scale", "fold", "object", "mean_angle", "median_angle", "within_11_25", "psnr", "made_mm",
               "within_5", "within_22_5", "made_detail_mm", "detail_ratio", "gt_detail_energy", "seconds"]

# Published reference for the integrator check: MADE (mm) of bilateral normal
# integration (BiNI, Cao et al., ECCV 2022; k = 2, perspective) on the same
# DiLiGenT ground-truth normal maps, as printed by the official code's
# evaluation script (evaluation_diligent.py, scale = median(gt / estimate))
# and logged in that repository's optimization_log.md (xucao-42/
# bilateral_normal_integration, commit 0684184). The paper's Fig. 7 reports
# the same evaluation; the README notes its numbers may differ slightly.
BINI_MADE_MM = {"bear": 0.334, "buddha": 1.098, "cat": 0.074, "cow": 0.058, "goblet": 9.018, "harvest": 1.838,
                "pot1": 0.635, "pot2": 0.220, "reading": 0.257}
BINI_SOURCE = ("BiNI (Cao et al., ECCV 2022), official implementation's DiLiGenT evaluation, "
               "xucao-42/bilateral_normal_integration optimization_log.md")


def as_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows in the long layout of ``reproduce.stats`` (``image`` = object, one model per fold: ``seed`` 0)."""
    out = rows.copy()
    out["image"] = out["object"]
    out["seed"] = 0
    return out


def summary(rows: pd.DataFrame, metrics: tuple[str, ...] = ("mean_angle", "median_angle", "within_11_25", "psnr",
                                                            "made_mm", "detail_ratio")) -> pd.DataFrame:
    """Per method and scale: the mean over objects of each metric, and its fold-to-fold spread.

    ``<metric>_fold_sd`` is the standard deviation over folds of the per-fold
    means (NaN with one fold); ``objects`` counts the objects behind the mean
    (objects without depth have no MADE, so that column may rest on fewer).
    """
    out = []
    for (method, scale), group in rows.groupby(["method", "scale"], sort=False):
        record = {"method": method, "scale": scale, "objects": group["object"].nunique()}
        for metric in metrics:
            values = group[metric].replace([np.inf, -np.inf], np.nan)
            record[metric] = values.mean()
            fold_means = values.groupby(group["fold"]).mean().dropna()
            record[f"{metric}_fold_sd"] = fold_means.std(ddof=1) if len(fold_means) > 1 else np.nan
        out.append(record)
    return pd.DataFrame(out)


def compare(rows: pd.DataFrame, a: str, b: str, metric: str, scale: int, claim: str | None = None) -> ClaimResult:
    """"``a`` is better than ``b``" on ``metric`` at ``scale``, paired over the objects that have the metric."""
    at = as_scores(rows[(rows["scale"] == scale) & np.isfinite(rows[metric])])
    return paired_claim(at, a, b, metric, claim=claim, scope=f"x{scale}, held-out objects, one model per fold")


# Objects whose true surface has almost no fine detail (a detail energy below
# this many degrees, e.g. the ball) are left out of the smoothness claim: a
# ratio of two near-zero energies says nothing about smoothing.
MIN_DETAIL_ENERGY = 1.0


def smoothness_sentence(result: ClaimResult) -> str:
    """One Markdown line for a :func:`smoothness_claim` (geometric-mean ratio, its interval, share of smoother objects)."""
    if result.verdict == "not tested":
        return f"* {result.claim}: **not tested** ({result.scope})."
    ratio = lambda v: f"{np.exp(v):.2f}"  # noqa: E731
    return (f"* {result.claim} ({result.scope}): geometric-mean detail energy ratio {ratio(result.delta)} "
            f"[{ratio(result.ci_low)}, {ratio(result.ci_high)}]; smoother than the truth on {result.win_rate:.0%} of "
            f"{result.n_images} objects: **{result.verdict}**.")


def smoothness_claim(rows: pd.DataFrame, method: str, scale: int, min_energy: float = MIN_DETAIL_ENERGY) -> ClaimResult:
    """"``method``'s output is smoother than the true surface": log detail energy ratio (output / truth) below 0.

    Per object the log of ``detail_ratio`` (so a ratio of 2 and one of 1/2
    weigh the same), over the objects whose true detail energy
    (``gt_detail_energy``, degrees) is at least ``min_energy``; the mean with a
    bootstrap interval, reproduced when the whole interval is below 0.
    """
    group = rows[(rows["method"] == method) & (rows["scale"] == scale)]
    left_out = group[group["gt_detail_energy"] < min_energy]["object"].tolist()
    group = group[group["gt_detail_energy"] >= min_energy]
    claim = f"{method} at x{scale} is smoother than the true surface"
    scope = f"x{scale}, held-out objects with detail energy >= {min_energy:g} deg" + (f" (left out: {', '.join(left_out)})" if left_out else "")
    if group.empty:
        return ClaimResult(claim, method, "ground truth", "log detail ratio", f"{scope}; no scores", None, None, None, None, 0, "not tested")
    log_ratio = np.log(group["detail_ratio"].to_numpy())
    diff = paired_difference(log_ratio, np.zeros_like(log_ratio), lower_is_better=True)
    return ClaimResult(claim, method, "ground truth", "log detail ratio", scope, diff.delta, diff.ci_low, diff.ci_high,
                       diff.win_rate, diff.n_images, verdict(diff, -1))


def detail_depth_sentence(result: ClaimResult) -> str:
    """One Markdown line for a :func:`detail_depth_claim`."""
    if result.verdict == "not tested":
        return f"* {result.claim}: **not tested** ({result.scope})."
    return (f"* {result.claim} ({result.scope}): high-detail minus overall depth error {result.delta:+.3f} mm "
            f"[{result.ci_low:+.3f}, {result.ci_high:+.3f}]; larger on the high-detail pixels for {result.win_rate:.0%} of "
            f"{result.n_images} objects: **{result.verdict}**.")


def detail_depth_claim(rows: pd.DataFrame, method: str, scale: int) -> ClaimResult:
    """"``method``'s depth error is larger on high-detail pixels than overall": made_detail_mm - made_mm, paired over objects."""
    group = rows[(rows["method"] == method) & (rows["scale"] == scale)].dropna(subset=["made_mm", "made_detail_mm"])
    claim = f"{method} at x{scale}: the depth error is larger on the high-detail pixels than overall"
    scope = f"x{scale}, held-out objects with depth"
    if group.empty:
        return ClaimResult(claim, method, "all pixels", "made_detail_mm - made_mm", f"{scope}; no scores", None, None, None, None, 0, "not tested")
    diff = paired_difference(group["made_detail_mm"].to_numpy(), group["made_mm"].to_numpy())
    return ClaimResult(claim, method, "all pixels", "made_detail_mm - made_mm", scope, diff.delta, diff.ci_low, diff.ci_high,
                       diff.win_rate, diff.n_images, verdict(diff, 1))
