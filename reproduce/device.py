"""The torch device: choosing it from a user's word, and bf16 autocast on it.

Device words: ``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``.

A device the user names but this machine lacks is a :class:`ReproduceError`
(one line, exit code 2 on the command line), found before any model is loaded
or any image is computed, instead of a CUDA traceback in the middle of a run.
"""
from __future__ import annotations

import contextlib
import os

import torch

from .errors import ReproduceError

DEVICE_WORDS = ("auto", "cpu", "cuda", "cuda:N", "mps")


def pick_device(name: str) -> torch.device:
    """The device for ``name``; ``auto`` is CUDA when available, else the CPU.

    Under ``torchrun`` (``LOCAL_RANK`` set), ``cuda`` means this process's GPU.

    Raises:
        ReproduceError: ``name`` is not a device word, or names hardware this
            machine does not have.
    """
    word = str(name).strip().lower()
    if word == "auto":
        word = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(word)
    except (RuntimeError, ValueError):
        raise ReproduceError(f"unknown device {name!r}; use one of {', '.join(DEVICE_WORDS)}") from None
    if device.type not in ("cpu", "cuda", "mps"):
        raise ReproduceError(f"unknown device {name!r}; use one of {', '.join(DEVICE_WORDS)}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ReproduceError(f"device {name!r} requested but CUDA is not available on this machine; use --device cpu")
        if device.index is None and "LOCAL_RANK" in os.environ:
            device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ReproduceError(f"device {name!r} requested but this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ReproduceError(f"device {name!r} requested but MPS is not available on this machine; use --device cpu")
    return device


def autocast_context(device: torch.device | str, bf16: bool):
    """bfloat16 autocast on the device's type (AMX on recent Xeons, tensor cores on GPUs), or a no-op.

    On CPUs without AMX or AVX-512 BF16, bf16 matmuls are only about 2x fp32
    and bf16 convolutions are slower than fp32 (measured 6x on an AMD EPYC
    with AVX2 only): there, fp32 is the faster choice for convolutional nets.
    """
    device = torch.device(device)
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
