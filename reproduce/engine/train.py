"""The training loop shared by every model trained with a pixel loss (LIIF, its ablations, MetaSR, SRCNN, SRResNet).

One run lives in one folder::

    out_dir/config.yaml   the full config (defaults merged in)
    out_dir/last.pt       the latest checkpoint (atomic rename), resumable
    out_dir/log.jsonl     one JSON line per log/validation event

A new run never goes into a folder that holds one already (a checkpoint or a
log): it would mix its log lines with the old run's. Each log line is
appended with a single write, so an interruption leaves at worst a torn last
line; readers skip it with a warning and resuming drops it.

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
import warnings
from collections import deque
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..data import EvalPairs, ImageCrops, ImageSet, StepBatchSampler, TrainSamples
from ..config import DEFAULTS, merge
from ..device import pick_device
from ..errors import ReproduceError
from ..fileio import write_text_atomic
from ..models import load_checkpoint, make, save_checkpoint, save_weights
from ..normalize import to_model
from ..provenance import provenance
from .adversarial import AdversarialStep
from ..device import autocast_context, has_bf16_kernels
from .schedule import lr_at


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
    call with ``resume=True`` continues it. Without ``resume`` the out_dir must
    not hold a run yet (no ``last.pt``, no ``log.jsonl``); an empty folder is fine.

    The steps, each a function below: check the run folder, set up the
    processes, build model/optimizer/discriminator, restore a checkpoint,
    build the data, then loop (learning rate, one optimisation step, log,
    validate, checkpoint).
    """
    t, run = cfg["train"], cfg["run"]
    out_dir = Path(run["out_dir"])
    ckpt_path = out_dir / "last.pt"
    check_run_folder(out_dir, resume)
    device = pick_device(t["device"])
    rank, world = init_distributed(device)
    main = rank == 0
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
    else:
        log = lambda message: None  # noqa: E731  (only rank 0 speaks)

    model, optimizer, gan = build_training(cfg, device, world, resume, log)
    step = restore_checkpoint(cfg, ckpt_path, model, optimizer, gan, main, log) if resume else 0
    if main:
        write_text_atomic(out_dir / "config.yaml", yaml.safe_dump(cfg, sort_keys=False))
    net = DistributedDataParallel(model) if world > 1 else model
    if t["compile"]:
        net = torch.compile(net)
    images, loader = build_data(t, step, rank, world, log)
    validator = Validator(cfg["valid"], t["bf16"]) if cfg["valid"]["every"] and main else None
    n_params = sum(p.numel() for p in model.parameters())
    log(f"training {cfg['model']['name']} ({n_params / 1e6:.2f} M parameters) on {len(images)} images, "
        f"device {device} x {world} process(es), bf16 {t['bf16']}, steps {step}..{t['steps']}")
    if t["bf16"] and not has_bf16_kernels(device):
        log(f"warning: train.bf16 is true but {device} has no fast bf16 kernels (a CPU needs AVX-512 or AMX): "
            "every step will be many times slower than in fp32; set train.bf16: false on this machine")

    # Recorded once, at the start: the code that runs is the code checked out now.
    origin = provenance(device, seed=t["seed"], world_size=world, started_at_step=step)
    model.train()
    start = time.perf_counter()
    progress = Progress(start, step)
    loss_sum, loss_n = 0.0, 0
    for batch in loader:
        learning_rate = set_learning_rate(optimizer, gan, step, t)
        if gan:
            loss = gan(net, optimizer, batch, device, t["bf16"])
        else:
            loss = train_step(net, optimizer, batch, device, t["bf16"], t["loss"])
        loss_sum, loss_n, step = loss_sum + loss, loss_n + 1, step + 1

        if step % run["log_every"] == 0 or step == t["steps"]:
            log_interval(out_dir, step, t["steps"], loss_sum, loss_n, learning_rate, progress, gan, world, main, log)
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


