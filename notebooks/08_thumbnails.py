# %% [markdown]
# # 08 · Application: ×8 upscaling of 100×100 thumbnails
#
# **Question.** One of the study's source reports asks for a concrete use:
# a 100×100 thumbnail upscaled ×8 to 800×800. Which of bicubic, SRCNN,
# MetaSR, LIIF and IPF gives the best 800×800 image, by how
# much, and at what cost per image on this CPU?
#
# **Answer** (computed at the end of the notebook): see the closing section;
# every difference there is a paired mean over the same test images with a
# 95 % bootstrap interval, over all of them and over the native ground
# truths alone.
#
# * **Test images, chosen by rule** (`reproduce/thumbnails.py`): among the
#   photographs no model of the study trains on (Urban100 and SunHays80;
#   every checkpoint trained on T91 + BSD200, checked below from the
#   checkpoints themselves), the `n_thumbnails` with the largest shorter
#   side. An image whose shorter side is at least 800 px gives its centred
#   800×800 crop (*native* ground truth); the others give their largest
#   centred square resized to 800×800 with MATLAB bicubic (*resized*: a
#   slight up-scaling, which softens that ground truth; how many of each and
#   by how much is computed below). Few photographs here are that large, so
#   most ground truths are resized: the tables report both groups, and the
#   closing section tests every claim on the native group alone too.
# * **Thumbnails**: the 800×800 ground truth reduced ×8 with the
#   MATLAB-compatible `imresize` (antialiased, 8-bit), as a thumbnail
#   generator would make it; written as PNG.
# * **Upscaling** goes through the batch command's engine
#   (`reproduce.upscale_files.upscale_files`, what `reproduce upscale
#   DIR --scale 8 -o OUT` runs): one model load, 8-bit PNG outputs, exactly
#   what a user gets. Scores are computed on those 8-bit files.
# * **Metrics**: PSNR and SSIM on Y with an 8-pixel border shaved (the
#   benchmark protocol at ×8) and ST-LPIPS (alex) on the whole RGB image
#   (lower is better; not comparable with LPIPS numbers in papers).

# %% tags=["parameters"]
profile = "report"                                   # parameter profile (set by `reproduce run`)
scores = "sample"                                    # "full": score every image; "extend": keep committed rows of unchanged weights, score the rest; "sample": recompute a fixed sample and check it against the committed scores
sample_size = 12                                     # random images recomputed in "sample" mode, in addition to the contact-sheet images
thumbnail_sets = ["Urban100", "SunHays80"]           # photographs no model trains on
n_thumbnails = 100                                   # number of test images
gt_size = 800                                        # ground-truth side (pixels)
thumb_scale = 8                                      # ratio of ground-truth side to thumbnail side
checkpoint_dir = "results/checkpoints"               # SRCNN and MetaSR weights
networks = ["SRCNN", "MetaSR", "LIIF", "IPF"]        # networks scored beside bicubic (a new one: run once with scores "extend")
liif_checkpoint = "results/checkpoints/edsr-baseline-liif.pt"  # our LIIF
bf16 = False                                         # fp32: scores independent of the CPU's bf16 hardware (bf16 convolutions are slower than fp32 without AMX / AVX-512 BF16)
require_held_out = True                              # refuse a model whose training data include a test set
sheet_count = 6                                      # images in the contact sheet
work_dir = "runs/thumbnails"                         # thumbnails, ground truths and outputs (not committed)
scores_dir = "results/scores"                        # committed per-image scores
results_dir = "results"                              # where tables go
figures_dir = "figures"                              # where figures go

# %%
# Run from the repository root whatever the working directory (Jupyter opens notebooks in notebooks/).
from reproduce.paths import enter_repository_root
enter_repository_root()

from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from reproduce.data import read_image
from reproduce.evaluate import file_digest
from reproduce.figures import contact_sheet
from reproduce.metrics import psnr, ssim
from reproduce.models import load, load_checkpoint
from reproduce.report import Run, markdown_table, save_figure, save_table
from reproduce.perceptual import load_stlpips
from reproduce.scores import carried_rows, check_mode, fixed_sample, images_left, score_methods, settle_scores, with_carried
from reproduce.claims import paired_claim
from reproduce.stats import summary_against
from reproduce.thumbnails import choose_sources, write_pairs
from reproduce.upscale_files import Job, upscale_files

