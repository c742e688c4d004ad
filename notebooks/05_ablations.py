# %% [markdown]
# # 05 · Ablations: cell decoding, feature unfolding, local ensemble, decoder depth, and fixed-scale training
#
# **Question.** The LIIF paper removes one component at a time (its ablation
# table, `reproduce.paper.DIV2K_EDSR_BASELINE`) and finds small,
# scale-dependent effects: without cell decoding (−c) −0.14 dB at ×2 but
# +0.03 dB at ×30; without feature unfolding (−u), the local ensemble (−e)
# or with a shallower decoder (−d) between −0.01 and −0.07 dB (−d's and
# −e's largest at ×12 and beyond, −u's, −0.03, at ×2). It also finds LIIF,
# trained on ×1–×4, slightly ahead of
# EDSR-baseline networks trained for ×2, ×3 or ×4 alone (its Table 1). Do
# these effects show at our CPU budget, and are they larger than the
# run-to-run noise of that budget?
#
# **Answer** (computed in the closing section): one verdict per claim and
# scale, each a paired difference against LIIF of the same seed, averaged
# over seeds, with a 95 % bootstrap interval over seeds and images.
#
# **Design.** Every arm is one change from the cpu-budget LIIF
# (`reproduce/ablations.py`, `configs/cpu/`): same data, steps, schedule,
# batch size and seed-driven batch stream, and with the same seed the same
# initial encoder. LIIF itself is trained with several seeds first: the
# spread of its scores over seeds is the noise every verdict is read
# against, and it sets the smallest effect the design can detect. The
# fixed-scale networks train on (LR, HR) crops of their own scale (48-pixel
# LR crops as LIIF), so their batches hold the same images in the same
# order but not the same crops, and images smaller than their HR patch
# drop out (the budget table counts the images each arm used). Per step a
# fixed-scale network is supervised on every pixel of its HR patch (96²,
# 144², 192² at x2, x3, x4: 4, 9 and 16 times LIIF's 2304 sampled pixels).
# That is the paper's protocol for both, but on a budget ~170 times shorter
# than the paper's it may favour the fixed-scale networks; if that
# explained a lead of theirs over LIIF, the lead would grow from x2 to x4.
# That is a hypothesis of ours, not the paper's: the closing section tests
# it (`ablations.lead_growth`).
#
# **Protocol.** Kodak24 with the DIV2K-style protocol (RGB, shave scale + 6;
# the stand-in for the paper's DIV2K validation table), Set14 and B100 with
# the benchmark protocol (Y, shave scale), all images, at in- and
# out-of-distribution scales and two non-integer ones; Urban100 at a few
# scales (its images are large). PSNR and SSIM.

# %% tags=["parameters"]
profile = "report"                                   # parameter profile (set by `reproduce run`)
train = False                                        # train the missing arms (else use the committed checkpoints)
arms = ["LIIF", "LIIF-c", "LIIF-u", "LIIF-e", "LIIF-d", "EDSR-baseline-x2", "EDSR-baseline-x3", "EDSR-baseline-x4"]
liif_seeds = [0, 1, 2]                               # seeds of LIIF (the noise measurement); seed 0 is the committed LIIF
arm_seeds = [0, 1]                                   # seeds of every other arm
config_dir = "configs/cpu"                           # where the configs live
liif_config = "edsr-baseline-liif.yaml"              # the LIIF config the arms change
ablation_run_dir = "runs/cpu/ablations"              # training run folders (resumable, not committed)
ablation_dir = "results/checkpoints/ablations"       # the arms' weights, <arm>-seed<k>.pt
liif_checkpoint = "results/checkpoints/edsr-baseline-liif.pt"  # LIIF seed 0
ablation_sets = ["Kodak24", "Set14", "B100"]         # every image of each
ablation_scales = [2, 3, 4, 6, 12, 18, 24, 30, 2.5, 7.5]  # their scales
urban_scales = [2, 4, 12]                            # Urban100's scales (every image)
reference_set = "Kodak24"                            # the set of the paper's claims (DIV2K stand-in)
eval_limit = None                                    # first N images of each set (None: all)
scores = "sample"                                    # "full": score everything; "extend": score only new arms/seeds/sets/scales; "sample": recompute a fixed sample and check it
sample_size = {"Kodak24": 1}                         # images per set recomputed in "sample" mode (sets not named: none)
sample_scales = [30]                                 # the scales recomputed in "sample" mode (an arm without any: its own)
bf16 = "auto"                                        # bf16 autocast: true, false or "auto" (bf16 where the CPU has bf16 kernels); sample/extend: the committed table's
precision_images = 6                                 # Kodak24 images of the bf16-vs-fp32 check of paired differences
precision_scales = [2, 30]                           # its scales
border_scales = [12, 30]                             # scales of the -e border-jump measure
mechanism_image = ["Kodak24", 3]                     # [set, index] of the mechanism figures
ensemble_box = [250, 140, 240, 240]                  # y, x, h, w (output pixels at the largest border scale) of the -e crop
cell_box = [500, 140, 240, 240]                      # of the -c crop (a different region: no two figures show the same crop)
scores_dir = "results/scores"                        # committed per-image scores
results_dir = "results"                              # where tables go
figures_dir = "figures"                              # where figures go