def check_run_folder(out_dir: Path, resume: bool) -> None:
    """A new run needs a folder without a run in it; a resumed one needs its checkpoint."""
    ckpt_path = out_dir / "last.pt"
    if not resume:
        if ckpt_path.exists():
            raise ReproduceError(f"{out_dir} already holds a run ({ckpt_path.name}); "
                                 "pass --resume to continue it or choose a fresh --out-dir")
        if (out_dir / "log.jsonl").exists():  # killed before its first checkpoint: its log would get our lines
            raise ReproduceError(f"{out_dir} already holds a run (log.jsonl, stopped before its first "
                                 "checkpoint, so --resume has nothing to continue); choose a fresh --out-dir "
                                 "or remove the old run")
    if resume and not ckpt_path.exists():
        raise ReproduceError(f"nothing to resume: {ckpt_path} does not exist")


def build_training(cfg: dict, device: torch.device, world: int, resume: bool, log: Callable[[str], None]):
    """(model, optimizer, adversarial step or None), seeded; a GAN generator starts from ``gan.init`` unless resuming."""
    t = cfg["train"]
    torch.manual_seed(t["seed"])
    model = make(cfg["model"]).to(device)
    for name in t["freeze"]:
        submodule(model, name, "train.freeze").requires_grad_(False)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=t["lr"])
    gan = None
    if cfg["gan"]["init_into"] and not cfg["gan"]["init"]:
        raise ReproduceError(f"gan.init_into is {cfg['gan']['init_into']!r} but gan.init names no checkpoint to load into it")
    if cfg["gan"]["discriminator"]:  # built before any RNG state is restored
        if world > 1:
            raise ReproduceError("adversarial training runs in one process (no DistributedDataParallel)")
        if t["compile"]:  # the adversarial step calls the bare model (its training_outputs), never a compiled wrapper
            raise ReproduceError("train.compile is not supported with adversarial training (gan.discriminator set)")
        gan = AdversarialStep(cfg["gan"], device, t["lr"])
        if cfg["gan"]["init"] and not resume:
            target = submodule(model, cfg["gan"]["init_into"], "gan.init_into")
            target.load_state_dict(load_checkpoint(cfg["gan"]["init"])["state_dict"])
            where = f" into {cfg['gan']['init_into']}" if cfg["gan"]["init_into"] else ""
            log(f"generator initialised from {cfg['gan']['init']}{where}")
    return model, optimizer, gan


def submodule(model: torch.nn.Module, name: str, key: str) -> torch.nn.Module:
    """``model`` itself for "", else its submodule ``name`` (dotted); a config error names ``key``."""
    if not name:
        return model
    try:
        return model.get_submodule(name)
    except AttributeError:
        children = ", ".join(n for n, _ in model.named_children())
        raise ReproduceError(f"{key}: the model has no submodule {name!r} (it has: {children})") from None


def restore_checkpoint(cfg: dict, ckpt_path: Path, model, optimizer, gan, main: bool, log: Callable[[str], None]) -> int:
    """Load model, optimizer, RNG (and discriminator) states of a run with the same config; returns its step."""
    ckpt = load_checkpoint(ckpt_path)
    out_dir = ckpt_path.parent
    # Keys added to the defaults after the run started read as their defaults.
    stored = merge(DEFAULTS, {k: v for k, v in ckpt.get("config", {}).items() if k in DEFAULTS})
    changed = [k for k in cfg if k != "run" and stored.get(k) != cfg[k]]
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
        _truncate_log(out_dir / "log.jsonl", step, log)
    if gan:
        gan.load_state_dict(ckpt["gan"])
    log(f"resuming {out_dir} at step {step}")
    return step


def build_data(t: dict, step: int, rank: int, world: int, log: Callable[[str], None]):
    """(images, DataLoader) yielding this rank's batches from ``step`` on, for the configured task."""
    images = ImageSet(t["datasets"], limit=t["limit"])
    if t["task"] == "implicit":
        samples = TrainSamples(images, t["inp_size"], t["scale_min"], t["scale_max"], t["augment"], t["sample_q"], t["seed"])
    elif t["task"] == "image":
        samples = ImageCrops(images, t["patch"], t["scale_min"], t["scale_max"], t["augment"], t["upsample_input"], t["seed"],
                             scale_group=t["batch_size"] if t["scale_per_batch"] else 0)
        if samples.skipped:
            log(f"{samples.skipped} image(s) smaller than the {t['patch']}-pixel patch left out")
    else:
        raise ReproduceError(f"unknown train.task {t['task']!r}: implicit or image")
    if t["loss"] not in LOSSES:
        raise ReproduceError(f"unknown train.loss {t['loss']!r}: {' or '.join(LOSSES)}")
    sampler = StepBatchSampler(len(samples), t["batch_size"], t["steps"], t["seed"], t["repeat"], start_step=step,
                               rank=rank, world_size=world)
    loader = DataLoader(samples, batch_sampler=sampler, num_workers=t["workers"], persistent_workers=t["workers"] > 0)
    return images, loader


