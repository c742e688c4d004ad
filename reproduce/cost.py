"""What a method costs: parameters, multiply-adds per output pixel, and measured seconds per output megapixel.

Multiply-adds are counted by PyTorch's ``FlopCounterMode`` (convolutions and
matrix products; element-wise work and gathers are not counted) on the
reference path of the implicit models (``fast = False``: the arithmetic of
the official code), because the fast path's fused first layer runs outside
the counter. The times are of the path the study evaluates with (fast path),
on this machine: read them with the CPU named in the provenance.
"""
from __future__ import annotations

import copy
import math
import statistics
import time

import pandas as pd
import torch

from .evaluate import upscaler


def count_parameters(method) -> int:
    """Parameters of a model (0 for "bicubic")."""
    return 0 if isinstance(method, str) else sum(p.numel() for p in method.parameters())


def reference_path(method):
    """A copy of ``method`` that runs its reference (unfused) path, or ``method`` itself when it has no fast one."""
    if isinstance(method, torch.nn.Module) and getattr(method, "fast", False):
        method = copy.deepcopy(method)
        method.fast = False
    return method


@torch.no_grad()
def macs_per_pixel(method, lr_size: tuple[int, int] = (32, 32), scale: int = 4) -> float:
    """Multiply-adds per output pixel of ``method`` upscaling an ``lr_size`` input by ``scale``; NaN for "bicubic".

    Counted on :func:`reference_path` (see the module docstring); the
    encoder's share falls as the scale grows, so the value is for ``scale``.
    """
    from torch.utils.flop_counter import FlopCounterMode

    if isinstance(method, str):
        return math.nan  # the bicubic resizers gather and sum (no convolution or matmul): nothing FlopCounterMode counts
    size = (lr_size[0] * scale, lr_size[1] * scale)
    run = upscaler(reference_path(method))
    with FlopCounterMode(display=False) as counter:
        run(torch.rand(3, *lr_size), size)
    return counter.get_total_flops() / 2 / (size[0] * size[1])


@torch.no_grad()
def seconds_per_megapixel(method, lr_size: tuple[int, int] = (64, 64), scale: int = 4, bf16: bool = False,
                          repeats: int = 3) -> float:
    """Median wall time per output megapixel of ``method`` (as evaluated: fast path) after one warm-up call."""
    size = (lr_size[0] * scale, lr_size[1] * scale)
    run, lr = upscaler(method, bf16=bf16), torch.rand(3, *lr_size)
    run(lr, size)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(lr, size)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / (size[0] * size[1] / 1e6)


def cost_table(methods: dict, scale: int = 4, lr_size: tuple[int, int] = (64, 64), bf16: bool = True,
               repeats: int = 3) -> pd.DataFrame:
    """One row per method: ``method, parameters, MACs per output pixel, s/MP fp32, s/MP bf16``.

    ``methods``: name -> "bicubic" or a model. ``bf16`` False (e.g. on a CPU
    without bf16 kernels, where bf16 is several times slower) leaves the bf16
    column NaN. Times: ``lr_size`` inputs upscaled by ``scale``.
    """
    rows = []
    for name, method in methods.items():
        rows.append({"method": name, "parameters": count_parameters(method),
                     "MACs per output pixel": macs_per_pixel(method, scale=scale),
                     "s/MP fp32": seconds_per_megapixel(method, lr_size, scale, False, repeats),
                     "s/MP bf16": (seconds_per_megapixel(method, lr_size, scale, True, repeats)
                                   if bf16 and not isinstance(method, str) else math.nan)})
    return pd.DataFrame(rows)