# %%
# Run from the repository root whatever the working directory (Jupyter opens notebooks in notebooks/).
from reproduce.paths import enter_repository_root
enter_repository_root()

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from reproduce import ablations
from reproduce.data import dataset_files, make_lr, read_image, to_tensor
from reproduce.engine import upscale
from reproduce.evaluate import file_digest, score_and_settle, scored_row
from reproduce.figures import contact_sheet, delta_vs_scale
from reproduce.budget import budget_table
from reproduce.device import resolve_bf16
from reproduce.models import load
from reproduce.report import Run, markdown_table, save_figure, save_table
from reproduce.scores import by_method_and_seed, check_mode, design_words, scoring_settings, split_design, unscored_weights

check_mode(scores)
runs = [(arm, seed) for arm in arms for seed in ablations.seeds_of(arm, liif_seeds, arm_seeds)]


def weights(arm, seed):
    """Where an arm's weights are: LIIF seed 0 is the committed LIIF of 02_train."""
    return Path(liif_checkpoint) if (arm, seed) == ("LIIF", 0) else ablations.checkpoint_path(ablation_dir, arm, seed)


scores_path = Path(scores_dir) / "ablations.csv"
bf16 = resolve_bf16(bf16)  # "auto": fp32 on a CPU without bf16 kernels, where bf16 is several times slower
bf16, _ = scoring_settings(scores, scores_path, bf16, [])  # sample/extend: the committed table's precision
run = Run("05_ablations", profile, scores=scores, bf16=bf16)
display(Markdown(run.markdown()))

# %% [markdown]
# ## Training, and the budget of every arm
#
# With `train = True` every missing arm and seed is trained (resuming its
# run folder) and its weights alone stored under `results/checkpoints/ablations/`;
# otherwise the committed checkpoints are used. The table reads each
# checkpoint's own record; a missing one is listed, and every claim that
# needs it is "not tested".

# %%
if train:
    for arm, seed in runs:
        if not weights(arm, seed).is_file():
            ablations.train_arm(arm, seed, config_dir, ablation_run_dir, ablation_dir, liif_config, log=print)
budget = budget_table({f"{arm} seed {seed}": weights(arm, seed) for arm, seed in runs}, label="arm")
budget.insert(1, "changes", [ablations.ARMS[arm][2] for arm, _ in runs])
used = {arm: ablations.training_images(ablations.arm_config(arm, 0, config_dir, ablation_run_dir, liif_config)) for arm in arms}
budget.insert(2, "training images", [f"{used[arm][0]} of {used[arm][1]}" for arm, _ in runs])
ablations.check_same_budget(budget)  # same steps, batch, lr, schedule and data for every trained arm
save_table(budget, "ablations_budget", results_dir, run)
display(Markdown(markdown_table(budget)))
available = [(arm, seed) for arm, seed in runs if weights(arm, seed).is_file()]
missing = sorted({arm for arm, seed in runs if (arm, seed) not in available})
if missing:
    display(Markdown(f"**Not trained yet: {', '.join(missing)}** (some or all seeds); their claims are not tested."))

