"""Training configuration: YAML files merged over defaults, validated strictly.

A config has four parts: ``model`` (a registry spec), ``train`` (data and
optimisation), ``valid`` (periodic validation) and ``run`` (output folder and
logging/checkpoint periods). Defaults are the paper's schedule; the YAML only
states what differs. Unknown keys are errors, so a typo cannot be ignored.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from .errors import ReproduceError

DEFAULTS: dict[str, Any] = {
    "model": None,  # required: {"name": ..., "args": ...}
    "train": {
        "datasets": ["T91", "BSD200"],  # DIV2K substitute (DIV2K cannot be obtained here)
        "limit": None,          # first N images of each dataset (None: all)
        "repeat": 20,           # epoch = repeat passes over the images (paper: DIV2K x20)
        "inp_size": 48,         # LR crop size
        "scale_min": 1.0,       # scale ~ U(scale_min, scale_max)
        "scale_max": 4.0,
        "sample_q": 2304,       # HR pixels sampled per crop
        # implicit: LIIF-style query samples (LIIF, MetaSR); image: (LR, HR) crops
        # for image-to-image networks (SRCNN, SRResNet), see data.ImageCrops.
        "task": "implicit",
        "patch": 96,            # image task: HR crop size
        "upsample_input": False,  # image task: feed the bicubic upsample (SRCNN)
        # image task: one scale ~ U(scale_min, scale_max) per batch, shared by its crops (so LR
        # crops of a mixed-scale run stack), for implicit models trained on whole images (IPF)
        "scale_per_batch": False,
        "freeze": [],           # submodules kept fixed (not optimised), e.g. [base] for IPF's LIIF
        "loss": "l1",           # l1 (LIIF) or mse (SRCNN, SRResNet)
        "augment": True,        # 8 dihedral transforms
        "batch_size": 16,
        "steps": 1_000_000,     # paper: 1000 epochs x 1000 iterations
        "lr": 1.0e-4,
        # step: lr x gamma at the given fractions of the run (paper: epochs 200/400/600/800 of 1000);
        # cosine: linear warm-up over `warmup` of the run, then cosine decay to lr * final.
        "schedule": {"kind": "step", "milestones": [0.2, 0.4, 0.6, 0.8], "gamma": 0.5, "warmup": 0.0, "final": 0.0},
        "bf16": False,          # bfloat16 autocast (AMX on CPU, tensor cores on GPU)
        "compile": False,       # torch.compile the training forward (fuses elementwise ops; ~30 s start-up)
        "workers": 0,           # DataLoader worker processes
        "seed": 0,
        "device": "auto",       # auto: cuda if available, else cpu
    },
    "valid": {
        "dataset": "Kodak24",   # DIV2K-valid substitute
        "scale": 4,
        "limit": 4,             # first N images
        "crop": 256,            # centre HR crop (None: whole image), to keep validation cheap
        "every": 5000,          # steps between validations (0: never)
    },
    # Adversarial training (SRGAN): off unless a discriminator is given; see engine.adversarial.
    "gan": {
        "discriminator": None,  # registry spec, e.g. {name: srgan-discriminator, args: {patch: 96}}
        "init": None,           # checkpoint the generator starts from (SRGAN: the trained SRResNet)
        "init_into": "",        # submodule that checkpoint fills ("" the whole model; IPF: base, its LIIF)
        "content": "vgg",       # ST-LPIPS network used as the content loss
        "adv_weight": 1.0e-3,   # SRGAN's weight of the adversarial term
        "pixel_weight": 0.0,    # weight of the pixel term (0 in SRGAN)
        "pixel_loss": "mse",    # mse or l1 (IPF, ESRGAN)
    },
    "run": {
        "out_dir": "runs/default",
        "log_every": 100,
        "checkpoint_every": 1000,
    },
}


def merge(base: dict, override: dict, where: str = "") -> dict:
    """Deep-merge ``override`` into a copy of ``base``; unknown keys and wrong types raise.

    A value must have the type of the default it replaces (a section stays a
    mapping; a whole number may be written 1e3 or 1000.0; an int may stand for
    a float); defaults of None accept anything.
    """
    if not isinstance(override, dict):
        raise ReproduceError(f"config section {where.rstrip('.') or 'root'!r} must be a mapping, got {override!r}")
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key not in base:
            raise ReproduceError(f"unknown config key {where}{key!r}; known: {', '.join(base)}")
        if isinstance(base[key], dict) and key != "model":
            out[key] = merge(base[key], value, f"{where}{key}.")
        else:
            out[key] = _typed(base[key], copy.deepcopy(value), f"{where}{key}")
    return out


def _typed(default, value, name: str):
    """``value`` checked (and whole floats made int) against the type of ``default``."""
    if default is None or value is None or isinstance(default, (dict, list)) and isinstance(value, (dict, list)):
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ReproduceError(f"{name} must be true or false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ReproduceError(f"{name} must be a whole number, got {value!r}")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ReproduceError(f"{name} must be a number, got {value!r}")
    if isinstance(default, str) and not isinstance(value, str):
        raise ReproduceError(f"{name} must be text, got {value!r}")
    return value


def nest_dotted(flat: dict[str, Any]) -> dict:
    """``{"train.steps": 200, "model.args.cell_decode": False}`` -> nested sections, as a config file holds them."""
    nested: dict = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ReproduceError(f"parameter {key!r} sets a value inside {part!r}, which is set on its own too")
        node[leaf] = value
    return nested


def _update_model(spec: dict, override: dict) -> dict:
    """The model spec with ``override`` merged in key by key (free-form: no defaults to check against)."""
    out = copy.deepcopy(spec)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _update_model(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(path: str | os.PathLike | None = None, overrides: dict | None = None) -> dict:
    """Read a YAML config (or start from the defaults) and apply overrides.

    ``overrides`` are nested sections (see :func:`nest_dotted`); those of
    ``model`` are merged into the file's model spec key by key (so
    ``model.args.cell_decode`` changes one argument), the rest are checked
    against the defaults like the file.
    """
    cfg = DEFAULTS
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ReproduceError(f"config not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ReproduceError(f"{path} is not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ReproduceError(f"{path} must hold a mapping of config sections")
        cfg = merge(cfg, loaded)
    if overrides:
        overrides = dict(overrides)
        model = overrides.pop("model", None)
        cfg = merge(cfg, overrides)
        if model is not None:
            cfg["model"] = _update_model(cfg["model"] or {}, model) if isinstance(model, dict) else model
    validate(cfg)
    return cfg


def validate(cfg: dict) -> None:
    model = cfg["model"]
    if not (isinstance(model, dict) and "name" in model):
        raise ReproduceError("config needs a model spec: model: {name: ..., args: {...}}")
    t = cfg["train"]
    if t["steps"] < 1 or t["batch_size"] < 1 or t["lr"] <= 0:
        raise ReproduceError("train.steps, train.batch_size and train.lr must be positive")
    if t["schedule"]["kind"] not in ("step", "cosine"):
        raise ReproduceError(f"train.schedule.kind must be 'step' or 'cosine', got {t['schedule']['kind']!r}")
