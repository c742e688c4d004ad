"""Checkpoints: our self-describing format and the official LIIF release format.

Ours is a plain dict (loadable with ``torch.load(..., weights_only=True)``)::

    {"format": "reproduce.checkpoint", "version": 1,
     "model": {"name": ..., "args": ...},        # registry spec
     "state_dict": {...},                        # model weights
     "step": int,                                # training steps done
     "optimizer": {...}, "rng": {...},            # training state (absent in weight-only files)
     "config": {...}, "provenance": {...}}

The official release (yinboc/liif) saves ``{"model": {"name", "args", "sd"},
"optimizer": ..., "epoch": ...}`` with the module names ``liif``,
``edsr-baseline``, ``rdn``, ``mlp``, ``metasr``; its EDSR state dict also holds
the weights of two mean-shift layers that its forward never uses.
"""
from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..errors import ReproduceError
from ..fileio import atomic_path
from .interface import unwrap
from .registry import make

FORMAT = "reproduce.checkpoint"
VERSION = 1
# Present in official EDSR state dicts, unused by the encoder's forward.
_UNUSED_OFFICIAL_KEYS = ("sub_mean.weight", "sub_mean.bias", "add_mean.weight", "add_mean.bias")


def save_checkpoint(path: str | os.PathLike, model: nn.Module, spec: dict, step: int = 0, **extra: Any) -> None:
    """Write our checkpoint atomically. ``extra`` adds optimizer/rng/config/provenance entries."""
    payload = {"format": FORMAT, "version": VERSION, "model": spec, "state_dict": unwrap(model).state_dict(), "step": step}
    payload.update(extra)
    _save(payload, path)


def _save(payload: dict, path: str | os.PathLike) -> None:
    """``torch.save`` to ``path`` atomically, byte for byte the same for the same content.

    ``torch.save`` to a file names the archive's records after that file, and
    the atomic write's temporary has a random name: the same weights would
    get a new sha256 at every save. Serialised in memory the records are
    named ``archive/`` and the bytes depend on the content only.
    """
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())


def save_weights(path: str | os.PathLike, checkpoint: dict) -> bool:
    """Write a weights-only copy of a loaded checkpoint (no optimizer or RNG state); False if ``path`` holds it already.

    Committed score tables name their weights by the file's sha256, and the
    files committed before :func:`_save` made the bytes a function of the
    content carry random record names: re-storing the same weights (a
    finished run "resumed" by ``train=True``) would make every table scored
    with them look stale. So a file whose content is already equal, tensor
    for tensor, is left as it is.
    """
    keep = {k: checkpoint[k] for k in ("format", "version", "model", "state_dict", "step", "config", "provenance") if k in checkpoint}
    if Path(path).is_file():
        try:
            if _same(load_checkpoint(path), keep):
                return False
        except ReproduceError:
            pass  # unreadable: replaced below
    _save(keep, path)
    return True


def _same(a: Any, b: Any) -> bool:
    """Deep equality of checkpoint contents (dicts, lists, tensors by value and dtype, plain data)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
                and a.shape == b.shape and bool(torch.equal(a, b)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint file safely and normalise it to our format.

    Returns our dict layout; an official checkpoint is converted (``sd`` ->
    ``state_dict``, unused mean-shift weights dropped, ``step`` = 0,
    ``"source": "official"``).

    Raises:
        ReproduceError: missing, truncated or foreign file.
    """
    path = Path(path)
    if not path.is_file():
        raise ReproduceError(f"checkpoint not found: {path}")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):  # the weights-only unpickler met a Python object
            raise ReproduceError(f"{path} holds Python objects besides tensors and plain data; refusing to unpickle it") from None
        raise ReproduceError(f"cannot read checkpoint {path}: truncated or not a PyTorch file") from None
    except Exception as exc:  # noqa: BLE001 - the unpickler raises many types (KeyError on text files, ...)
        raise ReproduceError(f"cannot read checkpoint {path}: truncated or not a PyTorch file ({type(exc).__name__})") from None
    if isinstance(raw, dict) and raw.get("format") == FORMAT:
        if raw.get("version") != VERSION or not isinstance(raw.get("state_dict"), dict):
            raise ReproduceError(f"{path}: unsupported checkpoint version {raw.get('version')!r}")
        _check_layout(raw.get("model"), raw["state_dict"], path)
        return raw
    model = raw.get("model") if isinstance(raw, dict) else None
    if isinstance(model, dict) and {"name", "args", "sd"} <= set(model):
        _check_layout(model, model["sd"], path)
        sd = {k: v for k, v in model["sd"].items() if not k.endswith(_UNUSED_OFFICIAL_KEYS)}
        return {"format": FORMAT, "version": VERSION, "model": {"name": model["name"], "args": model["args"]},
                "state_dict": sd, "step": 0, "source": "official"}
    raise ReproduceError(f"{path} is not a model checkpoint of this project or of the official LIIF release")


def _check_layout(spec, state_dict, path) -> None:
    """Refuse a checkpoint whose model spec or weights are not the shapes this code reads.

    ``spec``: ``{"name": str, "args": dict, ...}``; ``state_dict``: names -> tensors.
    """
    if not (isinstance(spec, dict) and isinstance(spec.get("name"), str) and isinstance(spec.get("args", {}), dict)):
        raise ReproduceError(f"{path}: its model spec is not a name with arguments (got {type(spec).__name__})")
    if not (isinstance(state_dict, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                 for k, v in state_dict.items())):
        raise ReproduceError(f"{path}: its weights are not a mapping of names to tensors")


def export_official(checkpoint: dict, path: str | os.PathLike) -> None:
    """Write a checkpoint in the official release format, loadable by yinboc/liif's code.

    The official EDSR modules also hold two (unused) mean-shift layers; their
    weights are filled in with the official initial values so that its strict
    ``load_state_dict`` accepts the file.
    """
    sd = dict(checkpoint["state_dict"])
    spec = checkpoint["model"]
    encoder = spec.get("args", {}).get("encoder_spec", {}).get("name")
    if encoder in ("edsr-baseline", "edsr"):
        mean = torch.tensor([0.4488, 0.4371, 0.4040])
        for name, sign in (("sub_mean", -1), ("add_mean", 1)):
            sd[f"encoder.{name}.weight"] = torch.eye(3).view(3, 3, 1, 1)
            sd[f"encoder.{name}.bias"] = sign * mean
    args = {k: v for k, v in spec["args"].items() if k != "fast"}  # ours only
    payload = {"model": {"name": spec["name"], "args": args, "sd": sd}, "epoch": checkpoint.get("step", 0)}
    _save(payload, path)


def load(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model stored in a checkpoint (ours or official) in eval mode."""
    ckpt = load_checkpoint(path)
    return build_from_checkpoint(ckpt, path).to(device)


def build_from_checkpoint(ckpt: dict, path: str | os.PathLike = "<checkpoint>") -> nn.Module:
    try:
        model = make(ckpt["model"])
    except ReproduceError:
        raise
    except Exception as exc:  # noqa: BLE001 - a foreign spec can fail anywhere in a model's constructor
        said = exc.args[0] if isinstance(exc, KeyError) and exc.args else f"{type(exc).__name__}: {exc}"
        raise ReproduceError(f"{path}: cannot build its model spec: {said}") from None
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        first = str(exc).splitlines()[0:2]
        raise ReproduceError(f"{path}: weights do not match the model spec: {' '.join(first)}") from None
    return model.eval()
