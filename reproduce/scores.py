"""Per-image score tables: the source of every table, committed, and checked by recomputing a sample.

A score table (``results/scores/<notebook>.csv``) has one row per method x
seed x set x image x scale, columns :data:`SCORE_COLUMNS` plus metric columns
(``stlpips``, ``seconds``, ...); ``seed`` is -1 for methods without one
(bicubic). A full evaluation writes it with a provenance sidecar; the
``report`` profile then recomputes a fixed random sample of its rows and
stops with an error if any recomputed value differs from the committed one
beyond :data:`TOLERANCE`, before rendering the tables from the committed
scores. A reader can thus trust the full table while ``make reproduce``
pays for a sample.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from .errors import ReproduceError
from .fileio import write_text_atomic

SCORE_COLUMNS = ("method", "seed", "set", "image", "scale", "psnr", "ssim")
# Largest accepted |recomputed - committed| per metric. bf16 matmuls round
# differently on CPUs with and without AMX (and on GPUs), which moves a
# per-image PSNR by up to a few hundredths of a dB and ST-LPIPS in the fourth
# decimal; differences beyond these mean the code, data or weights changed.
TOLERANCE = {"psnr": 0.05, "ssim": 5e-4, "stlpips": 2e-3}


def fixed_sample(names: Iterable[str], n: int, seed: int = 0, always: Iterable[str] = ()) -> list[str]:
    """``n`` names drawn without replacement by a seeded generator, plus ``always`` (sorted, unique).

    The draw depends only on the sorted names, ``n`` and ``seed``, so every
    run recomputes the same images.
    """
    pool = sorted(set(names))
    always = sorted(set(always) & set(pool))
    rest = [x for x in pool if x not in always]
    k = max(0, min(n - len(always), len(rest)))
    drawn = np.random.default_rng(seed).choice(len(rest), size=k, replace=False) if k else []
    return sorted(set(always) | {rest[i] for i in drawn})


def write_scores(scores: pd.DataFrame, path: str | Path, provenance: dict) -> Path:
    """Write a score table (CSV) and ``<stem>.provenance.json`` beside it, atomically."""
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ValueError(f"score table lacks column(s) {', '.join(missing)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = list(SCORE_COLUMNS) + [c for c in scores.columns if c not in SCORE_COLUMNS]
    write_text_atomic(path, scores[ordered].to_csv(index=False, float_format="%.6g"))
    write_text_atomic(path.with_suffix(".provenance.json"), json.dumps(provenance, indent=2, default=str) + "\n")
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    """A score table's CSV as written: names as text, metrics as numbers, seeds int and scales float."""
    # Names stay text: B100's ids must not become numbers, nor an image called "NA" a missing value.
    table = pd.read_csv(path, dtype={"image": str, "set": str, "method": str}, keep_default_na=False,
                        na_values={c: ["", "nan", "NaN"] for c in ("psnr", "ssim", "stlpips", "niqe", "seconds")})
    # "2" in the file is the scale 2.0 (pairs and merges compare scales as floats)
    return table.astype({c: t for c, t in (("seed", int), ("scale", float)) if c in table.columns})


def read_scores(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """A committed score table and its provenance.

    Raises:
        ReproduceError: the file is missing (run the notebook with the full
            evaluation first) or lacks the score columns.
    """
    path = Path(path)
    if not path.is_file():
        raise ReproduceError(f"no committed scores at {path}: run the notebook with scores='full' once to make them")
    scores = read_table(path)
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ReproduceError(f"{path} is not a score table (no {', '.join(missing)} column)")
    side = path.with_suffix(".provenance.json")
    return scores, (json.loads(side.read_text()) if side.is_file() else {})


def compare_recomputed(committed: pd.DataFrame, recomputed: pd.DataFrame,
                       tolerance: dict[str, float] | None = None) -> pd.DataFrame:
    """Check recomputed rows against the committed ones.

    Returns:
        one row per metric: ``metric, rows, max_abs_diff, tolerance``.

    Raises:
        ReproduceError: a recomputed row has no committed counterpart, or a
            metric differs beyond its tolerance (the message names the worst
            row).
    """
    tolerance = {**TOLERANCE, **(tolerance or {})}
    key = ["method", "seed", "set", "image", "scale"]
    merged = recomputed.merge(committed, on=key, how="left", suffixes=("", "_committed"), indicator=True)
    unmatched = merged[merged["_merge"] != "both"]
    if len(unmatched):
        first = unmatched.iloc[0]
        raise ReproduceError(f"{len(unmatched)} recomputed row(s) are not in the committed scores, e.g. "
                             f"{first['method']} {first['set']}/{first['image']} x{first['scale']:g}")
    report = []
    for metric, tol in tolerance.items():
        if metric not in recomputed.columns or f"{metric}_committed" not in merged.columns:
            continue
        ours, theirs = merged[metric], merged[f"{metric}_committed"]
        mismatch = ours.isna() != theirs.isna()
        if mismatch.any():
            row = merged[mismatch].iloc[0]
            raise ReproduceError(f"{metric} of {row['method']} on {row['set']}/{row['image']} x{row['scale']:g} is "
                                 f"{row[metric]} now and {row[f'{metric}_committed']} in the committed scores")
        diff = (ours - theirs).abs()
        if diff.notna().sum() == 0:
            continue
        worst = diff.idxmax()
        report.append({"metric": metric, "rows": int(diff.notna().sum()), "max_abs_diff": float(diff.max()), "tolerance": tol})
        if diff.max() > tol:
            row = merged.loc[worst]
            raise ReproduceError(f"recomputed {metric} of {row['method']} on {row['set']}/{row['image']} x{row['scale']:g} is "
                                 f"{row[metric]:.5f}, committed {row[f'{metric}_committed']:.5f} (|diff| {diff.max():.5f} > "
                                 f"tolerance {tol}): code, data or weights changed; rerun the full evaluation")
    return pd.DataFrame(report)


def score_methods(names: Iterable[str], outputs: dict[str, Path], gt_dir: Path, metrics: dict[str, Callable],
                  lpips=None) -> list[dict]:
    """Score every method's output files against the ground-truth files, image by image.

    Args:
        names: image names; the files are ``<folder>/<name>.png``.
        outputs: method -> folder of its outputs; ``gt_dir``: folder of the ground truths.
        metrics: name -> ``fn(sr, hr)`` on (3, H, W) float tensors in [0, 1].
        lpips: an ST-LPIPS model (``perceptual.load_stlpips``), or None. Its
            ``stlpips`` column reuses the ground truth's features for every
            method (the trunk on a large image is the cost; the distance is
            the same as ``lpips(sr, hr)``).

    Returns:
        ``{"method", "image", <metric>: value, ..., "stlpips"}`` per method and image.
    """
    import torch

    from .data import read_image, to_tensor

    rows = []
    for name in names:
        hr = to_tensor(read_image(Path(gt_dir) / f"{name}.png"))
        with torch.no_grad():
            hr_feats = lpips.features(hr.unsqueeze(0)) if lpips is not None else None
        for method, folder in outputs.items():
            path = Path(folder) / f"{name}.png"
            sr = to_tensor(read_image(path))
            if sr.shape != hr.shape:
                raise ReproduceError(f"{path} is {tuple(sr.shape[1:])}, its ground truth {tuple(hr.shape[1:])}")
            row = {"method": method, "image": name, **{k: float(fn(sr, hr)) for k, fn in metrics.items()}}
            if lpips is not None:
                with torch.no_grad():
                    row["stlpips"] = float(lpips.compare_features(lpips.features(sr.unsqueeze(0)), hr_feats).sum())
            rows.append(row)
    return rows
