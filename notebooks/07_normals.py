# %% [markdown]
# # 07 · Application: super-resolving surface normal maps, and the 3D surfaces behind them
#
# **Question.** One of the study's source reports moves LIIF/IPF from
# photographs to *normal maps* (one unit surface normal per pixel), splits
# each map into a smooth *shape* and a *detail* component, fine-tunes on the
# detail, reports PSNR at ×8 only, and finds its ×8 surfaces too smooth. Here
# that becomes a measured experiment: which method recovers the normals best
# at ×2, ×4 and ×8, measured as angles, does the decomposition help, and what
# happens to the 3D surface integrated from the super-resolved normals?
#
# **Answer**: computed in the closing section; every comparison there is a
# paired mean over held-out objects with a 95 % bootstrap interval.
#
# * **Data** (`$REPRODUCE_DATA/normals`): the 10 DiLiGenT objects (normal
#   maps from photometric-stereo ground truth, masks; 9 with ground-truth
#   depth and camera intrinsics; *ball* has neither) and 11 more maps with
#   masks. Axis convention: x right, y up, z towards the camera; 8-bit maps
#   store (n + 1) / 2.
# * **Split: leave objects out.** The 10 DiLiGenT objects are dealt into 5
#   folds of 2; the model of fold k trains on every other map (the other 8
#   objects and the 11 extra maps, minus any map of a tested object: the
#   extra `Fig4_reading` is a view of DiLiGenT *reading*) and is tested on
#   fold k's 2 objects only. Every object is therefore tested once, by a model
#   that never saw it.
# * **Degradation**: the HR map is cropped top-left to a multiple of the
#   scale (so the camera's principal point stays valid), the LR map is the
#   MATLAB-bicubic reduction of the encoded map, renormalised; the LR mask
#   is the same reduction of the mask, thresholded at 0.5, and LR pixels
#   outside it get the background normal (0, 0, 1). Pixels outside the
#   object are never scored and never trained on.
# * **Methods**: *bicubic* (on the encoded map, renormalised); *LIIF
#   (photographs)*: our LIIF trained on photographs, applied to the encoded
#   map as is; *LIIF fine-tuned (map)*: that LIIF fine-tuned on the encoded
#   normal maps; *LIIF fine-tuned (detail)*: the source's method, LIIF
#   fine-tuned on the detail component (input: LR detail; output: HR detail;
#   the LR shape component is upsampled bicubically and the two are
#   recomposed). Both fine-tunings normalise inputs with the dataset mean of
#   their own training maps, as the source did. *IPF*: listed as missing: an
#   IPF model exists for photographs (`06_ipf`) but has not been fine-tuned
#   on normal maps.
# * **Metrics** inside the mask, per object: mean and median angular error
#   (degrees), the share of pixels under 5°, 11.25° and 22.5°, and the PSNR of
#   the encoded map (the source's only metric). Angular error is the better
#   measure: it is the error of the quantity a normal map stores, in the unit
#   that photometric stereo and integration care about, whereas the PSNR of
#   the colour encoding mixes the three components' errors and changes with
#   the encoding (a ±1 level error is a different angle for different
#   normals).
# * **3D**: normals are integrated to depth inside the mask with the camera of
#   `K.txt` (perspective least squares on log-depth, `reproduce/normals/integrate.py`),
#   compared with the ground-truth depth after the usual scale alignment
#   (median of gt / estimate): mean absolute depth error, MADE, in mm. The
#   integrator is validated first on the ground-truth normals.

# %% tags=["parameters"]
profile = "report"                                   # parameter profile (set by `reproduce run`)
normal_maps = "data"                                 # "data": $REPRODUCE_DATA/normals; "synthetic": generated stand-ins (smoke)
normal_folds = 5                                     # leave-objects-out folds over the DiLiGenT objects
normal_scales = [2, 4, 8]                            # evaluated scales
normal_depth_scales = [4, 8]                         # scales whose outputs are integrated to 3D
normal_figure_scale = 8                              # scale of the figures
train = False                                        # fine-tune the checkpoints that are missing (about 6 min each on 2 EPYC cores)
finetune_steps = 200                                 # fine-tuning budget per model (ours: see the budget section)
finetune_batch = 8                                   # crops per step
finetune_inp = 32                                    # LR crop side
finetune_scale_max = 8.0                             # scales ~ U(1, finetune_scale_max)
finetune_sample_q = 1024                             # object pixels queried per crop
liif_checkpoint = "results/checkpoints/edsr-baseline-liif.pt"   # LIIF trained on photographs (the starting point)
normals_checkpoint_dir = "results/checkpoints/normals"          # fine-tuned weights, one per variant and fold
bf16 = False                                         # fp32: identical scores on every CPU
surface_objects = ["cat", "harvest"]                 # objects of the 3D-surface figure
error_map_object = "cat"                             # object of the angular-error and side-by-side figures
results_dir = "results"                              # where tables go
figures_dir = "figures"                              # where figures go

