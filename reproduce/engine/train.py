"""The training loop shared by every model trained with a pixel loss (LIIF, its ablations, MetaSR, SRCNN, SRResNet).

One run lives in one folder::

    out_dir/config.yaml   the full config (defaults merged in)
    out_dir/last.pt       the latest checkpoint (atomic rename), resumable
    out_dir/log.jsonl     one JSON line per log/validation event

Resuming restores model, optimizer, step and RNG states; the data of step t
depends only on (seed, t) (see ``reproduce.data.sampler``) and the learning
rate is a function of the step, so on the CPU an interrupted and resumed run
ends bit-identical to an uninterrupted one.

Data-parallel training: started by ``torchrun`` (WORLD_SIZE > 1), each
process takes its slice of every global batch, DistributedDataParallel
averages the gradients (gloo on CPU, nccl on GPU), and rank 0 alone logs,
validates and writes checkpoints. With equal slices the averaged gradient is
the gradient of the global batch's mean loss, so the run matches a single
process on the same global batch up to float summation order.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..data import EvalPairs, ImageCrops, ImageSet, StepBatchSampler, TrainSamples, to_tensor
from ..errors import ReproduceError
from ..fileio import write_text_atomic
from ..metrics import get_preset, preset_for_dataset, psnr
from ..models import build_from_checkpoint, load_checkpoint, make, save_checkpoint, save_weights
from ..normalize import to_model
from ..provenance import provenance
from .adversarial import AdversarialStep
from .predict import autocast_context, upscale
from .schedule import lr_at


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return torch.device(name)


def init_distributed(device: torch.device) -> tuple[int, int]:
    """(rank, world size); joins the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def train(cfg: dict, resume: bool = False, log: Callable[[str], None] = print, stop_at: int | None = None) -> Path:
    """Train ``cfg['model']`` as configured; returns the path of the last checkpoint.

    ``stop_at`` ends the run early after that step, with a checkpoint, as an
    interruption would (the schedule still follows ``train.steps``); a later
    call with ``resume=True`` continues it.
    """
    t, run = cfg["train"], cfg["run"]
    out_dir = Path(run["out_dir"])
    ckpt_path = out_dir / "last.pt"
    if ckpt_path.exists() and not resume:
        raise ReproduceError(f"{out_dir} already holds a run; pass --resume to continue it or choose another out_dir")
    if resume and not ckpt_path.exists():
        raise ReproduceError(f"nothing to resume: {ckpt_path} does not exist")
    device = pick_device(t["device"])
    rank, world = init_distributed(device)
    main = rank == 0
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
    else:
        log = lambda message: None  # noqa: E731  (only rank 0 speaks)

    torch.manual_seed(t["seed"])
    model = make(cfg["model"]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=t["lr"])
    gan = None
    if cfg["gan"]["discriminator"]:  # built before any RNG state is restored
        if world > 1:
            raise ReproduceError("adversarial training runs in one process (no DistributedDataParallel)")
        gan = AdversarialStep(cfg["gan"], device, t["lr"])
        if cfg["gan"]["init"] and not resume:
            model.load_state_dict(load_checkpoint(cfg["gan"]["init"])["state_dict"])
            log(f"generator initialised from {cfg['gan']['init']}")
    step = 0
    if resume:
        ckpt = load_checkpoint(ckpt_path)
        changed = [k for k in cfg if k != "run" and ckpt.get("config", {}).get(k) != cfg[k]]
        if changed:
            raise ReproduceError(f"{out_dir} holds a run with a different configuration ({', '.join(changed)} differ); "
                                 "resume it with its own config or train into another out_dir")
        if gan and "gan" not in ckpt:
            raise ReproduceError(f"{ckpt_path} has no discriminator state: it was not saved by an adversarial run")
        model.load_state_dict(ckpt["state_dict"])
        optimizer.load_state_dict(ckpt["optimizer"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        step = ckpt["step"]
        if main:
            _truncate_log(out_dir / "log.jsonl", step)
        log(f"resuming {out_dir} at step {step}")
    if main:
        write_text_atomic(out_dir / "config.yaml", yaml.safe_dump(cfg, sort_keys=False))
    if gan and resume:
        gan.load_state_dict(ckpt["gan"])
    net = DistributedDataParallel(model) if world > 1 else model
    if t["compile"]:
        net = torch.compile(net)

    images = ImageSet(t["datasets"], limit=t["limit"])
    if t["task"] == "implicit":
        samples = TrainSamples(images, t["inp_size"], t["scale_min"], t["scale_max"], t["augment"], t["sample_q"], t["seed"])
    elif t["task"] == "image":
        samples = ImageCrops(images, t["patch"], t["scale_min"], t["scale_max"], t["augment"], t["upsample_input"], t["seed"])
        if samples.skipped:
            log(f"{samples.skipped} image(s) smaller than the {t['patch']}-pixel patch left out")
    else:
        raise ReproduceError(f"unknown train.task {t['task']!r}: implicit or image")
    if t["loss"] not in LOSSES:
        raise ReproduceError(f"unknown train.loss {t['loss']!r}: {' or '.join(LOSSES)}")
    sampler = StepBatchSampler(len(samples), t["batch_size"], t["steps"], t["seed"], t["repeat"], start_step=step,
                               rank=rank, world_size=world)
    loader = DataLoader(samples, batch_sampler=sampler, num_workers=t["workers"], persistent_workers=t["workers"] > 0)
    validator = Validator(cfg["valid"], device, t["bf16"]) if cfg["valid"]["every"] and main else None
    n_params = sum(p.numel() for p in model.parameters())
    log(f"training {cfg['model']['name']} ({n_params / 1e6:.2f} M parameters) on {len(images)} images, "
        f"device {device} x {world} process(es), bf16 {t['bf16']}, steps {step}..{t['steps']}")

    # Recorded once, at the start: the code that runs is the code checked out now.
    origin = provenance(device, seed=t["seed"], world_size=world, started_at_step=step)
    model.train()
    start = tic = time.perf_counter()
    tic_step, loss_sum, loss_n = step, 0.0, 0
    for batch in loader:
        lr = lr_at(step, t["steps"], t["lr"], **t["schedule"])
        for group in optimizer.param_groups:
            group["lr"] = lr
        if gan:
            gan.set_lr(lr)
            loss = gan(net, optimizer, batch, device, t["bf16"])
        else:
            loss = train_step(net, optimizer, batch, device, t["bf16"], t["loss"])
        loss_sum, loss_n, step = loss_sum + loss, loss_n + 1, step + 1

        if step % run["log_every"] == 0 or step == t["steps"]:
            if world > 1:  # report the global batch's loss, not rank 0's slice
                total = torch.tensor([loss_sum], dtype=torch.float64)
                dist.all_reduce(total)
                loss_sum = total.item() / world
            rate = (step - tic_step) / (time.perf_counter() - tic)  # since the previous log line
            tic, tic_step = time.perf_counter(), step
            eta = (t["steps"] - step) / rate
            if main:
                _append_log(out_dir, {"step": step, "loss": loss_sum / loss_n, "lr": lr, "it_per_s": rate,
                                      **(gan.last if gan else {})})
            log(f"step {step}/{t['steps']}  loss {loss_sum / loss_n:.4f}  lr {lr:.2e}  {rate:.2f} it/s  ETA {_hms(eta)}")
            loss_sum, loss_n = 0.0, 0
        if validator and (step % cfg["valid"]["every"] == 0 or step == t["steps"]):
            value = validator(model)
            _append_log(out_dir, {"step": step, "val_psnr": value})
            log(f"step {step}  validation PSNR {value:.3f} dB ({validator.description})")
        if main and (step % run["checkpoint_every"] == 0 or step in (t["steps"], stop_at)):
            save_checkpoint(ckpt_path, model, cfg["model"], step, optimizer=optimizer.state_dict(),
                            rng={"torch": torch.get_rng_state()}, config=cfg,
                            **({"gan": gan.state_dict()} if gan else {}),
                            provenance={**origin, "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                        "seconds_since_start": round(time.perf_counter() - start, 3)})
        if step == stop_at:
            log(f"stopped at step {step} (resumable)")
            break
    if world > 1:
        dist.barrier()  # the checkpoint is complete before any process returns
        dist.destroy_process_group()
    return ckpt_path


def train_and_store(cfg: dict, checkpoint: str | Path, log: Callable[[str], None] = print) -> Path:
    """Train ``cfg`` (resuming its run folder if it holds a checkpoint), then store the result.

    The weights (no optimizer or RNG state) go to ``checkpoint`` and the
    training log beside it (``<checkpoint stem>.log.jsonl``): the files a
    notebook commits and the ``report`` profile reads. Returns ``checkpoint``.
    """
    out_dir = Path(cfg["run"]["out_dir"])
    last = train(cfg, resume=(out_dir / "last.pt").exists(), log=log)
    checkpoint = Path(checkpoint)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    save_weights(checkpoint, load_checkpoint(last))
    write_text_atomic(checkpoint.with_suffix(".log.jsonl"), (out_dir / "log.jsonl").read_text())
    return checkpoint


def read_stored_log(checkpoint: str | Path) -> list[dict]:
    """The training log stored beside a checkpoint by :func:`train_and_store`."""
    path = Path(checkpoint).with_suffix(".log.jsonl")
    if not path.is_file():
        raise ReproduceError(f"no training log beside {checkpoint} (expected {path})")
    return _read_jsonl(path)


LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss}


def train_step(model, optimizer, batch: dict, device: torch.device, bf16: bool, loss: str = "l1") -> float:
    """One optimisation step: L1 (or MSE) between prediction and target in [-1, 1].

    Implicit models get (inp, coord, cell) and predict the sampled pixels;
    image-to-image networks get the input image and predict the HR crop.
    """
    inp = to_model(batch["inp"].to(device))
    gt = to_model(batch["gt"].to(device))
    with autocast_context(device, bf16):
        if "coord" in batch:
            pred = model(inp, batch["coord"].to(device), batch["cell"].to(device))
        else:
            pred = model(inp.contiguous(memory_format=torch.channels_last))
    value = LOSSES[loss](pred.float(), gt)
    optimizer.zero_grad(set_to_none=True)
    value.backward()
    optimizer.step()
    return value.item()


class Validator:
    """PSNR of the model on the first ``limit`` images of a validation set (centre-cropped)."""

    def __init__(self, cfg: dict, device: torch.device, bf16: bool):
        images = ImageSet(cfg["dataset"], limit=cfg["limit"])
        crops = [_centre_crop(img, cfg["crop"]) for img in images]
        self.pairs = EvalPairs(crops, cfg["scale"])
        self.preset = get_preset(preset_for_dataset(cfg["dataset"]))
        self.scale, self.device, self.bf16 = cfg["scale"], device, bf16
        self.description = f"{cfg['dataset']} x{cfg['scale']}, {len(crops)} images, {self.preset.name}"

    def __call__(self, model) -> float:
        was_training = model.training
        model.eval()
        values = []
        for lr, hr in (self.pairs[i] for i in range(len(self.pairs))):
            hr_t = to_tensor(hr)
            sr = upscale(model, to_tensor(lr).to(self.device), hr_t.shape[-2:], bf16=self.bf16).cpu()
            values.append(float(psnr(sr, hr_t, self.preset, self.scale)))
        model.train(was_training)
        return sum(values) / len(values)


def _centre_crop(img, size):
    if size is None:
        return img
    h, w = img.shape[:2]
    y0, x0 = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return img[y0:y0 + size, x0:x0 + size]


def read_log(out_dir: str | Path) -> list[dict]:
    path = Path(out_dir) / "log.jsonl"
    return _read_jsonl(path) if path.exists() else []


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _append_log(out_dir: Path, record: dict) -> None:
    with open(out_dir / "log.jsonl", "a") as fh:
        fh.write(json.dumps(record) + "\n")


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint we resume from (they will be redone)."""
    if path.exists():
        kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
        write_text_atomic(path, "".join(line + "\n" for line in kept))


def _hms(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
