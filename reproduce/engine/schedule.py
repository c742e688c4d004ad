"""Learning-rate schedules as pure functions of the step (nothing to save or restore)."""
from __future__ import annotations

import math


def lr_at(step: int, total: int, base_lr: float, kind: str = "step", milestones=(0.2, 0.4, 0.6, 0.8),
          gamma: float = 0.5, warmup: float = 0.0, final: float = 0.0) -> float:
    """Learning rate for ``step`` (0-based) of a ``total``-step run.

    ``step``: base_lr * gamma^(number of milestones passed); milestones are
    fractions of the run (the paper halves at epochs 200/400/600/800 of 1000).
    ``cosine``: linear warm-up over the first ``warmup`` fraction, then a
    cosine from base_lr down to base_lr * final at the last step.
    """
    if kind == "step":
        passed = sum(step >= round(m * total) for m in milestones)
        return base_lr * gamma ** passed
    warm = round(warmup * total)
    if step < warm:
        return base_lr * (step + 1) / warm
    progress = (step - warm) / max(1, total - 1 - warm)
    return base_lr * (final + (1 - final) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