# %%
# Run from the repository root whatever the working directory (Jupyter opens notebooks in notebooks/).
from reproduce.paths import enter_repository_root
enter_repository_root()

import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from reproduce.figures import image_grid
from reproduce.models import load
from reproduce.normals import data as ndata
from reproduce.normals import evaluate as nevaluate
from reproduce.normals import figures as nfigures
from reproduce.normals import finetune as ft
from reproduce.normals import methods, report
from reproduce.normals.integrate import Integrator, made
from reproduce.report import Run, markdown_table, save_figure, save_table

if normal_maps not in ("data", "synthetic"):
    raise ValueError(f"normal_maps must be 'data' or 'synthetic', got {normal_maps!r}")
run = Run("07_normals", profile, bf16=bf16, normal_maps=normal_maps)
display(Markdown(run.markdown()))

# %% [markdown]
# ## The maps and the folds

# %%
maps = ndata.read_maps("DiLiGenT") + ndata.read_maps("other") if normal_maps == "data" else ndata.synthetic_objects()
test_objects = [m.name for m in maps if m.group == "DiLiGenT"]
fold_objects = ndata.folds(test_objects, normal_folds)
fold_of = {obj: k for k, objs in enumerate(fold_objects) for obj in objs}
inventory = pd.DataFrame([{"map": m.name, "group": m.group, "object": m.object, "size": f"{m.normals.shape[1]}x{m.normals.shape[2]}",
                           "object_pixels": int(m.mask.sum()), "depth": m.depth is not None, "camera": m.K is not None,
                           "test_fold": fold_of.get(m.name, "-")} for m in maps])
display(Markdown(markdown_table(inventory)))
folds_table = pd.DataFrame([{"fold": k, "tested": ", ".join(objs),
                             "training maps": len(ndata.training_maps(maps, objs))} for k, objs in enumerate(fold_objects)])
display(Markdown(markdown_table(folds_table)))

# %% [markdown]
# ## Fine-tuning
#
# Starting point: our LIIF trained on photographs. Every fine-tuning is our
# choice of a small CPU budget (the source fine-tuned for 1000 epochs with
# lr 1e-4 halved every 200 epochs; its data and crop settings are not known):
# `finetune_steps` steps of `finetune_batch` crops of `finetune_inp`² LR
# pixels, scale ~ U(1, `finetune_scale_max`) (the evaluation goes to ×8),
# `finetune_sample_q` queried object pixels per crop, L1 loss, Adam at the
# source's lr 1e-4 halved at 20/40/60/80 % of the steps, flips with the
# matching sign changes of the normal components, fp32. Weights are stored
# in float16 (weights only); the evaluation uses exactly what is stored.

# %%
cfg = ft.FinetuneConfig(steps=finetune_steps, batch_size=finetune_batch, inp_size=finetune_inp,
                        scale_max=finetune_scale_max, sample_q=finetune_sample_q, bf16=bf16)
missing = [ft.checkpoint_path(normals_checkpoint_dir, v, k) for k in range(len(fold_objects)) for v in ft.VARIANTS
           if not ft.checkpoint_path(normals_checkpoint_dir, v, k).is_file()]
if missing and not train:
    display(Markdown(f"**{len(missing)} fine-tuned checkpoint(s) missing** (e.g. `{missing[0]}`): run with `train=True` "
                     "to fine-tune them; the methods without a checkpoint are left out below."))
if train and missing:
    ft.finetune_folds(liif_checkpoint, maps, fold_objects, cfg, normals_checkpoint_dir)

budget = ft.budget_table(normals_checkpoint_dir, fold_objects, liif_checkpoint)  # refuses a model that saw its test objects
if len(budget):
    save_table(budget, "normals_budget", results_dir, run)
    display(Markdown(markdown_table(budget.drop(columns="cpu"))))
    display(Markdown(f"Fine-tuned on: {', '.join(sorted(set(budget['cpu'])))}. The source's dataset mean was "
                     "0.422, 0.427, 0.837 (its maps, not ours); the detail components' mean is close to the "
                     "facing normal's (0.5, 0.5, 1.0), as it must be."))

# %%
if len(budget):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
    for ax, variant in zip(axes, ft.VARIANTS):
        for k in range(len(fold_objects)):
            log_path = ft.checkpoint_path(normals_checkpoint_dir, variant, k).with_suffix(".log.jsonl")
            if log_path.is_file():
                log = pd.read_json(log_path, lines=True)
                ax.plot(log["step"], log["loss"], label=f"fold {k}")
        ax.set_title(f"fine-tuning on the {variant}")
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("training L1 (model scale)")
    save_figure(fig, "normals_finetune_loss", figures_dir, run=run)
    plt.show()

