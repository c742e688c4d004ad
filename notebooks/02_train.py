# %% [markdown]
# # 02 · Training EDSR-baseline-LIIF
#
# One model, LIIF with the EDSR-baseline encoder (16 residual blocks, 64
# features, no upsampler) and the 5-layer MLP decoder, trained with LIIF's
# pipeline: random scale s ~ U(1, 4), 48×48 LR crops made by PIL bicubic from
# round(48·s) HR crops, 2304 sampled HR pixels per crop, batch 16, L1 loss.
#
# With `train = True` the notebook trains with the profile's config (resuming
# the run folder if it holds a checkpoint) and then stores the weights (no
# optimizer state) and the training log under `results/checkpoints/`. With
# `train = False` (the `report` profile) it reads those committed files.

# %% tags=["parameters"]
profile = "report"                                   # parameter profile (set by `reproduce run`)
config = "configs/cpu/edsr-baseline-liif.yaml"       # training config (model, data, schedule)
train = False                                        # train now (True) or read the committed checkpoint (False)
steps = None                                         # override train.steps (None: the config's)
run_dir = None                                       # override run.out_dir (None: the config's)
checkpoint = "results/checkpoints/edsr-baseline-liif.pt"  # where the trained weights are stored
results_dir = "results"                              # where tables go
figures_dir = "figures"                              # where figures go

# %%
# Jupyter starts the kernel in notebooks/; papermill in the repository root.
# Work from the root in both, so relative paths (results/, figures/, configs/) agree.
from reproduce.paths import enter_repository_root

enter_repository_root()

import pandas as pd
import yaml
from IPython.display import Markdown, display

from reproduce.budget import training_summary
from reproduce.claims import still_improving_claim
from reproduce.config import load_config
from reproduce.engine import read_stored_log, train_and_store
from reproduce.figures import training_curves
from reproduce.models import load_checkpoint
from reproduce.report import Run, save_figure, save_table

overrides = {"train": {"steps": steps} if steps else {}, "run": {"out_dir": run_dir} if run_dir else {}}
cfg = load_config(config, overrides)
run = Run("02_train", profile, seed=cfg["train"]["seed"])
display(Markdown(run.markdown()))

# %% [markdown]
# ## The configuration
#
# Defaults are the paper's schedule (`reproduce/config.py`); the config file
# states what differs. The full, merged configuration:

# %%
print(yaml.safe_dump(cfg, sort_keys=False))

# %%
if train:
    train_and_store(cfg, checkpoint, log=print)
ckpt = load_checkpoint(checkpoint)
log = read_stored_log(checkpoint)
assert ckpt["step"] == log[-1]["step"], "the log and the checkpoint come from different runs"

# %% [markdown]
# ## How it trained

# %%
summary = training_summary(ckpt)
display(Markdown("\n".join(f"* **{k}**: {v}" for k, v in summary.items())))

# %%
valid = ckpt["config"]["valid"]
fig = training_curves(log, f"EDSR-baseline-LIIF; validation: {valid['dataset']} x{valid['scale']}, "
                           f"first {valid['limit']} images, {valid['crop']} px centre crops")
save_figure(fig, "train_curves", figures_dir, run=run)

# %% [markdown]
# ## What we found
#
# Computed from the checkpoint and its log (so it stays true for another
# run). Whether the model was still improving when training stopped is
# tested on the validation curve (`reproduce.claims.still_improving_claim`:
# the slope of validation PSNR over the last half of the run with its 95 %
# interval). The deviations from the paper's schedule are in the config
# printed above.

# %%
vals = [(e["step"], e["val_psnr"]) for e in log if "val_psnr" in e]
fraction = summary["fraction of the paper's schedule"]
found = [f"* Trained {summary['steps']} steps ({fraction} of the paper's 10^6) on "
         f"{summary['datasets']} ({summary['trained on']}), {summary['training wall time (h)']} h of wall time in the "
         "last process."]
if vals:
    best = max(vals, key=lambda v: v[1])
    found.append(f"* Validation PSNR ({valid['dataset']} x{valid['scale']}): {vals[0][1]:.2f} dB at step {vals[0][0]}, "
                 f"{vals[-1][1]:.2f} dB at the end (best {best[1]:.2f} dB at step {best[0]}).")
improving = still_improving_claim(log, "LIIF")
save_table(pd.DataFrame([improving.as_dict()]), "train_claims", results_dir, run)
found.append(improving.sentence("dB per 1000 steps"))
found.append(f"* The model had {fraction} of the paper's schedule and {summary['datasets']} instead of DIV2K's 800 "
             "2K training images: `03_evaluate` measures this model, not LIIF as published.")
display(Markdown("\n".join(found)))

# %%
run.finish()
