"""Published numbers the study compares against (PSNR dB), with their sources.

These are the papers' figures, shown beside ours and always labelled as the
papers'; nothing here is a result of this repository.
"""
from __future__ import annotations

import pandas as pd

# LIIF paper (Chen et al., CVPR 2021), Table 1 and ablation table: DIV2K
# validation, RGB, shave scale + 6, EDSR-baseline encoder, trained on DIV2K.
DIV2K_SCALES = [2, 3, 4, 6, 12, 18, 24, 30]
DIV2K_EDSR_BASELINE = {
    "bicubic": [31.01, 28.22, 26.66, 24.82, 22.27, 21.00, 20.19, 19.59],
    "MetaSR": [34.64, 30.93, 28.92, 26.61, 23.55, 22.03, 21.06, 20.37],
    "LIIF": [34.67, 30.96, 29.00, 26.75, 23.71, 22.17, 21.18, 20.48],
    "LIIF -c": [34.53, 30.92, 28.97, 26.73, 23.72, 22.19, 21.19, 20.51],
    "LIIF -u": [34.64, 30.94, 28.98, 26.73, 23.69, 22.16, 21.17, 20.47],
    "LIIF -e": [34.63, 30.95, 28.97, 26.72, 23.66, 22.13, 21.14, 20.45],
    "LIIF -d": [34.65, 30.94, 28.98, 26.71, 23.64, 22.10, 21.12, 20.42],
}
# The same table's EDSR-baseline trained for one scale alone (x2, x3, x4; "-" beyond).
DIV2K_FIXED_EDSR_BASELINE = {2: 34.55, 3: 30.90, 4: 28.94}

# LIIF paper Table 2: benchmarks, Y channel, shave = scale, RDN encoder.
BENCHMARK_SCALES = [2, 3, 4, 6, 8]
BENCHMARK_RDN = {
    ("Set5", "MetaSR"): [38.22, 34.63, 32.38, 29.04, 26.96],
    ("Set5", "LIIF"): [38.17, 34.68, 32.50, 29.15, 27.14],
    ("Set14", "MetaSR"): [33.98, 30.54, 28.78, 26.51, 24.97],
    ("Set14", "LIIF"): [33.97, 30.53, 28.80, 26.64, 25.15],
    ("B100", "MetaSR"): [32.33, 29.26, 27.71, 25.90, 24.83],
    ("B100", "LIIF"): [32.32, 29.26, 27.74, 25.98, 24.91],
    ("Urban100", "MetaSR"): [32.92, 28.82, 26.55, 23.99, 22.59],
    ("Urban100", "LIIF"): [32.87, 28.82, 26.68, 24.20, 22.79],
}

# Classic x4 baselines on the benchmarks (Y channel): PSNR / SSIM.
CLASSIC_X4 = {
    "bicubic": {"Set5": (28.42, 0.8104), "Set14": (26.00, 0.7027), "B100": (25.96, 0.6675), "Urban100": (23.14, 0.6577)},
    "SRCNN": {"Set5": (30.48, 0.8628), "Set14": (27.50, 0.7513), "B100": (26.90, 0.7101), "Urban100": (24.52, 0.7221)},
    "SRResNet": {"Set5": (32.05, 0.9019), "Set14": (28.49, 0.8184), "B100": (27.58, 0.7620)},
    "SRGAN": {"Set5": (29.40, 0.8472), "Set14": (26.02, 0.7397), "B100": (25.16, 0.6688)},
}

# SRCNN: Dong et al. 2016 (9-5-5, ImageNet); SRResNet / SRGAN: Ledig et al. 2017
# (ImageNet crops); bicubic as published with those tables.

# A course report among the project's source documents: Set5, PSNR / SSIM,
# scale not stated (probably x4), its own training runs.
COURSE_REPORT_SET5 = {"SRCNN": (27.7541, 0.7979), "SRGAN": (26.5206, 0.7982), "LIIF": (32.1538, 0.8955)}

def div2k_table(methods=("bicubic", "LIIF")) -> pd.DataFrame:
    """Long table: method, scale, psnr (the LIIF paper's DIV2K-validation figures)."""
    return pd.DataFrame([{"method": m, "scale": s, "psnr": v}
                         for m in methods for s, v in zip(DIV2K_SCALES, DIV2K_EDSR_BASELINE[m])])


def benchmark_table() -> pd.DataFrame:
    """Long table: set, method, scale, psnr (the LIIF paper's RDN benchmark figures)."""
    return pd.DataFrame([{"set": st, "method": m, "scale": s, "psnr": v}
                         for (st, m), values in BENCHMARK_RDN.items() for s, v in zip(BENCHMARK_SCALES, values)])
