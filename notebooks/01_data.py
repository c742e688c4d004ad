# %% [markdown]
# # 01 · Data: the image sets and the degradations
#
# LIIF learns from pairs (LR, HR) where the LR image is made from the HR one by
# bicubic downsampling. This notebook lists the datasets the study uses, shows
# the degradation at in-distribution (×2, ×4) and out-of-distribution (×12)
# scales, and measures how much the two bicubic resizers of the protocol differ.
#
# **Dataset substitution.** The paper trains on DIV2K (800 images of about
# 2K×1.4K) and validates on DIV2K-valid. DIV2K cannot be obtained here, so we
# train on the classic "291" images (T91 + BSD200, as SRCNN did), validate on
# Kodak24 and test on the four standard benchmarks. The training set has
# tens of times fewer pixels than DIV2K (computed below); every comparison
# with the paper has to be read with that in mind.

# %% tags=["parameters"]
profile = "report"                         # parameter profile (set by `reproduce run`)
train_sets = ["T91", "BSD200"]             # training images (DIV2K substitute)
valid_set = "Kodak24"                      # validation set (DIV2K-valid substitute)
test_sets = ["Set5", "Set14", "B100", "Urban100"]  # benchmarks
example_set = "Set14"                      # set of the image shown in the figures
example_index = 13                         # index of that image in the set, sorted by name: 13 is zebra
degradation_scales = [2, 4, 12]            # scales shown in the degradation figure
results_dir = "results"                    # where tables go
figures_dir = "figures"                    # where figures go

# %%
# Jupyter starts the kernel in notebooks/; papermill in the repository root.
# Work from the root in both, so relative paths (results/, figures/, configs/) agree.
from reproduce.paths import enter_repository_root

enter_repository_root()

import numpy as np
from IPython.display import Markdown, display

from reproduce.data import ImageSet, make_lr
from reproduce.data.survey import DIV2K_TRAIN_MEGAPIXELS, bicubic_agreement, bicubic_pair, dataset_table
from reproduce.figures import difference_map, image_grid
from reproduce.report import Run, markdown_table, save_figure, save_table

run = Run("01_data", profile)
display(Markdown(run.markdown()))

# %% [markdown]
# ## The datasets
#
# Images are read once and kept in memory as 8-bit RGB; the table gives their
# number and sizes.

# %%
datasets = dataset_table({"train": train_sets, "valid": [valid_set], "test": test_sets})
save_table(datasets, "datasets", results_dir, run, floatfmt=".2f")
display(Markdown(markdown_table(datasets, ".2f")))

# %% [markdown]
# ## The degradation
#
# At test time the HR image is cropped to a multiple of the scale; the LR
# input is made with MATLAB-compatible bicubic for ×2–×4 (as the published
# benchmark LR files were) and with PIL bicubic on the 8-bit image above ×4
# (LIIF's own evaluation). Below, each LR input is shown enlarged with
# nearest-neighbour interpolation so that its pixels stay visible.

# %%
hr = ImageSet(example_set)[example_index]
panels = {f"HR {hr.shape[1]}x{hr.shape[0]}": hr}
for scale in degradation_scales:
    lr, hr_crop = make_lr(hr, scale)
    up = np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
    panels[f"LR x{scale}: {lr.shape[1]}x{lr.shape[0]} ({'MATLAB' if scale <= 4 else 'PIL'} bicubic)"] = up
fig = image_grid(panels, size=3.6)
save_figure(fig, "data_degradations", figures_dir, run=run)

# %% [markdown]
# ## MATLAB bicubic against PIL bicubic
#
# Both use the cubic kernel with a = −0.5 and widen it when downscaling
# (antialiasing), but MATLAB mirrors the image at the border while PIL
# truncates and renormalises the kernel, and the two differ in where the
# output grid sits for some sizes. The table measures the difference between
# the two LR images of every test image (PSNR of one against the other, on
# RGB) and the figure shows where it lies.

# %%
bicubic_gap = bicubic_agreement(test_sets, scales=(2, 4))
save_table(bicubic_gap, "data_matlab_vs_pil", results_dir, run)
display(Markdown(markdown_table(bicubic_gap)))

# %%
matlab, pil = bicubic_pair(hr, 4)
fig = difference_map(matlab, pil, f"MATLAB - PIL bicubic, x4 LR of {example_set} #{example_index}")
save_figure(fig, "data_matlab_vs_pil", figures_dir, run=run)

# %% [markdown]
# ## What we found
#
# Computed from the tables above, so it stays true when the notebook is re-run:

# %%
train_mp = datasets[datasets.role == "train"]["megapixels"].sum()
rms = 255 * 10 ** (-bicubic_gap["PSNR MATLAB vs PIL (dB)"] / 20)
display(Markdown("\n".join([
    f"* The training set has {int(datasets[datasets.role == 'train']['images'].sum())} images, "
    f"{train_mp:.1f} megapixels: about {DIV2K_TRAIN_MEGAPIXELS / train_mp:.0f}x fewer pixels than DIV2K's "
    f"800 training images (about {DIV2K_TRAIN_MEGAPIXELS:.0f} megapixels).",
    f"* MATLAB and PIL bicubic give nearly the same LR images: {bicubic_gap['PSNR MATLAB vs PIL (dB)'].min():.1f}-"
    f"{bicubic_gap['PSNR MATLAB vs PIL (dB)'].max():.1f} dB between them on average (an RMS difference of "
    f"{rms.min():.2f}-{rms.max():.2f} 8-bit levels), with the largest differences at sharp high-contrast edges and "
    "at the image border (the difference map), where their rounding and boundary rules differ. The protocol uses "
    "MATLAB's up to x4, as the published LR files were made, and PIL's above, as LIIF's evaluation does.",
    "* At x12 the LR input keeps only the coarse structure of the image: any method must invent the detail, "
    "so PSNR gains over bicubic are expected to shrink with the scale (03_evaluate).",
])))

# %%
run.finish()
