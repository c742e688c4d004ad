"""Figures of the study (matplotlib). Notebooks call these; tests exercise them.

Images are uint8 (H, W, 3) arrays or float tensors (3, H, W) in [0, 1].
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def _as_array(img) -> np.ndarray:
    if hasattr(img, "detach"):
        img = (img.detach().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
    return np.asarray(img)


def image_grid(images: dict, box: tuple[int, int, int, int] | None = None, ncols: int | None = None, size: float = 3.0):
    """Show named images side by side; ``box`` = (y, x, h, w) crops each (in its own pixels)."""
    ncols = ncols or len(images)
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, img) in zip(axes.flat, images.items()):
        arr = _as_array(img)
        if box is not None:
            y, x, h, w = box
            arr = arr[y:y + h, x:x + w]
        ax.imshow(arr, interpolation="nearest")
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def difference_map(a, b, title: str = "", scale: float = 8.0):
    """Signed difference a - b (mean over channels), amplified by ``scale``, with a colour bar in 8-bit levels."""
    diff = _as_array(a).astype(np.float64).mean(-1) - _as_array(b).astype(np.float64).mean(-1)
    fig, ax = plt.subplots(figsize=(5, 4))
    lim = max(1.0, np.abs(diff).max() / scale * 4)
    im = ax.imshow(diff, cmap="coolwarm", vmin=-lim, vmax=lim)
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label="difference (8-bit levels)")
    return fig


def _plot_training(loss_ax, val_ax, log: Sequence[dict], name: str = "") -> None:
    losses = [(r["step"], r["loss"]) for r in log if "loss" in r]
    vals = [(r["step"], r["val_psnr"]) for r in log if "val_psnr" in r]
    if losses:
        loss_ax.plot(*zip(*losses))
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel(f"{name} training loss".strip())
    loss_ax.set_yscale("log")
    if vals:
        val_ax.plot(*zip(*vals), "o-")
    val_ax.set_xlabel("step")
    val_ax.set_ylabel("validation PSNR (dB)")


def training_curves(log: Sequence[dict], title: str = ""):
    """Loss (left) and validation PSNR (right) against the step, from a training log."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.5))
    _plot_training(a, b, log)
    a.set_ylabel("L1 loss ([-1, 1] units)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def training_curves_grid(logs: dict[str, Sequence[dict]], title: str = ""):
    """One row per run: its training loss (left, log scale, in that run's own loss) and validation PSNR (right).

    ``logs``: name -> training log (``engine.read_stored_log``). Losses of
    different runs are in different units (L1, perceptual + adversarial), so
    each row has its own axes.
    """
    fig, axes = plt.subplots(len(logs), 2, figsize=(11, 2.6 * len(logs)), squeeze=False)
    for (name, log), (a, b) in zip(logs.items(), axes):
        _plot_training(a, b, log, name)
        b.set_title(name, fontsize=9, loc="left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def difference_vs_scale(diffs: pd.DataFrame, ylabel: str, paper: dict[float, float] | None = None,
                        paper_label: str = "paper"):
    """Paired differences against the scale, one line per set, with their 95 % intervals as bars.

    ``diffs``: columns ``set, scale, delta, ci_low, ci_high`` (e.g.
    ``headline.paired_by_scale`` or ``headline.gap_by_scale``); ``paper``:
    {scale: the published difference}, drawn as a dashed second series.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4))
    sets = list(dict.fromkeys(diffs["set"]))
    for k, (name, part) in enumerate(diffs.groupby("set", sort=False)):
        part = part.sort_values("scale")
        # a small horizontal offset per set keeps overlapping bars readable on the log axis
        x = part["scale"] * (1 + 0.025 * (k - (len(sets) - 1) / 2))
        ax.errorbar(x, part["delta"], yerr=[part["delta"] - part["ci_low"], part["ci_high"] - part["delta"]],
                    fmt="o-", capsize=2, ms=4, label=name, color=set_colour(name))
    if paper:
        xs = sorted(paper)
        ax.plot(xs, [paper[x] for x in xs], "k--", marker="s", ms=4, label=paper_label)
    ax.axvspan(1, 4, color="0.92", zorder=0, label="training scales")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xscale("log")
    ticks = sorted(set(diffs["scale"]) | set(paper or {}))
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"x{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("scale")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# One colour per method in every figure of the study (issue: a reader should
# recognise a method by its colour across notebooks).
METHOD_COLOURS = {"bicubic": "#7f7f7f", "SRCNN": "#8c564b", "SRResNet": "#9467bd", "SRGAN": "#e377c2",
                  "MetaSR": "#ff7f0e", "LIIF": "#1f77b4", "IPF": "#2ca02c"}
# ... and one per test set, none of them a method's colour (black is kept for the papers' curves).
SET_COLOURS = {"Set5": "#17becf", "Set14": "#bcbd22", "B100": "#393b79", "Urban100": "#843c39", "Kodak24": "#637939",
               "benchmarks": "#8c6d31"}


def set_colour(name: str) -> str | None:
    """A test set's colour; pooled sets ("Set5+Set14+B100", "benchmarks ...") share the benchmarks' colour."""
    name = str(name)
    if name in SET_COLOURS:
        return SET_COLOURS[name]
    return SET_COLOURS["benchmarks"] if "+" in name or name.startswith(("benchmarks", "pooled")) else None


def contact_sheet(rows: Sequence[tuple[str, dict]], crop: tuple[int, int, int, int] | None = None,
                  input_scale: int | None = None, size: float = 2.2):
    """A grid of images, one row per test image: ``rows = [(row label, {column title: image}), ...]``.

    The first column is the input. With ``crop = (y, x, h, w)`` (in output
    pixels) every other column shows that region at 1:1, and the input is
    shown whole with the region outlined (``crop / input_scale`` in its
    pixels), so a reader sees where the crop is. Pixels are drawn
    nearest-neighbour. Titles carry whatever the caller puts in them (the
    per-image scores).
    """
    from matplotlib.patches import Rectangle

    ncols = max(len(images) for _, images in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(size * ncols, size * len(rows) + 0.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for r, (label, images) in enumerate(rows):
        for c, (title, img) in enumerate(images.items()):
            ax, arr = axes[r, c], _as_array(img)
            if crop is not None and c > 0:
                y, x, h, w = crop
                arr = arr[y:y + h, x:x + w]
            ax.imshow(arr, interpolation="nearest", cmap="gray" if arr.ndim == 2 else None)
            if crop is not None and c == 0 and input_scale:
                y, x, h, w = (v / input_scale for v in crop)
                ax.add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, edgecolor="yellow", linewidth=1.2))
            ax.set_title(title, fontsize=7)
        axes[r, 0].text(-0.06, 0.5, label, transform=axes[r, 0].transAxes, rotation=90, ha="right", va="center", fontsize=7)
    fig.tight_layout()
    return fig


def loss_terms(log: Sequence[dict], terms: Sequence[str], title: str = "", smooth: int = 1):
    """Each named term of a training log against the step, one small panel per term.

    ``smooth`` > 1 overlays a running mean over that many log points (the raw
    values stay visible: adversarial terms are noisy by nature).
    """
    terms = [t for t in terms if any(t in r for r in log)]
    ncols = min(4, max(1, len(terms)))
    nrows = -(-len(terms) // ncols) or 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.5 * nrows), squeeze=False)
    for ax in axes.flat[len(terms):]:
        ax.axis("off")
    for ax, term in zip(axes.flat, terms):
        steps, values = zip(*[(r["step"], r[term]) for r in log if term in r])
        ax.plot(steps, values, lw=0.8, alpha=0.5 if smooth > 1 else 1.0)
        if smooth > 1 and len(values) >= smooth:
            kernel = np.ones(smooth) / smooth
            ax.plot(steps[smooth - 1:], np.convolve(values, kernel, mode="valid"), lw=1.5)
        ax.set_title(term, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def perception_distortion(table: pd.DataFrame, x: str, ys: Sequence[str], label: str = "method", group: str = "scale"):
    """The perception-distortion plane: ``x`` (e.g. PSNR) against each of ``ys`` (e.g. ST-LPIPS, NIQE).

    ``table`` holds one row per method and ``group`` value (means); a point per
    row, coloured by method (``METHOD_COLOURS``, grey shades for others) and
    marked by group, so a reader sees where each method sits at each scale.
    """
    markers = "osD^v<>p*h"
    groups = list(dict.fromkeys(table[group]))
    fig, axes = plt.subplots(1, len(ys), figsize=(5.2 * len(ys), 4.2), squeeze=False)
    extra = iter(["#17becf", "#bcbd22", "#d62728", "#393b79", "#637939"])
    colours = {m: METHOD_COLOURS.get(m) or next(extra, "#000000") for m in dict.fromkeys(table[label])}
    for ax, y in zip(axes[0], ys):
        for _, row in table.iterrows():
            ax.scatter(row[x], row[y], color=colours[row[label]], marker=markers[groups.index(row[group]) % len(markers)], s=40)
        ax.set_xlabel(x)
        ax.set_ylabel(f"{y} (lower is better)")
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], color=c, marker="o", ls="", label=m) for m, c in colours.items()]
    handles += [plt.Line2D([], [], color="k", marker=markers[i % len(markers)], ls="", label=f"{group} {g:g}" if isinstance(g, float) else f"{group} {g}")
                for i, g in enumerate(groups)]
    axes[0][-1].legend(handles=handles, fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def delta_vs_scale(effects: pd.DataFrame, set_name: str, methods: Sequence[str], reference: str = "LIIF",
                   separate: Sequence[str] = ()):
    """Each method's paired PSNR difference to ``reference`` against the scale, with its 95 % interval,
    and the paper's difference as a second (dashed) series; one panel per method.

    ``effects``: rows of ``ablations.effect_table`` (``method, set, scale,
    delta, ci_low, ci_high, paper_delta``). ``separate``: methods whose
    points are separate networks (e.g. one fixed-scale network per scale):
    markers only, no line suggesting one model's trend.
    """
    methods = [m for m in methods if m in set(effects["method"])] or list(methods)[:1]
    fig, axes = plt.subplots(1, len(methods), figsize=(4.4 * len(methods), 3.6), squeeze=False, sharey=True)
    for ax, method in zip(axes[0], methods):
        part = effects[(effects["set"] == set_name) & (effects["method"] == method)].sort_values("scale")
        if len(part) and part["delta"].notna().any():
            err = [part["delta"] - part["ci_low"], part["ci_high"] - part["delta"]]
            seeds = int(part["paired_seeds"].min()) if "paired_seeds" in part and part["paired_seeds"].notna().any() else 0
            label = "ours (95 % CI" + (f", {seeds} paired seed{'s' if seeds != 1 else ''})" if seeds else ")")
            ax.errorbar(part["scale"], part["delta"], yerr=err, fmt="o" if method in separate else "o-", capsize=3,
                        label=label)
        if len(part) and part["paper_delta"].notna().any():
            p = part.dropna(subset=["paper_delta"])
            ax.plot(p["scale"], p["paper_delta"], "s" if method in separate else "s--", color="0.4", label="paper (DIV2K)")
        ax.axhline(0, color="k", lw=0.8)
        ax.axvspan(1, 4, color="0.93", zorder=0)
        ax.set_xscale("log")
        ticks = sorted(part["scale"].unique()) if len(part) else [2, 4]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"x{t:g}" for t in ticks], fontsize=7, rotation=60)  # x2, x2.5, x3 sit close on a log axis
        ax.minorticks_off()
        ax.set_title(f"{method} - {reference}", fontsize=9)
        ax.set_xlabel("scale")
    axes[0][0].set_ylabel(f"PSNR difference (dB), {set_name}")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig
