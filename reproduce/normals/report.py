"""Tables and claims of the normal-map study, from the per-object rows of ``normals.evaluate``."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..claims import ClaimResult, paired_claim
from ..stats import paired_difference, verdict

# results/normals.csv: the columns first, then ours.
CSV_COLUMNS = ["method", "scale", "fold", "object", "mean_angle", "median_angle", "within_11_25", "psnr", "made_mm",
               "within_5", "within_22_5", "made_detail_mm", "detail_ratio", "seconds"]

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


def smoothness_sentence(result: ClaimResult) -> str:
    """One Markdown line for a :func:`smoothness_claim` (the ratio, its interval, how many objects are smoother)."""
    if result.verdict == "not tested":
        return f"* {result.claim}: **not tested** ({result.scope})."
    return (f"* {result.claim} ({result.scope}): detail energy ratio − 1 = {result.delta:+.3f} "
            f"[{result.ci_low:+.3f}, {result.ci_high:+.3f}]; smoother than the truth on {result.win_rate:.0%} of "
            f"{result.n_images} objects: **{result.verdict}**.")


def smoothness_claim(rows: pd.DataFrame, method: str, scale: int) -> ClaimResult:
    """"``method``'s output is smoother than the true surface": detail energy ratio (output / ground truth) below 1.

    Tested as the mean of (ratio - 1) over objects with a bootstrap interval;
    reproduced when the whole interval is below 0.
    """
    group = rows[(rows["method"] == method) & (rows["scale"] == scale)]
    claim = f"{method} at x{scale} is smoother than the true surface (detail energy ratio < 1)"
    scope = f"x{scale}, held-out objects"
    if group.empty:
        return ClaimResult(claim, method, "ground truth", "detail_ratio", f"{scope}; no scores", None, None, None, None, 0, "not tested")
    ratio = group["detail_ratio"].to_numpy()
    diff = paired_difference(ratio, np.ones_like(ratio), lower_is_better=True)
    return ClaimResult(claim, method, "ground truth", "detail_ratio - 1", scope, diff.delta, diff.ci_low, diff.ci_high,
                       diff.win_rate, diff.n_images, verdict(diff, -1))
