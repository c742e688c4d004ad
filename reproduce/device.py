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


def has_bf16_kernels(device: torch.device | str) -> bool:
    """Whether this device has fast bf16 kernels, so that bf16 autocast speeds a network up rather than down.

    CUDA: the GPU supports bf16. CPU: oneDNN has its bf16 kernels, which need
    AVX-512 (BW/VL/DQ) or AMX. Without them oneDNN falls back to a slow
    path: on an AMD EPYC with AVX2 only (2026-12-04, one thread) the
    EDSR-baseline encoder ran 8-10x slower in bf16 than in fp32
    (``benchmarks/bf16_kernels.py`` measures it on any machine).
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:  # the check PyTorch's own bf16 paths use; private, so it has a public fallback
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return torch.backends.cpu.get_cpu_capability().startswith("AVX512")


def resolve_bf16(bf16: bool | str, device: torch.device | str = "cpu") -> bool:
    """A bf16 setting made concrete: ``"auto"`` is bf16 where the device has fast bf16 kernels, else fp32.

    ``True`` and ``False`` stay as they are (a user who asks for bf16 gets it).

    Raises:
        ReproduceError: ``bf16`` is neither a bool nor ``"auto"``.
    """
    if isinstance(bf16, bool):
        return bf16
    if isinstance(bf16, str) and bf16.strip().lower() == "auto":
        return has_bf16_kernels(device)
    raise ReproduceError(f"bf16 must be true, false or 'auto', got {bf16!r}")


def autocast_context(device: torch.device | str, bf16: bool):
    """bfloat16 autocast on the device's type (AMX on recent Xeons, tensor cores on GPUs), or a no-op.

    On a CPU without bf16 kernels (:func:`has_bf16_kernels`) the
    convolutions and matrix products are emulated
    (:class:`~reproduce.emulated_bf16.EmulatedBf16`: fp32 kernels on the bf16
    operands, rounded to bf16), which keeps bf16's arithmetic (up to the order
    of fp32 additions) in about 1.3x fp32's time instead of the reference
    kernels' 7-400x. Forward passes only: a backward pass still runs the slow
    kernels. Callers that only want speed choose with :func:`resolve_bf16`
    ("auto", fp32 there); bf16 there is for matching bf16 results.
    """
    device = torch.device(device)
    if not bf16:
        return contextlib.nullcontext()
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return _emulated(autocast) if bf16_arithmetic(device) == "emulated" else autocast


@contextlib.contextmanager
def _emulated(autocast):
    from .emulated_bf16 import EmulatedBf16

    with autocast, EmulatedBf16():
        yield


def bf16_arithmetic(device: torch.device | str = "cpu") -> str:
    """How bf16 autocast computes on ``device``: ``"native"`` kernels or ``"emulated"`` (:func:`autocast_context`)."""
    device = torch.device(device)
    return "emulated" if device.type == "cpu" and not has_bf16_kernels(device) else "native"