check_mode(scores)
CHECKPOINTS = {"SRCNN": Path(checkpoint_dir) / "srcnn.pt", "MetaSR": Path(checkpoint_dir) / "edsr-baseline-metasr.pt",
               "LIIF": Path(liif_checkpoint), "IPF": Path(checkpoint_dir) / "ipf.pt"}
CHECKPOINTS = {name: path for name, path in CHECKPOINTS.items() if name in networks}
scores_path = Path(scores_dir) / "08_thumbnails.csv"
run = Run("08_thumbnails", profile, bf16=bf16, scores=scores)
display(Markdown(run.markdown()))

# %% [markdown]
# ## The test images
#
# The rule above, applied; the table lists every image with its source size
# and how its ground truth was made.

# %%
thumbs = choose_sources(thumbnail_sets, n_thumbnails, gt_size)
images = pd.DataFrame([t.as_dict() for t in thumbs])
save_table(images, "thumbnails_images", results_dir, run)
groups = images.groupby(["set", "ground_truth"]).size().rename("images").reset_index()
display(Markdown(markdown_table(groups)))
n_native, n_resized = (images["ground_truth"] == "native").sum(), (images["ground_truth"] == "resized").sum()
display(Markdown(f"Shorter sides from {images['square'].min()} to {images['square'].max()} px: **{n_native} native** and "
                 f"**{n_resized} resized** ground truths (resized by at most ×{gt_size / images['square'].min():.3f})."))

# %% [markdown]
# ## The models, and what they were trained on
#
# A method without a checkpoint is listed as missing and left out of every
# table (nothing is filled in for it). The check below reads each
# checkpoint's own training configuration: a model that saw one of the test
# sets is refused here, and one without a training record is marked
# "unverified".

# %%
models, budget = {}, []
for name, path in CHECKPOINTS.items():
    if not path.is_file():
        budget.append({"method": name, "checkpoint": str(path), "status": "missing (not trained yet)"})
        continue
    ckpt = load_checkpoint(path)
    trained_on = (ckpt.get("config") or {}).get("train", {}).get("datasets")
    if require_held_out and trained_on and set(trained_on) & set(thumbnail_sets):
        raise ValueError(f"{name} was trained on {trained_on}, which overlaps the test sets {thumbnail_sets}")
    budget.append({"method": name, "checkpoint": str(path), "status": "loaded", "sha256": file_digest(path)[:16],
                   "trained on": "+".join(trained_on) if trained_on else "no training record: held-out status unverified",
                   "steps": str(ckpt.get("step"))})
    models[name] = load(path)
budget = pd.DataFrame(budget)
display(Markdown(markdown_table(budget)))
methods = {"bicubic": "bicubic", **models}
missing = [b["method"] for b in budget.to_dict("records") if b["status"].startswith("missing")]

# %% [markdown]
# ## Upscaling and scoring
#
# In `full` mode every image is upscaled by every method and scored; the
# per-image scores are written to `results/scores/08_thumbnails.csv` (with
# the checkpoints' SHA-256 and this run's provenance). In `sample` mode (the
# `report` profile) a fixed random sample of images, plus the contact-sheet
# images, is recomputed and checked against those committed scores within
# the tolerances of `reproduce.scores.TOLERANCE` (the networks run in fp32
# here, so only float summation order differs between CPUs); the tables
# below are then read from the committed file. In `extend` mode (to add a
# network, e.g. IPF) the committed rows of unchanged weights are kept and
# only the missing ones are computed, plus the contact-sheet images of every
# method (their outputs are shown), whose scores are checked against the
# carried ones; the table's provenance records which run computed which
# rows. Either way the cell says which.