def set_learning_rate(optimizer, gan, step: int, t: dict) -> float:
    """The schedule's learning rate at ``step``, set on the optimizer (and the discriminator's)."""
    learning_rate = lr_at(step, t["steps"], t["lr"], **t["schedule"])
    for group in optimizer.param_groups:
        group["lr"] = learning_rate
    if gan:
        gan.set_lr(learning_rate)
    return learning_rate


def log_interval(out_dir: Path, step: int, total: int, loss_sum: float, loss_n: int, learning_rate: float,
                 progress: "Progress", gan, world: int, main: bool, log: Callable[[str], None]) -> None:
    """One log line (file: this interval's raw speed; console: the smoothed speed and ETA)."""
    if world > 1:  # report the global batch's loss, not rank 0's slice
        total_loss = torch.tensor([loss_sum], dtype=torch.float64)
        dist.all_reduce(total_loss)
        loss_sum = total_loss.item() / world
    progress.update(time.perf_counter(), step)
    if main:
        _append_log(out_dir, {"step": step, "loss": loss_sum / loss_n, "lr": learning_rate, "it_per_s": progress.last_rate,
                              **(gan.last if gan else {})})
    log(f"step {step}/{total}  loss {loss_sum / loss_n:.4f}  lr {learning_rate:.2e}  {progress.rate:.2f} it/s  "
        f"ETA {_hms(progress.eta(total))}")


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
    if not save_weights(checkpoint, load_checkpoint(last)):
        log(f"{checkpoint} already holds these weights: kept (its sha256, which committed scores record, stays)")
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
    """PSNR of the model on the first ``limit`` images of a validation set, centre-cropped to ``crop``.

    Scored by ``evaluate.score_pairs``, the core of every evaluation; the
    (LR, HR) pairs are made once and reused at every validation.
    """

    def __init__(self, cfg: dict, bf16: bool):
        from ..evaluate import preset_for_set  # lazy: evaluate imports the engine

        images = ImageSet(cfg["dataset"], limit=cfg["limit"])
        crops = [centre_crop(img, cfg["crop"]) for img in images]
        self.pairs = EvalPairs(crops, cfg["scale"])
        self.preset = preset_for_set(cfg["dataset"])
        self.scale, self.bf16 = cfg["scale"], bf16
        self.description = f"{cfg['dataset']} x{cfg['scale']}, {len(crops)} images, {self.preset}"

    def __call__(self, model) -> float:
        from ..evaluate import score_pairs, upscaler

        was_training = model.training
        model.eval()
        scores = score_pairs(upscaler(model, bf16=self.bf16), self.pairs, self.preset, self.scale)
        model.train(was_training)
        return sum(r["psnr"] for r in scores) / len(scores)


def centre_crop(img, size: int | None):
    """The centred ``size`` x ``size`` crop of an (H, W, C) array (the whole side where it is smaller); None: unchanged."""
    if size is None:
        return img
    h, w = img.shape[:2]
    y0, x0 = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return img[y0:y0 + size, x0:x0 + size]


