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
figures_dir = "figures"                              # where figures go

# %%
# Jupyter starts the kernel in notebooks/; papermill in the repository root.
# Work from the root in both, so relative paths (results/, figures/, configs/) agree.
from reproduce.paths import enter_repository_root

enter_repository_root()

import yaml
from IPython.display import Markdown, display

from reproduce.config import load_config
from reproduce.engine import read_stored_log, train_and_store
from reproduce.figures import training_curves
from reproduce.models import load_checkpoint
from reproduce.report import Run, save_figure

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
prov = ckpt.get("provenance", {})
seconds = prov.get("seconds_since_start")  # wall time of the last training process
summary = {
    "steps": ckpt["step"],
    "paper's steps": 1_000_000,
    "fraction of the paper's schedule": f"{ckpt['step'] / 1e6:.2%}",
    "trained on": prov.get("device"),
    "trained at commit": (prov.get("commit") or "?")[:12],
    "started": prov.get("time"),
    "last checkpoint written": prov.get("saved"),
    "training wall time (h)": round(seconds / 3600, 2) if seconds else None,
    "mean speed (steps/s)": round((ckpt["step"] - (prov.get("started_at_step") or 0)) / seconds, 2) if seconds else None,
    "resumed at step (wall time and speed cover only the last process)": prov.get("started_at_step") or None,
    "bf16 autocast": ckpt["config"]["train"]["bf16"],
    "datasets": ", ".join(ckpt["config"]["train"]["datasets"]),
}
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
# run). The deviations from the paper's schedule are in the config printed
# above.

# %%
vals = [(e["step"], e["val_psnr"]) for e in log if "val_psnr" in e]
found = [f"* Trained {ckpt['step']} steps ({ckpt['step'] / 1e6:.2%} of the paper's 10^6) on "
         f"{', '.join(ckpt['config']['train']['datasets'])} ({summary['trained on']}), "
         f"{summary['training wall time (h)']} h of wall time in the last process."]
if vals:
    best = max(vals, key=lambda v: v[1])
    found.append(f"* Validation PSNR ({valid['dataset']} x{valid['scale']}): {vals[0][1]:.2f} dB at step {vals[0][0]}, "
                 f"{vals[-1][1]:.2f} dB at the end (best {best[1]:.2f} dB at step {best[0]}).")
    if len(vals) >= 3:
        late = vals[-1][1] - vals[len(vals) // 2][1]
        found.append(f"* Over the second half of the run it gained {late:+.2f} dB: "
                     + ("still improving, so a longer schedule would help." if late > 0.05 else "nearly flat at this budget."))
found.append("* With a schedule this short the model is under-trained relative to the paper; its numbers in "
             "`03_evaluate` are a lower bound on what this pipeline reaches with the full schedule.")
display(Markdown("\n".join(found)))

# %%
run.finish()
