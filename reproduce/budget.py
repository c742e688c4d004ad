"""The training budget behind each checkpoint, read from the checkpoint itself: one table for every notebook.

A checkpoint saved by ``engine.train`` carries its config and provenance;
weights from elsewhere (the official release) carry neither and are marked
so. Notebooks add their own columns (e.g. IPF's frozen-LIIF check) to these.
"""
from __future__ import annotations

import math
import numbers
from pathlib import Path

import pandas as pd

from .engine.train import read_stored_log
from .evaluate import file_digest
from .models import load_checkpoint


def budget_row(path: str | Path) -> dict:
    """The budget of one checkpoint: status, steps, batch, peak lr, schedule, data, validation, seed, hours, device,
    commit, sha256.

    ``validation`` is the set the run was monitored on ("Kodak24 x4, 4 images,
    256-px crops"); it selects nothing (the stored weights are the last
    step's), but a test on the same images is not independent of it.

    ``status`` is "missing (not trained yet)", "external weights, no training
    record" or "trained". ``hours`` is the training wall time: the process
    that saved the checkpoint, plus, for a resumed run ("resumed at step" > 0),
    the earlier processes' time up to that step estimated from the training
    log stored beside the checkpoint (:func:`logged_hours`); without that log
    only the last process is counted. "resumed at step" is None for a run
    trained in one process.
    """
    path = Path(path)
    if not path.is_file():
        return {"status": "missing (not trained yet)"}
    ckpt = load_checkpoint(path)
    cfg, prov = ckpt.get("config") or {}, ckpt.get("provenance") or {}
    row = {"status": "trained" if "train" in cfg else "external weights, no training record",
           "sha256": file_digest(path)[:16]}
    if "train" not in cfg:
        return row
    t = cfg["train"]
    commit = (prov.get("commit") or "?")[:10] + (" (dirty)" if prov.get("dirty") else "")
    hours, resumed = prov.get("seconds_since_start", math.nan) / 3600, prov.get("started_at_step") or 0
    if resumed and path.with_suffix(".log.jsonl").is_file():
        hours += logged_hours(read_stored_log(path), resumed)
    return {**row, "steps": ckpt.get("step"), "batch": t["batch_size"], "peak lr": f"{t['lr']:g}",
            "schedule": t["schedule"]["kind"], "data": "+".join(t["datasets"]), "validation": _validation(cfg),
            "seed": t["seed"], "hours": hours, "resumed at step": resumed or None,
            "device": prov.get("device", "?"), "commit": commit}


def logged_hours(records: list[dict], up_to_step: int) -> float:
    """Wall time (hours) a training log accounts for up to ``up_to_step``: the sum of its intervals' steps / (steps/s).

    ``records`` are a training log's (``engine.train.read_stored_log``: one
    record per log interval with ``step`` and ``it_per_s``, the speed of that
    interval including any validation or checkpoint pause in it; validation
    records have no speed and are skipped). Should a step appear twice, the
    later record counts (a resume already truncates the log to its
    checkpoint's step). The time before the first logged step of a process
    (start-up) is not in the log, nor is an interval whose line a killed
    process left torn, so this slightly underestimates.
    """
    speed: dict[int, float] = {}
    for entry in records:
        if entry.get("it_per_s") and entry.get("step") is not None and entry["step"] <= up_to_step:
            speed[int(entry["step"])] = float(entry["it_per_s"])
    seconds, previous = 0.0, 0
    for step in sorted(speed):
        seconds += (step - previous) / speed[step]
        previous = step
    return seconds / 3600


def _validation(cfg: dict) -> str:
    """A config's ``valid`` block in words: "Kodak24 x4, 4 images, 256-px crops" ("-" without one)."""
    v = cfg.get("valid") or {}
    if not v.get("dataset"):
        return "-"
    parts = [f"{v['dataset']} x{v.get('scale', '?'):g}" if isinstance(v.get("scale"), (int, float)) else str(v["dataset"])]
    if v.get("limit"):
        parts.append(f"{v['limit']} images")
    if v.get("crop"):
        parts.append(f"{v['crop']}-px crops")
    return ", ".join(parts)


def budget_table(checkpoints: dict[str, str | Path], label: str = "method") -> pd.DataFrame:
    """One :func:`budget_row` per named checkpoint, the name in column ``label`` first.

    The "resumed at step" column is kept only when some run was resumed.
    """
    table = pd.DataFrame([{label: name, **budget_row(path)} for name, path in checkpoints.items()])
    return without_unused_resume_column(with_integer_counts(table))


COUNT_COLUMNS = ("steps", "batch", "seed", "resumed at step", "hr patch")  # whole numbers by nature


def with_integer_counts(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its :data:`COUNT_COLUMNS` as whole numbers (Python ints, NaN where missing).

    A missing checkpoint's row leaves NaN in these columns, which makes pandas
    store the whole column as float, and the report printed "seed 0.000",
    "steps 6000.000". A column holding a fractional value is left as it is.
    """
    table = table.copy()
    for col in COUNT_COLUMNS:
        if col not in table:
            continue
        values = table[col]
        if not all(isinstance(v, numbers.Real) and float(v).is_integer() for v in values.dropna()):
            continue
        table[col] = pd.Series([int(v) if pd.notna(v) else math.nan for v in values], index=table.index, dtype=object)
    return table


def without_unused_resume_column(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` less its "resumed at step" column when no run in it was resumed (a column of blanks says nothing)."""
    if "resumed at step" in table and table["resumed at step"].isna().all():
        table = table.drop(columns="resumed at step")
    return table


PAPER_STEPS = 1_000_000  # LIIF's schedule: 1000 epochs of 1000 iterations, batch 16


def training_summary(ckpt: dict) -> dict:
    """What a training run spent, read from one loaded checkpoint (``models.load_checkpoint``).

    Keys: steps, fraction of the paper's 10^6 steps, device, commit (+ dirty),
    start and save times, wall time in hours and mean steps/s of the process
    that saved it (a resumed run's earlier processes are not counted: the
    step it resumed at is given), bf16, training sets. Values a checkpoint
    does not record are None.
    """
    prov, t = ckpt.get("provenance") or {}, (ckpt.get("config") or {}).get("train") or {}
    seconds, step = prov.get("seconds_since_start"), ckpt.get("step")
    resumed = prov.get("started_at_step") or 0
    commit = prov.get("commit")
    return {
        "steps": step,
        "paper's steps": PAPER_STEPS,
        "fraction of the paper's schedule": f"{step / PAPER_STEPS:.2%}" if step is not None else None,
        "trained on": prov.get("device"),
        "trained at commit": commit[:12] + (" (dirty)" if prov.get("dirty") else "") if commit else None,
        "started": prov.get("time"),
        "last checkpoint written": prov.get("saved"),
        "training wall time (h)": round(seconds / 3600, 2) if seconds else None,
        "mean speed (steps/s)": round((step - resumed) / seconds, 2) if seconds and step is not None else None,
        "resumed at step (wall time and speed cover only the last process)": resumed or None,
        "bf16 autocast": t.get("bf16"),
        "datasets": ", ".join(t["datasets"]) if "datasets" in t else None,
    }
