"""Fine-tuning LIIF on normal maps (with or without the shape/detail decomposition).

A training sample is a pure function of (seed, k), k counting samples since
the start, as for photographs (``reproduce.data.sampler``): pick a map whose
size allows the scale, a random scale s ~ U(1, scale_max), an HR crop of
round(inp_size * s) pixels holding at least ``min_coverage`` of object pixels,
flips (with the matching sign changes of the normal components), the LR crop
of ``inp_size`` by the evaluation's degradation, and ``sample_q`` query pixels
drawn from the object (never the background: the loss ignores it).

With ``decomposition`` the input is the LR detail component and the targets
are the HR normals in the frame of the bicubic-upsampled LR shape, exactly
what ``methods.model_on_detail`` recomposes at test time.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..coords import centres
from ..engine.schedule import lr_at
from ..engine.train import train_step
from ..errors import ReproduceError
from ..evaluate import file_digest
from ..fileio import write_text_atomic
from ..models import load_checkpoint, make, save_checkpoint
from ..provenance import provenance
from . import geometry
from .data import NormalMap, fill_lr, resize_mask, resize_normals
from .methods import lr_detail


@dataclass
class FinetuneConfig:
    """Fine-tuning settings; the defaults are this study's CPU budget (our choices, see the notebook)."""
    steps: int = 200
    batch_size: int = 8
    inp_size: int = 32
    scale_max: float = 8.0
    sample_q: int = 1024
    lr: float = 1e-4                 # the source's learning rate
    min_coverage: float = 0.3
    decomposition: bool = False
    sigma: float = geometry.SHAPE_SIGMA
    seed: int = 0
    bf16: bool = False
    log_every: int = 25

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def dataset_mean(maps: Sequence[NormalMap], decomposition: bool, sigma: float = geometry.SHAPE_SIGMA) -> list[float]:
    """Mean encoded value inside the masks of ``maps`` (of the detail components with ``decomposition``).

    Computed on the full-resolution maps (the training inputs are LR crops,
    whose detail is taken with the same sigma in LR pixels): a normalisation
    constant, close to the facing normal's (0.5, 0.5, 1) for detail components.
    """
    total, count = torch.zeros(3, dtype=torch.float64), 0
    for m in maps:
        n = m.normals
        if decomposition:
            n = geometry.decompose(n, geometry.shape_component(n, m.mask, sigma))
        total += geometry.encode(n)[:, m.mask].double().sum(1)
        count += int(m.mask.sum())
    return [round(float(v), 6) for v in total / count]


def _flip(normals: torch.Tensor, mask: torch.Tensor, hflip: bool, vflip: bool):
    if hflip:  # mirror left-right: x changes sign
        normals, mask = normals.flip(-1) * normals.new_tensor([-1, 1, 1]).view(3, 1, 1), mask.flip(-1)
    if vflip:  # mirror top-bottom: y changes sign
        normals, mask = normals.flip(-2) * normals.new_tensor([1, -1, 1]).view(3, 1, 1), mask.flip(-2)
    return normals.contiguous(), mask.contiguous()