# %% [markdown]
# ## Scoring
#
# Every available arm and seed on every image of the sets at their scales
# (the fixed-scale networks at their own scale only). The design is about
# 500 output megapixels per LIIF arm and seed. `bf16 = "auto"` scores in
# bf16 on a CPU with bf16 kernels (AMX or AVX-512, `device.has_bf16_kernels`): the committed
# inference benchmark (`results/benchmarks/infer.json`, ×12 rows; its
# record predates CPU names, and bf16 five times faster implies such a
# CPU) measured about 2.2 s per output megapixel in bf16 against 11 s in
# fp32; on a CPU without them bf16 is 7-10× slower than fp32 (two AMD
# EPYCs with AVX2 only; `results/benchmarks/bf16_kernels.json` holds the
# 6.7-7.7× of one) and `auto` means fp32. Each
# row's `seconds` column records what scoring took. Every arm is scored in
# the same precision, and the check below measures whether bf16 moves
# the paired differences the verdicts rest on. `full` writes the per-image table
# `results/scores/ablations.csv`; `extend` keeps its rows of unchanged
# weights and scores only what is new (an arm or seed trained since, a set
# or a scale), so the arms can be added one sitting at a time; `sample`
# recomputes `sample_size` fixed images at `sample_scales` for every arm
# and seed (one Kodak24 image, the reference set's protocol, at ×30, the
# scale of the −c claim, or the fixed networks' own scale: every
# checkpoint is checked, but not every set's protocol or every scale;
# 03's sample checks the benchmark protocol), checks them against that
# table, and renders from it. In `sample` mode, arm seeds, sets and
# scales the committed table does not hold yet are named and left out
# (their claims are not tested). With nothing to compare yet (LIIF seed 0
# alone), nothing is scored.

# %%
table = pd.DataFrame()
all_sets = list(ablation_sets) + (["Urban100"] if urban_scales else [])
labels = {by_method_and_seed(arm, seed): (arm, seed) for arm, seed in available}
digests = {k: {"path": str(weights(*v)), "sha256": file_digest(weights(*v))} for k, v in labels.items()}
# what the committed table does not hold yet (sample mode only): left out and named
# (set, scale) pairs, not sets and scales apart: a set may be held at some of its scales only
grid, pairs_left = split_design(scores, scores_path, {s: urban_scales if s == "Urban100" else ablation_scales for s in all_sets})
unscored_arms = unscored_weights(scores, scores_path, digests)
left_out = {"arm seeds": ", ".join(unscored_arms), "sets and scales": design_words(pairs_left)}
labels = {k: v for k, v in labels.items() if k not in unscored_arms}
scored_sets = list(grid)
if any(left_out.values()):
    display(Markdown("**Not scored yet** (the committed scores do not hold them; `-p scores=extend` scores them): "
                     + "; ".join(f"{k}: {v}" for k, v in left_out.items() if v)
                     + ". Everything below leaves them out (a claim left without scores is *not tested*)."))
if len(labels) > 1:
    picked = sample_scales if scores == "sample" else None
    computed, settled = score_and_settle(
        scores, {k: (load(weights(*v)), v[1]) for k, v in labels.items()},
        {k: ablations.arm_scales(arm, sorted({float(x) for g in grid.values() for x in g}), picked)
         for k, (arm, _) in labels.items()},
        scored_sets, digests={k: digests[k] for k in labels}, scores_path=scores_path, partial_dir=ablation_run_dir,
        provenance=run.info, sample_size=sample_size, limit=eval_limit, bf16=bf16, set_scales=grid,
        names={k: arm for k, (arm, _) in labels.items()}, key=by_method_and_seed, progress=print)
    table = settled.table
    if settled.check is not None:
        display(Markdown(f"Recomputed {len(computed)} rows and compared them with the committed scores:\n\n"
                         + markdown_table(settled.check, ".5f")))
    display(Markdown(f"**Scores** ({'bf16' if bf16 else 'fp32'}): {settled.source}."))