# %%
names = [t.name for t in thumbs]
sheet_names = [names[i] for i in np.linspace(0, len(names) - 1, min(sheet_count, len(names))).round().astype(int)]
base = fixed_sample(names, sample_size + len(sheet_names), seed=0, always=sheet_names) if scores == "sample" else names
seed_of = {m: -1 if m == "bicubic" else 0 for m in methods}
digests = {m: {"path": str(CHECKPOINTS[m]), "sha256": file_digest(CHECKPOINTS[m])} for m in models}
carried = carried_rows(scores_path, digests) if scores == "extend" else None
todo_of = {m: images_left(carried, m, seed_of[m], base, always=sheet_names) for m in methods}
chosen = [t for t in thumbs if any(t.name in todo for todo in todo_of.values())]
gt_dir, lr_dir = write_pairs(chosen, Path(work_dir), gt_size, thumb_scale)
outputs, parts = {}, []
metrics = {"psnr": lambda sr, hr: psnr(sr, hr, "benchmark-y", thumb_scale),
           "ssim": lambda sr, hr: ssim(sr, hr, "benchmark-y", thumb_scale)}
lpips = load_stlpips("alex")
for name, method in methods.items():
    todo = todo_of[name]
    outputs[name] = Path(work_dir) / "outputs" / name
    outputs[name].mkdir(parents=True, exist_ok=True)
    results = upscale_files(method, [Job(lr_dir / f"{n}.png", outputs[name] / f"{n}.png") for n in todo],
                            scale=thumb_scale, bf16=bf16)
    failed = [r for r in results if r.error]
    if failed:
        raise RuntimeError(f"{name}: {failed[0].job.source}: {failed[0].error}")
    seconds = pd.DataFrame([{"method": name, "image": r.job.source.stem, "seconds": r.seconds} for r in results])
    scored = pd.DataFrame(score_methods(todo, {name: outputs[name]}, gt_dir, metrics, lpips=lpips))
    parts.append(scored.merge(seconds, on=["method", "image"]))
    print(f"{name:<8} {len(todo)} images, {seconds['seconds'].mean():.2f} s per image")
fresh = pd.concat(parts, ignore_index=True)  # the rows scored (and timed) in this run
fresh.insert(1, "seed", [seed_of[m] for m in fresh["method"]])
fresh.insert(4, "scale", float(thumb_scale))
info = images.set_index("name")
fresh.insert(2, "set", [info.loc[n, "set"] for n in fresh["image"]])
fresh["ground_truth"] = [info.loc[n, "ground_truth"] for n in fresh["image"]]
computed, overlap = (with_carried(carried, fresh, seed_of.items()) if carried is not None else (fresh, None))
if overlap is not None and len(overlap):
    display(Markdown("Contact-sheet images recomputed for methods with carried scores, against the carried rows:\n\n"
                     + markdown_table(overlap, ".5f")))

# %%
settled = settle_scores(scores, computed, scores_path, {**run.info, "images": len(names)}, digests, images=names,
                        carried=carried)
table = settled.table
if settled.check is not None:
    display(Markdown(f"Recomputed {computed['image'].nunique()} of {len(names)} images x {len(methods)} methods "
                     f"and compared them with the committed scores:\n\n" + markdown_table(settled.check, ".5f")))
display(Markdown(f"**Scores**: {settled.source}."))

# %% [markdown]
# ## Results: means over the test images, and paired differences against LIIF
#
# `Δ vs LIIF` is the mean over images of (method − LIIF) with a 95 %
# bootstrap interval over images (PSNR in dB, SSIM, ST-LPIPS), and `wins`
# the fraction of images on which the method is better than LIIF. Each network is one trained model, so the
# interval covers the choice of images, not training noise (the ablations
# notebook measures LIIF's seed-to-seed spread).

# %%
if "LIIF" in models:
    overall = summary_against(table, "LIIF", extra=())
    save_table(overall, "thumbnails", results_dir, run, floatfmt=".3f")
    display(Markdown(markdown_table(overall, ".3f")))
    by_group = pd.concat([summary_against(part, "LIIF", extra=()).assign(ground_truth=g) for g, part in table.groupby("ground_truth")])
    save_table(by_group, "thumbnails_by_ground_truth", results_dir, run, floatfmt=".3f")
    display(Markdown("By kind of ground truth:\n\n" + markdown_table(by_group, ".3f")))
