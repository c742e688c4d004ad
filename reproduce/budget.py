"""The training budget behind each checkpoint, read from the checkpoint itself: one table for every notebook.

A checkpoint saved by ``engine.train`` carries its config and provenance;
weights from elsewhere (the official release) carry neither and are marked
so. Notebooks add their own columns (e.g. IPF's frozen-LIIF check) to these.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .evaluate import file_digest
from .models import load_checkpoint


def budget_row(path: str | Path) -> dict:
    """The budget of one checkpoint: status, steps, batch, peak lr, schedule, data, seed, hours, device, commit, sha256.

    ``status`` is "missing (not trained yet)", "external weights, no training
    record" or "trained". ``hours`` is the wall time of the process that
    saved the checkpoint (a resumed run's earlier sessions are not in it).
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
    return {**row, "steps": ckpt.get("step"), "batch": t["batch_size"], "peak lr": f"{t['lr']:g}",
            "schedule": t["schedule"]["kind"], "data": "+".join(t["datasets"]), "seed": t["seed"],
            "hours": prov.get("seconds_since_start", math.nan) / 3600, "device": prov.get("device", "?"), "commit": commit}


def budget_table(checkpoints: dict[str, str | Path], label: str = "method") -> pd.DataFrame:
    """One :func:`budget_row` per named checkpoint, the name in column ``label`` first."""
    return pd.DataFrame([{label: name, **budget_row(path)} for name, path in checkpoints.items()])