else:
    display(Markdown("**Nothing to compare yet**: fewer than two arms or seeds have weights (and scores); no arm is scored."))

# %% [markdown]
# ### Does bf16 move the paired differences?
#
# LIIF seed 0 against the second scored arm or seed, on the first
# `precision_images` Kodak24 images at `precision_scales`, in fp32 and in
# bf16 (`ablations.paired_precision_check`): `shift` is how much bf16
# moves the mean paired difference, to be read against the effects below.
# Computed when this run scores in bf16 (`full`, `extend`); a `sample` run
# shows the committed table.

# %%
precision_path = Path(results_dir) / "ablations_bf16_check.csv"
if bf16 and scores != "sample" and len(labels) > 1:
    (arm_a, seed_a), (arm_b, seed_b) = list(labels.values())[:2]
    precision = ablations.paired_precision_check(load(weights(arm_a, seed_a)), load(weights(arm_b, seed_b)), reference_set,
                                                 precision_scales, limit=precision_images)
    precision.insert(0, "pair", f"{arm_a} seed {seed_a} - {arm_b} seed {seed_b}")
    save_table(precision, "ablations_bf16_check", results_dir, run, floatfmt=".4f")
    display(Markdown(markdown_table(precision, ".4f")))
elif bf16 and precision_path.is_file():
    display(Markdown("Committed check (not recomputed in a sample run):\n\n"
                     + markdown_table(pd.read_csv(precision_path), ".4f")))
elif bf16:
    display(Markdown("**Not checked yet**: no committed bf16 check."))
else:
    display(Markdown("Scored in fp32: nothing to check."))

# %% [markdown]
# ## Run-to-run noise of LIIF
#
# The spread over seeds of LIIF's mean PSNR on each set and scale, and the
# smallest difference between two arms that the design detects with 80 %
# power at the 95 % level given that spread and `arm_seeds` seeds per arm
# (`ablations.detectable_difference`, with t quantiles because the spread
# itself comes from few seeds; image-to-image noise comes on top).

# %%
if len(table) and table[table["method"] == "LIIF"]["seed"].nunique() > 1:
    noise = ablations.seed_spread(table)
    # t quantiles: the sd itself comes from a few seeds
    noise["detectable (dB)"] = [ablations.detectable_difference(sd, len(arm_seeds), df=n - 1) for sd, n in zip(noise["sd"], noise["seeds"])]
    save_table(noise, "ablations_noise", results_dir, run, floatfmt=".4f")
    display(Markdown(markdown_table(noise, ".4f")))
else:
    noise = pd.DataFrame()
    display(Markdown("**Noise not measured yet**: LIIF has fewer than two seeds with weights."))

# %% [markdown]
# ## Effects against LIIF
#
# Per arm, set and scale: the mean over seeds, and the paired difference
# to LIIF of the same seed (`delta`, dB) with its 95 % interval over seeds
# and images; `paper_delta` is the paper's difference on DIV2K (a
# different validation set and a 170× longer schedule: compare signs and
# shapes, not values). The figure plots the reference set, with the
# fixed-scale networks in one panel, each at its own scale (the paper's
# Table 1: LIIF ahead of them by 0.06-0.12 dB).