def make_sample(maps: Sequence[NormalMap], cfg: FinetuneConfig, k: int) -> dict:
    """Sample number k: inp (3, inp, inp) and gt (Q, 3) encoded in [0, 1], coord and cell (Q, 2)."""
    rng = np.random.default_rng([cfg.seed, k])
    for _ in range(50):
        s = rng.uniform(1.0, cfg.scale_max)
        hr = int(round(cfg.inp_size * s))
        fits = [m for m in maps if min(m.normals.shape[-2:]) >= hr]
        if not fits:
            continue
        m = fits[rng.integers(len(fits))]
        h, w = m.normals.shape[-2:]
        y0, x0 = rng.integers(0, h - hr + 1), rng.integers(0, w - hr + 1)
        mask = m.mask[y0:y0 + hr, x0:x0 + hr]
        if mask.float().mean() >= cfg.min_coverage:
            break
    else:
        raise ReproduceError("no training map has enough object pixels for a crop; lower min_coverage or scale_max")
    normals, mask = _flip(m.normals[:, y0:y0 + hr, x0:x0 + hr], mask, bool(rng.integers(2)), bool(rng.integers(2)))
    size = (cfg.inp_size, cfg.inp_size)
    lr, lr_mask = fill_lr(resize_normals(normals, size), resize_mask(mask, size))
    target = normals
    if cfg.decomposition:
        shape, lr = lr_detail(lr, lr_mask, cfg.sigma)
        target = geometry.decompose(normals, resize_normals(shape, (hr, hr)))
    inside = torch.nonzero(mask.flatten()).flatten().numpy()
    pick = torch.from_numpy(rng.choice(inside, cfg.sample_q, replace=len(inside) < cfg.sample_q))
    axis = centres(hr)
    coord = torch.stack([axis[pick // hr], axis[pick % hr]], -1)
    return {"inp": geometry.encode(lr), "coord": coord, "cell": torch.full_like(coord, 2.0 / hr),
            "gt": geometry.encode(target).flatten(1)[:, pick].t().contiguous()}


def batch(maps: Sequence[NormalMap], cfg: FinetuneConfig, step: int) -> dict:
    """The batch of one step (samples step * batch_size ...), stacked."""
    items = [make_sample(maps, cfg, step * cfg.batch_size + j) for j in range(cfg.batch_size)]
    return {key: torch.stack([it[key] for it in items]) for key in items[0]}


def finetune(init_checkpoint: str | Path, maps: Sequence[NormalMap], cfg: FinetuneConfig, out: str | Path,
             log: Callable[[str], None] = print, device: str = "cpu") -> Path:
    """Fine-tune the LIIF of ``init_checkpoint`` on ``maps``; writes the weights (and a log) to ``out``.

    The model becomes a ``liif-normals`` model whose data mean is computed on
    ``maps`` (the fold's training maps). Stored weights are float16 (half the
    size; the notebook evaluates exactly what is stored) with the config,
    the data mean and provenance; the log is ``<out stem>.log.jsonl``.
    """
    init = load_checkpoint(init_checkpoint)
    if init["model"]["name"] != "liif":
        raise ReproduceError(f"{init_checkpoint} is a {init['model']['name']} model; fine-tuning starts from a LIIF checkpoint")
    mean = dataset_mean(maps, cfg.decomposition, cfg.sigma)
    spec = {"name": "liif-normals", "args": {**init["model"]["args"], "data_mean": mean}}
    torch.manual_seed(cfg.seed)
    model = make(spec).to(device)
    model.load_state_dict(init["state_dict"])
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    out = Path(out)
    origin = provenance(device, seed=cfg.seed)
    records, start, loss_sum = [], time.perf_counter(), 0.0
    for step in range(cfg.steps):
        lr_now = lr_at(step, cfg.steps, cfg.lr)  # halved at 20/40/60/80 % (the source's schedule, shortened)
        for group in optimizer.param_groups:
            group["lr"] = lr_now
        loss_sum += train_step(model, optimizer, batch(maps, cfg, step), torch.device(device), cfg.bf16)  # L1 in [-1, 1]
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            n = (step % cfg.log_every) + 1
            records.append({"step": step + 1, "loss": loss_sum / n, "lr": lr_now,
                            "seconds": round(time.perf_counter() - start, 2)})
            log(f"step {step + 1}/{cfg.steps}  loss {loss_sum / n:.4f}  {time.perf_counter() - start:.0f} s")
            loss_sum = 0.0
    model.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out, model.half(), spec, cfg.steps, config={"finetune": cfg.as_dict(), "init": str(init_checkpoint),
                                                                     "init_sha256": file_digest(init_checkpoint),
                                                                     "train_maps": [m.name for m in maps]},
                    provenance={**origin, "seconds": round(time.perf_counter() - start, 1), "stored_dtype": "float16"})
    write_text_atomic(out.with_suffix(".log.jsonl"), "".join(json.dumps(r) + "\n" for r in records))
    return out



VARIANTS = {"map": False, "detail": True}  # fine-tuned on the encoded map / on the detail component


def checkpoint_path(folder: str | Path, variant: str, fold: int) -> Path:
    """Where the fine-tuned model of one variant and fold is stored."""
    if variant not in VARIANTS:
        raise ReproduceError(f"unknown variant {variant!r}: {', '.join(VARIANTS)}")
    return Path(folder) / f"liif-{variant}-fold{fold}.pt"


def finetune_folds(init_checkpoint: str | Path, maps: Sequence[NormalMap], fold_objects: Sequence[Sequence[str]],
                   cfg: FinetuneConfig, folder: str | Path, variants: Sequence[str] = tuple(VARIANTS),
                   log: Callable[[str], None] = print) -> list[Path]:
    """Fine-tune every (variant, fold) whose checkpoint is missing, each on the maps its fold may train on.

    Resumable at model granularity: a finished model is written atomically and
    skipped on the next call.
    """
    from .data import training_maps

    done = []
    for fold, tested in enumerate(fold_objects):
        train_maps = training_maps(maps, tested)
        for variant in variants:
            path = checkpoint_path(folder, variant, fold)
            if not path.is_file():
                log(f"fine-tuning {variant} fold {fold} (tests {', '.join(tested)}; {len(train_maps)} training maps)")
                run_cfg = FinetuneConfig(**{**cfg.as_dict(), "decomposition": VARIANTS[variant]})
                finetune(init_checkpoint, train_maps, run_cfg, path, log=log)
            done.append(path)
    return done


def budget_table(folder: str | Path, fold_objects: Sequence[Sequence[str]], liif_checkpoint: str | Path | None = None):
    """One row per stored fine-tuned model: its budget, data mean, time and CPU, checked against its fold.

    Raises ``ReproduceError`` when a model was trained on a map of an object
    its fold tests, or (when it recorded one) when the sha256 of its starting
    LIIF differs from ``liif_checkpoint``'s. Missing checkpoints are skipped.
    """
    import pandas as pd

    from ..models import load_checkpoint
    from .data import SAME_OBJECT

    digest = file_digest(liif_checkpoint) if liif_checkpoint and Path(liif_checkpoint).is_file() else None
    rows = []
    for fold, tested in enumerate(fold_objects):
        for variant in VARIANTS:
            path = checkpoint_path(folder, variant, fold)
            if not path.is_file():
                continue
            ckpt = load_checkpoint(path)
            config, prov = ckpt["config"], ckpt.get("provenance", {})
            seen = {SAME_OBJECT.get(n, n) for n in config["train_maps"]}
            if seen & set(tested):
                raise ReproduceError(f"{path} was trained on a map of an object its fold tests ({', '.join(sorted(seen & set(tested)))})")
            start = config.get("init_sha256")
            if start and digest and start != digest:
                raise ReproduceError(f"{path} was fine-tuned from another LIIF than {liif_checkpoint} (sha256 differs): "
                                     "remove the fine-tuned checkpoints and fine-tune again")
            c = config["finetune"]
            rows.append({"variant": variant, "fold": fold, "steps": c["steps"], "batch": c["batch_size"], "lr crop": c["inp_size"],
                         "scale max": c["scale_max"], "training maps": len(config["train_maps"]),
                         "data mean": ", ".join(f"{v:.3f}" for v in ckpt["model"]["args"]["data_mean"]),
                         "minutes": prov.get("seconds", float("nan")) / 60,
                         "start checked": "sha256 match" if start and digest else f"path only ({config['init']})",
                         "cpu": prov.get("device", "?")})
    return pd.DataFrame(rows)
