"""Shared fixtures: tiny model specs and small images (no dataset needed)."""
from __future__ import annotations

import copy

import numpy as np
import pytest


def liif_spec(n_feats=8, n_resblocks=1, hidden=(16, 16), **flags):
    return {"name": "liif", "args": {
        "encoder_spec": {"name": "edsr-baseline", "args": {"n_resblocks": n_resblocks, "n_feats": n_feats, "no_upsampling": True}},
        "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": list(hidden)}},
        **flags}}


@pytest.fixture
def tiny_spec():
    return copy.deepcopy(liif_spec())


def tiny_training_config(out_dir, steps, **train):
    """A full training config for liif_spec() on 2 sample images (CPU; validation and checkpoint every 3 steps)."""
    from reproduce.config import load_config

    return load_config(None, {
        "model": liif_spec(),
        "train": {"datasets": ["sample"], "limit": 2, "repeat": 1, "inp_size": 12, "scale_max": 3, "sample_q": 64,
                  "batch_size": 2, "steps": steps, "lr": 1e-3, "seed": 5, "device": "cpu", **train},
        "valid": {"dataset": "sample", "limit": 1, "crop": 48, "scale": 2, "every": 3},
        "run": {"out_dir": str(out_dir), "log_every": 1, "checkpoint_every": 3},
    })


@pytest.fixture
def tiny_config():
    """The builder ``tiny_training_config(out_dir, steps, **train)``, as a fixture."""
    return tiny_training_config


@pytest.fixture
def smooth_image():
    """A deterministic smooth-plus-texture uint8 image (40, 56, 3)."""
    y, x = np.mgrid[0:40, 0:56]
    img = np.stack([128 + 100 * np.sin(x / 7.0), 128 + 100 * np.cos(y / 5.0), (x * 3 + y * 2) % 256], axis=-1)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(autouse=True)
def _no_data_root(monkeypatch, tmp_path_factory):
    """Tests never depend on the real datasets: the data root is an empty folder."""
    monkeypatch.setenv("REPRODUCE_DATA", str(tmp_path_factory.mktemp("empty-data-root")))