# %%
if len(table):
    effects = ablations.effect_table(table)
    caption = ("**Ablations against LIIF** (PSNR, dB): per arm, set and scale, the mean over seeds and the paired "
               "difference to LIIF of the same seed with a 95 % bootstrap interval over seeds and images. `paper_delta`: "
               "the LIIF paper's difference on DIV2K validation (its models trained on DIV2K for 10^6 steps; ours on 291 "
               "images for 6000): compare signs and shapes, not values.")
    save_table(effects, "ablations", results_dir, run, floatfmt=".4f", caption=caption)
    display(Markdown(caption + "\n\n" + markdown_table(effects, ".4f")))
    shown = [a for a in arms if a.startswith("LIIF-") and a in set(effects["method"])]
    fixed = ablations.fixed_scale_rows(effects)  # one panel: each fixed-scale network at its own scale
    shown += [ablations.FIXED_PANEL] if len(fixed[fixed["set"] == reference_set]) else []
    if shown:
        fig = delta_vs_scale(pd.concat([effects, fixed]), reference_set, shown, separate=[ablations.FIXED_PANEL])
        save_figure(fig, "ablations_delta_vs_scale", figures_dir, run=run)
        plt.show()
    else:
        display(Markdown("**No ablation arm scored yet**: the table holds LIIF's seeds only, and no figure is drawn."))
else:
    effects = pd.DataFrame(columns=["method", "set", "scale", "seeds", "mean", "delta", "ci_low", "ci_high", "win_rate", "paper_delta"])

# %% [markdown]
# ## Mechanisms
#
# * **Local ensemble.** Without it each output pixel comes from one LR code,
#   so the output can jump where the nearest code changes. The border-jump
#   ratio (`ablations.cell_border_jump`: mean |difference| of neighbouring
#   output pixels across LR-cell borders over that within cells; about 1 for
#   a smooth result) of LIIF and LIIF−e at large scales, and a crop of both
#   at the largest (seed 0): the LR input whole with the crop outlined,
#   each output with the crop's own PSNR, and the ground truth.
# * **Cell decoding** (the paper's Figure 6): LIIF at ×30 decoded with the
#   true cell (1/30), with the cell of ×4 (what the decoder saw in training),
#   and LIIF−c; with their sharpness (`ablations.sharpness`, mean gradient
#   magnitude: higher is sharper or noisier, to be read with the picture),
#   shown on another region of the same image, laid out the same way.

# %%
set_name, index = mechanism_image
hr_full = read_image(dataset_files(set_name)[index])
name = dataset_files(set_name)[index].stem
scale = max(border_scales)  # the figures' scale
lr, hr = make_lr(hr_full, scale)
lr_t, hr_t, size = to_tensor(lr), to_tensor(hr), hr.shape[:2]
models = {arm: load(weights(arm, 0)) for arm in ("LIIF", "LIIF-e", "LIIF-c") if (arm, 0) in available}
at_scale = {}  # each arm's output at the figures' scale: computed once, measured and shown
rows = []
for arm in ("LIIF", "LIIF-e"):
    if arm not in models:
        continue
    for s in border_scales:
        lr_s, hr_s = make_lr(hr_full, s)
        out = upscale(models[arm], to_tensor(lr_s), hr_s.shape[:2])
        if s == scale:
            at_scale[arm] = out
        rows.append({"arm": arm, "image": f"{set_name}/{name}", "scale": s, **ablations.cell_border_jump(out, lr_s.shape[:2])})
border = pd.DataFrame(rows)
if len(border):
    save_table(border, "ablations_border_jump", results_dir, run, floatfmt=".4f")
    display(Markdown(markdown_table(border, ".4f")))
if {"LIIF", "LIIF-e"} <= set(at_scale):
    # the blocky borders: one region, LIIF and LIIF-e (seed 0), with the crop's own PSNR
    images = scored_row(lr_t, at_scale, hr_t, tuple(ensemble_box))
    fig = contact_sheet([(f"{set_name}/{name} x{scale:g}", images)], crop=tuple(ensemble_box), input_scale=scale, size=3.0)
    save_figure(fig, "ablations_ensemble_x30", figures_dir, run=run)
    plt.show()