if missing:
    display(Markdown(f"**Not evaluated (no checkpoint yet): {', '.join(missing)}.**"))

# %% [markdown]
# ## Time per image
#
# Upscaling time per image (model loaded; file I/O and scoring excluded),
# measured in this run on the images it computed, on the CPU named here.
# The full evaluation recorded its own timings in the `seconds` column of
# the committed scores (its CPU in their provenance); they are not shown as
# today's cost, since code and machine load may differ.

# %%
own = fresh.groupby("method", sort=False)["seconds"].agg(["mean", "median", "count"]).reset_index()
own.columns = ["method", "mean s/image", "median s/image", "images timed"]
display(Markdown(f"Measured now on {run.info['device']}:\n\n" + markdown_table(own, ".2f")))

# %% [markdown]
# ## Contact sheet
#
# `sheet_count` test images spread evenly over the list (by rule, not
# picked by eye). Each row: the thumbnail, shown whole with its pixels and
# the cropped region outlined; then the same centre crop (a quarter of the
# side, 1:1 output pixels) of every method's output and of the ground
# truth. Titles give the PSNR (dB) and ST-LPIPS of the whole image.

# %%
per_image = table.set_index(["method", "image"])
side = gt_size // 4
box = ((gt_size - side) // 2, (gt_size - side) // 2, side, side)
sheet_rows = []
for n in sheet_names:
    cells = {f"thumbnail {gt_size // thumb_scale}x{gt_size // thumb_scale}": read_image(lr_dir / f"{n}.png")}
    for name in methods:
        s = per_image.loc[(name, n)]
        cells[f"{name}\n{s['psnr']:.2f} dB, ST-LPIPS {s['stlpips']:.3f}"] = read_image(outputs[name] / f"{n}.png")
    cells[f"ground truth ({info.loc[n, 'ground_truth']})"] = read_image(gt_dir / f"{n}.png")
    sheet_rows.append((n, cells))
fig = contact_sheet(sheet_rows, crop=box, input_scale=thumb_scale)
_ = save_figure(fig, "thumbnails_contact_sheet", figures_dir, dpi=90, run=run)

# %% [markdown]
# ## What we found
#
# Each sentence below is computed from the table: a difference counts as
# a win only when its 95 % interval excludes zero (verdict words:
# reproduced / contradicted / within noise).

# %%
lines, claims = [], []
native = table[table["ground_truth"] == "native"]
for other in [m for m in methods if m != "LIIF"]:
    for metric, unit in (("psnr", "dB"), ("stlpips", "")):
        for scope, part in ((f"all {table['image'].nunique()} images", table), (f"the {native['image'].nunique()} native ground truths", native)):
            claims.append(paired_claim(part, "LIIF", other, metric, scope=scope))
            lines.append(claims[-1].sentence(unit))
if "IPF" in methods:  # the source report's claim: IPF gives the best x8 thumbnails
    for other in [m for m in methods if m != "IPF"]:
        for metric, unit in (("stlpips", ""), ("psnr", "dB")):
            claims.append(paired_claim(table, "IPF", other, metric, claim=f"IPF gives better x8 thumbnails than {other}",
                                       scope=f"all {table['image'].nunique()} images"))
            lines.append(claims[-1].sentence(unit))
save_table(pd.DataFrame([c.as_dict() for c in claims]), "thumbnails_claims", results_dir, run)  # for the claims ledger
own_speed = fresh.groupby("method", sort=False)["seconds"].mean()
lines.append(f"* Time per image at ×{thumb_scale} ({gt_size}×{gt_size} output), measured now on {run.info['device']}: "
             + ", ".join(f"{m} {own_speed[m]:.2f} s" for m in own_speed.index) + ".")
if missing:
    lines.append(f"* Not tested (no checkpoint): {', '.join(missing)}.")
lines.append("* Each network is one trained model (LIIF's seed-to-seed spread is not measured yet): the intervals cover "
             "the choice of images, not training noise.")
display(Markdown("\n".join(lines)))

# %%
_ = run.finish()