# %% [markdown]
# ## The integrator, checked on ground-truth normals
#
# Before any super-resolved map is integrated, the integrator itself is
# measured: each DiLiGenT object's ground-truth normals (full resolution)
# integrated and compared with its ground-truth depth. The published
# reference is bilateral normal integration (BiNI, Cao et al., ECCV 2022),
# whose official code evaluates exactly this (same maps, same alignment).
# Ours is a plain least-squares (Poisson-type) integrator, smooth across depth
# discontinuities, where BiNI is designed to keep them.

# %%
integration = []
for m in maps:
    if m.depth is None or m.K is None:
        continue
    start = time.perf_counter()
    depth = Integrator(m.mask, m.K)(m.normals)
    seconds = time.perf_counter() - start
    integration.append({"object": m.name, "made_mm": made(depth, m.depth, m.mask.numpy()), "seconds": seconds,
                        "bini_made_mm": report.BINI_MADE_MM.get(m.name, np.nan)})
integration = pd.DataFrame(integration)
save_table(integration, "normals_integration", results_dir, run)
display(Markdown(markdown_table(integration)))
both = integration.dropna()
if len(both):
    display(Markdown(
        f"Mean MADE over the {len(both)} objects: ours **{both['made_mm'].mean():.3f} mm**, BiNI "
        f"{both['bini_made_mm'].mean():.3f} mm ({report.BINI_SOURCE}). Ours is lower on "
        f"{int((both['made_mm'] < both['bini_made_mm']).sum())} of {len(both)} objects. Per object the two differ a "
        "lot in both directions: a smooth integrator spreads a depth discontinuity's error over the whole surface, "
        "BiNI keeps discontinuities but can settle in a worse solution elsewhere (its goblet)."))

# %% [markdown]
# ## Evaluation on the held-out objects
#
# Every method on every DiLiGenT object, by the model of the fold that holds
# the object out. Times are this machine's, for the object's window.

# %%
photo_liif = load(liif_checkpoint) if Path(liif_checkpoint).is_file() else None
rows, outputs, missing_methods = [], nevaluate.Outputs(), set()
test_maps = {m.name: m for m in maps if m.group == "DiLiGenT"}
for k, objs in enumerate(fold_objects):
    fold_methods, absent = methods.fold_methods(photo_liif, normals_checkpoint_dir, k, bf16=bf16)
    missing_methods.update(absent)
    for obj in objs:
        rows += nevaluate.evaluate_map(test_maps[obj], fold_methods, normal_scales, k, depth_scales=normal_depth_scales,
                                       keep_scales=[normal_figure_scale], outputs=outputs)
missing_methods.add("IPF (not fine-tuned on normal maps yet; the photograph model is in 06_ipf)")
rows = pd.DataFrame(rows)
save_table(rows[report.CSV_COLUMNS], "normals", results_dir, run)
display(Markdown("Missing (not in any table): " + ", ".join(sorted(missing_methods)) + "."))

# %% [markdown]
# ## Results by method and scale
#
# Means over the held-out objects; `*_fold_sd` is the standard deviation of
# the per-fold means (5 folds of 2 objects: a rough spread, not an interval).
# MADE rests on the objects with ground-truth depth (all but ball), at the
# integrated scales only; the *ground-truth normals* row is the integrator's
# own error on the cropped maps, the floor of every method's depth error.

# %%
table = report.summary(rows)
save_table(table, "normals_summary", results_dir, run)
for scale in normal_scales:
    display(Markdown(f"**×{scale}**\n\n" + markdown_table(table[table["scale"] == scale].drop(columns="scale"))))

# %% [markdown]
# ## Figures at the figure scale
#
# The LR input (shown enlarged), each method's output and the ground truth for
# one object (outside the object every panel shows the background normal:
# nothing there is scored), and each method's angular error.

# %%
s = normal_figure_scale
obj = error_map_object if (error_map_object, s, "ground truth") in outputs.maps else next(iter(outputs.maps))[0]
names = [n for n in rows["method"].unique() if (obj, s, n) in outputs.maps]
gt_map = outputs.maps[(obj, s, "ground truth")]
mask = test_maps[obj].crop(*gt_map.shape[:2]).mask.numpy()
rr, cc = nfigures.crop_box(mask)
lr_big = np.kron(outputs.lr[(obj, s)], np.ones((s, s, 1), dtype=np.uint8))[:gt_map.shape[0], :gt_map.shape[1]]
panels = {"LR (nearest)": lr_big[rr, cc], **{n: nfigures.mask_outside(outputs.maps[(obj, s, n)], mask)[rr, cc] for n in names},
          "ground truth": nfigures.mask_outside(gt_map, mask)[rr, cc]}