if "LIIF" in models:
    # the output's own cell is LIIF's ordinary output, already computed above
    views = {f"LIIF, cell 1/{scale:g}": at_scale["LIIF"],
             "LIIF, cell 1/4": ablations.upscale_with_cell(models["LIIF"], lr_t, size, (lr.shape[0] * 4, lr.shape[1] * 4))}
    if "LIIF-c" in models:
        views["LIIF-c"] = upscale(models["LIIF-c"], lr_t, size)
    sharp = pd.DataFrame([{"rendering": k, "sharpness": ablations.sharpness(v)} for k, v in views.items()])
    save_table(sharp, "ablations_cell_sharpness", results_dir, run, floatfmt=".5f")
    display(Markdown(markdown_table(sharp, ".5f")))
    images = scored_row(lr_t, views, hr_t, tuple(cell_box))
    fig = contact_sheet([(f"{set_name}/{name} x{scale:g}", images)], crop=tuple(cell_box), input_scale=scale, size=3.0)
    save_figure(fig, "ablations_cell_x30", figures_dir, run=run)
    plt.show()

# %% [markdown]
# ## Claims: what we found
#
# On the reference set, one verdict per claim and scale (`reproduced`:
# the interval lies on the claimed side of zero and the effect exceeds the
# seed-noise floor below; `contradicted`: likewise on the other side;
# `within noise`: the interval covers zero or the effect is within the
# floor; `not tested`: no scores). The
# intervals cover seeds and images; a verdict rests on the seeds in the
# effects table's `paired_seeds` column (seeds trained but not yet scored
# are not among them). Each verdict carries the noise level behind it
# (`ablations.claim_noise`, from LIIF's seed-to-seed spread above, which
# rests on more seeds than any one comparison; assumed for the other arms
# too): a bootstrap over one or two paired seeds understates training noise, so an
# effect no larger than the seed-noise floor (`noise_floor`: the difference
# two arms of that many seeds exceed 5 % of the time from training noise
# alone) is *within noise* even where its two-way interval excludes zero;
# and `detectable`, the smallest effect the comparison's paired seeds show
# with 80 % power (the noise table's `detectable (dB)` is the same figure
# for the design's `arm_seeds`), so that a "within noise" where the
# paper's effect is below it reads as "weak evidence either way", not as
# "absent", and one where an effect of the paper's size lies outside the
# interval widened by the floor says that the data argue against an effect
# that large (not against its sign). Saved for the claims ledger
# (`09_summary`).

# %%
measured = noise if len(noise) else None  # LIIF's seed spread, when at least two seeds are scored
claims = pd.DataFrame(ablations.ablation_claims(effects, reference_set, noise=measured)
                      + ablations.fixed_scale_claims(effects, reference_set, noise=measured))
save_table(claims, "ablations_claims", results_dir, run, floatfmt=".4f")
lines = [ablations.claim_line(c) for c in claims.to_dict("records")]
display(Markdown("\n".join(lines)))

# %% [markdown]
# ### Our hypothesis: does the fixed-scale lead grow with the scale?
#
# The design section's explanation of a fixed-scale lead (denser
# supervision per step) predicts a lead over LIIF that grows from x2 to x4.
# `ablations.lead_growth`: per shared seed and image, the lead of
# EDSR-baseline-x{s} over LIIF at x{s}, and the mean of (lead at the larger
# scale − lead at the smaller) with its two-way interval and a seed-noise
# floor from LIIF's spread at both scales (assumed for the fixed-scale
# networks). `reproduced` would support the hypothesis; `contradicted`
# means the lead shrinks, so this test gives the hypothesis no support
# (it does not rule it out: if the benefit of denser supervision
# saturates, at x4's 16 HR pixels per LR pixel, say, the lead could
# shrink while density still causes it). `lead_small` and `lead_large`
# are the two mean leads.
# Saved apart from the paper's claims (`results/ablations_hypotheses.csv`),
# so the claims ledger counts the paper's claims only.

# %%
pairs = [(s, 2, 4) for s in ablation_sets] + [(reference_set, 2, 3), (reference_set, 3, 4)]
hypotheses = pd.DataFrame([ablations.lead_growth(table, s, small, large, noise=measured) for s, small, large in pairs])
save_table(hypotheses, "ablations_hypotheses", results_dir, run, floatfmt=".4f")
display(Markdown("\n".join(ablations.claim_line(c) for c in hypotheses.to_dict("records"))))

# %%
run.finish()