class Progress:
    """Training speed and ETA, averaged over a sliding window of log points.

    The speed of the last log interval alone swings whenever that interval
    held a validation, a checkpoint write or a compilation, and the ETA with
    it. Averaged over at least the last ``window_s`` seconds and the last
    ``min_intervals`` intervals (as far as the run goes back), such a pause
    weighs only in proportion to its share of the window. The caller passes
    the clock readings, so the arithmetic is testable without sleeping.
    """

    def __init__(self, now: float, step: int, window_s: float = 60.0, min_intervals: int = 10):
        self.window_s, self.min_intervals = window_s, max(1, min_intervals)
        self.points: deque[tuple[float, int]] = deque([(now, step)])

    def update(self, now: float, step: int) -> None:
        """Record that ``step`` was reached at time ``now`` (seconds, any monotonic clock)."""
        self.points.append((now, step))
        # Drop the oldest point only while the rest still cover the window in both senses.
        while len(self.points) > self.min_intervals + 1 and now - self.points[1][0] >= self.window_s:
            self.points.popleft()

    @staticmethod
    def _rate(a: tuple[float, int], b: tuple[float, int]) -> float:
        return (b[1] - a[1]) / (b[0] - a[0]) if b[0] > a[0] else math.nan

    @property
    def rate(self) -> float:
        """Steps per second over the window (nan before any time has passed)."""
        return self._rate(self.points[0], self.points[-1])

    @property
    def last_rate(self) -> float:
        """Steps per second over the last interval alone."""
        return self._rate(self.points[-2], self.points[-1]) if len(self.points) > 1 else math.nan

    def eta(self, total_steps: int) -> float:
        """Seconds until ``total_steps`` at the windowed rate (inf when it is unknown or zero)."""
        rate = self.rate
        return (total_steps - self.points[-1][1]) / rate if rate > 0 else math.inf


def read_log(out_dir: str | Path) -> list[dict]:
    """The records of a run's ``log.jsonl`` (a torn last line is skipped with a warning)."""
    path = Path(out_dir) / "log.jsonl"
    return _read_jsonl(path) if path.exists() else []


def _read_jsonl(path: Path) -> list[dict]:
    return [record for _, record in _log_lines(path)]


def _log_lines(path: Path, on_torn: Callable[[str], None] | None = None) -> list[tuple[str, dict]]:
    """(line, record) for each non-blank line of a JSON-lines log.

    A line that is not a JSON object is an error, except the last: a run
    stopped while appending leaves a torn tail, which is reported to
    ``on_torn`` (default: a warning) and left out.
    """
    numbered = [(n, raw) for n, raw in enumerate(path.read_bytes().split(b"\n"), 1) if raw.strip()]
    lines = []
    for i, (n, raw) in enumerate(numbered):
        try:  # a torn multi-byte character fails to decode: a ValueError like bad JSON
            text = raw.decode("utf-8")
            record = json.loads(text)
            if not isinstance(record, dict):
                raise ValueError(f"a JSON {type(record).__name__}, not an object")
        except ValueError as err:
            if i == len(numbered) - 1:
                message = f"{path}: skipped the torn last line {n} (the run stopped while writing it)"
                if on_torn is None:
                    warnings.warn(message, stacklevel=4)  # at the caller of read_log
                else:
                    on_torn(message)
                break
            raise ReproduceError(f"{path}: line {n} is not a JSON record ({err})") from None
        lines.append((text, record))
    return lines


def _append_log(out_dir: Path, record: dict) -> None:
    """Append one JSON line with one ``os.write`` on an ``O_APPEND`` descriptor.

    A buffered file object may split a line over several writes; one write in
    append mode lands whole at the end of the file, never interleaved with
    another writer's, so an interruption leaves at worst a torn last line.
    """
    data = (json.dumps(record) + "\n").encode()
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)  # O_BINARY: no \r\n on Windows
    fd = os.open(out_dir / "log.jsonl", flags, 0o666)  # the umask decides the mode, as for open()
    try:
        written = os.write(fd, data)
        while written < len(data):  # short only on a full disk or a signal: finish the line rather than tear it
            written += os.write(fd, data[written:])
    finally:
        os.close(fd)


def _truncate_log(path: Path, step: int, log: Callable[[str], None] | None = None) -> None:
    """Drop log lines written after the checkpoint we resume from (they will be redone), and a torn tail."""
    if path.exists():
        kept = [line for line, record in _log_lines(path, on_torn=log) if record["step"] <= step]
        write_text_atomic(path, "".join(line + "\n" for line in kept))


def _hms(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