fig = image_grid(panels, ncols=len(panels), size=2.4)
save_figure(fig, "normals_side_by_side", figures_dir, run=run)
plt.show()
fig = nfigures.angular_error_maps(gt_map, {n: outputs.maps[(obj, s, n)] for n in names}, mask)
save_figure(fig, "normals_angular_error", figures_dir, run=run)
plt.show()

# %% [markdown]
# ## 3D surfaces at the figure scale
#
# Depth integrated from the ground-truth normals, from bicubic and from the
# best learned method at this scale (lowest mean angular error), rendered
# from the same viewpoint under the same light.

# %%
at_s = table[(table["scale"] == s) & ~table["method"].isin(["ground-truth normals", "bicubic"])]
best = at_s.sort_values("mean_angle").iloc[0]["method"]  # the best learned method (bicubic is shown anyway)
for obj3d in [o for o in surface_objects if (o, s, "ground-truth normals") in outputs.depths]:
    depths = {"ground-truth normals": outputs.depths[(obj3d, s, "ground-truth normals")],
              "bicubic": outputs.depths[(obj3d, s, "bicubic")], best: outputs.depths[(obj3d, s, best)]}
    fig = nfigures.surfaces(depths, test_maps[obj3d].K, stride=max(1, gt_map.shape[0] // 160), title=f"{obj3d} x{s}")
    save_figure(fig, f"normals_surfaces_{obj3d}", figures_dir, run=run)
    plt.show()

# %% [markdown]
# ## Is the ×8 surface too smooth?
#
# Measured two ways. The *detail energy ratio*: the mean angle between each
# normal and its local mean, output over ground truth, below 1 when the
# output is smoother than the true surface; averaged as logs (a geometric
# mean, so halving and doubling weigh the same), over the objects with real
# fine detail (a true detail energy of at least 1°: the ball, a sphere, has
# almost none, and a ratio of two near-zero energies says nothing). And the
# depth error on the 20 % of object pixels with the most true detail
# (`made_detail_mm`) against the error everywhere (`made_mm`), paired per
# object.

# %%
source_method = "LIIF fine-tuned (detail)"
smooth = [report.smoothness_claim(rows, n, s) for n in names]
display(Markdown("\n".join(report.smoothness_sentence(c) for c in smooth)))
detail = report.summary(rows[rows["scale"] == s], metrics=("made_mm", "made_detail_mm"))
display(Markdown(markdown_table(detail.drop(columns="scale"))))
depth_detail = [report.detail_depth_claim(rows, n, s) for n in ["ground-truth normals", *names]]
display(Markdown("\n".join(report.detail_depth_sentence(c) for c in depth_detail)))

# %% [markdown]
# ## Closing: the claims, tested
#
# Paired over the held-out objects (one model per fold, so the interval
# covers object-to-object variation, not training noise: each fine-tuned
# variant was trained once per fold). With 9-10 objects a percentile
# bootstrap interval is somewhat narrower than a t interval, and the two
# objects of a fold share a model, so they are not independent draws: read
# an interval that barely excludes zero as weak evidence.

# %%
claims = []
for scale in normal_scales:
    claims.append(report.compare(rows, source_method, "LIIF fine-tuned (map)", "mean_angle", scale,
                                 claim="Fine-tuning on the detail component beats fine-tuning on the map (angular error)"))
    claims.append(report.compare(rows, source_method, "bicubic", "mean_angle", scale,
                                 claim="The source's method beats bicubic (angular error)"))
    claims.append(report.compare(rows, "LIIF fine-tuned (map)", "LIIF (photographs)", "mean_angle", scale,
                                 claim="Fine-tuning on normal maps beats the photo-trained LIIF (angular error)"))
    claims.append(report.compare(rows, source_method, "bicubic", "psnr", scale,
                                 claim="The source's method beats bicubic (encoded-map PSNR, the source's metric)"))
for scale in normal_depth_scales:
    claims.append(report.compare(rows, source_method, "bicubic", "made_mm", scale,
                                 claim="The source's method gives a better surface than bicubic (MADE)"))
claims += smooth + depth_detail[1:]
ledger = pd.DataFrame([c.as_dict() for c in claims])
save_table(ledger, "normals_claims", results_dir, run)
UNITS = {"mean_angle": "°", "made_mm": "mm", "psnr": "dB"}
SENTENCES = {"log detail ratio": report.smoothness_sentence, "made_detail_mm - made_mm": report.detail_depth_sentence}
display(Markdown("\n".join(SENTENCES[c.metric](c) if c.metric in SENTENCES else c.sentence(UNITS[c.metric]) for c in claims)))
