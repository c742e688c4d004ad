"""Where a result came from: code version, environment, device, time.

Stored in checkpoints and in every table the notebooks write, so that each
number in results/ can be traced to the commit and settings that made it.
"""
from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from pathlib import Path

import torch

_REPO = Path(__file__).resolve().parent.parent


def git_state() -> dict:
    """{"commit": sha or None, "dirty": bool or None} of the repository holding this package."""
    def run(*args):
        return subprocess.run(["git", *args], cwd=_REPO, capture_output=True, text=True, timeout=10)
    try:
        head = run("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        # Outputs (results/, figures/) are rewritten by the pipeline itself;
        # only changes to anything else make the code state "dirty".
        status = run("status", "--porcelain", "--untracked-files=no", "--", ".", ":!results", ":!figures")
        return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def cpu_description() -> str:
    """The CPU model and its bf16 hardware: ``"AMD EPYC (no AMX, no AVX-512 BF16)"``.

    Timings need it: bf16 matmuls are about 6x fp32 on a Xeon with AMX and
    about 2x on a CPU without it, so a number without its CPU is not a number.
    """
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    amx = "AMX" if "amx_bf16" in flags else "no AMX"
    avx = "AVX-512 BF16" if "avx512_bf16" in flags else "no AVX-512 BF16"
    return f"{model} ({amx}, {avx})"


def device_name(device: str | torch.device = "cpu") -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_description()}, {torch.get_num_threads()} threads"


def provenance(device: str | torch.device = "cpu", **extra) -> dict:
    """A flat dict of plain values (safe for weights_only checkpoints and JSON)."""
    import numpy
    import PIL

    info = {**git_state(), "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "torch": str(torch.__version__), "numpy": numpy.__version__,
            "pillow": PIL.__version__, "device": device_name(device)}
    if torch.device(device).type == "cpu":  # bf16 results made on this CPU: native kernels, or emulated by fp32 ones
        from .device import bf16_arithmetic

        info["bf16_kernels"] = bf16_arithmetic(device)
    info.update(extra)
    return info
