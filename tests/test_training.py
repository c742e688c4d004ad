"""Training: a tiny model learns, schedules, bit-identical resume."""
from __future__ import annotations

import pytest
import torch

from conftest import liif_spec
from reproduce.config import load_config
from reproduce.coords import make_cell, make_coord
from reproduce.data import to_tensor
from reproduce.engine import lr_at, read_log, train
from reproduce.engine.train import train_step
from reproduce.errors import ReproduceError
from reproduce.imresize import resize_pil_bicubic
from reproduce.metrics import psnr
from reproduce.models import load_checkpoint, make
from reproduce.normalize import from_model


@pytest.mark.slow
def test_tiny_model_overfits_one_image(smooth_image):
    torch.manual_seed(0)
    hr = smooth_image[:32, :32]
    lr = resize_pil_bicubic(hr, (16, 16))
    coord = make_coord((32, 32)).unsqueeze(0)
    batch = {"inp": to_tensor(lr).unsqueeze(0), "coord": coord, "cell": make_cell(coord, (32, 32)),
             "gt": to_tensor(hr).reshape(3, -1).t().unsqueeze(0)}
    model = make(liif_spec(n_feats=16, hidden=(64, 64)))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def score():
        with torch.no_grad():
            pred = from_model(model(batch["inp"] * 2 - 1, coord, batch["cell"]))
        return float(psnr(pred[0].t().reshape(3, 32, 32), to_tensor(hr)))

    before = score()
    for _ in range(300):
        train_step(model, optimizer, batch, torch.device("cpu"), bf16=False)
    assert score() > before + 10


def test_schedules():
    assert lr_at(0, 1000, 1e-4) == 1e-4
    assert lr_at(199, 1000, 1e-4) == 1e-4 and lr_at(200, 1000, 1e-4) == 5e-5
    assert lr_at(999, 1000, 1e-4) == pytest.approx(1e-4 / 16)
    cos = dict(kind="cosine", warmup=0.1, final=0.01)
    assert lr_at(0, 100, 1.0, **cos) == pytest.approx(0.1)
    assert lr_at(9, 100, 1.0, **cos) == pytest.approx(1.0)
    assert lr_at(99, 100, 1.0, **cos) == pytest.approx(0.01)
    values = [lr_at(s, 100, 1.0, **cos) for s in range(10, 100)]
    assert all(a >= b for a, b in zip(values, values[1:]))


@pytest.mark.slow
def test_resume_is_bit_identical(tmp_path, tiny_config):
    straight = train(tiny_config(tmp_path / "a", 6), log=lambda m: None)
    # Interrupted run: stop after 3 steps (its checkpoint), then resume to 6.
    train(tiny_config(tmp_path / "b", 6), log=lambda m: None, stop_at=3)
    assert load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 3
    resumed = train(tiny_config(tmp_path / "b", 6), resume=True, log=lambda m: None)
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert b["step"] == 6
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key
    log = read_log(tmp_path / "b")
    assert [r["step"] for r in log if "loss" in r] == list(range(1, 7))
    assert [r["step"] for r in log if "val_psnr" in r] == [3, 6]


def test_run_folder_is_not_overwritten(tmp_path, tiny_config):
    train(tiny_config(tmp_path / "a", 1), log=lambda m: None)
    with pytest.raises(ReproduceError, match="--resume"):
        train(tiny_config(tmp_path / "a", 1), log=lambda m: None)
    with pytest.raises(ReproduceError, match="nothing to resume"):
        train(tiny_config(tmp_path / "c", 1), resume=True, log=lambda m: None)


def test_storing_a_finished_run_again_keeps_the_weights_file(tmp_path, tiny_config):
    """train=True over a finished run (06, make train) must not change the stored file's digest."""
    import hashlib

    from reproduce.engine import train_and_store

    cfg, store = tiny_config(tmp_path / "run", 2), tmp_path / "store" / "m.pt"
    train_and_store(cfg, store, log=lambda m: None)
    digest = hashlib.sha256(store.read_bytes()).hexdigest()
    said = []
    train_and_store(cfg, store, log=said.append)  # the run is finished: nothing to train, the same weights
    assert hashlib.sha256(store.read_bytes()).hexdigest() == digest
    assert any("already holds these weights" in m for m in said)


def test_bf16_training_step_runs(tmp_path, tiny_config):
    path = train(tiny_config(tmp_path / "bf", 2, bf16=True), log=lambda m: None)
    assert load_checkpoint(path)["step"] == 2


def test_config_errors(tmp_path):
    with pytest.raises(ReproduceError, match="unknown config key"):
        load_config(None, {"model": liif_spec(), "train": {"stepz": 3}})
    with pytest.raises(ReproduceError, match="model spec"):
        load_config(None, {})
    (tmp_path / "bad.yaml").write_text("model: [unclosed")
    with pytest.raises(ReproduceError, match="YAML"):
        load_config(tmp_path / "bad.yaml")


@pytest.mark.slow
def test_ddp_two_processes_match_one_process(tmp_path, tiny_config):
    import os
    import subprocess
    import sys

    import yaml

    cfg = tiny_config(tmp_path / "ddp", 3, batch_size=4)
    cfg["valid"]["every"] = 0
    (tmp_path / "ddp.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "reproduce", "train", str(tmp_path / "ddp.yaml")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cfg["run"]["out_dir"] = str(tmp_path / "single")
    single = load_checkpoint(train(cfg, log=lambda m: None))
    ddp = load_checkpoint(tmp_path / "ddp" / "last.pt")
    assert ddp["step"] == single["step"] == 3
    for key, value in single["state_dict"].items():
        assert torch.allclose(ddp["state_dict"][key], value, atol=1e-5, rtol=1e-4), key
    # The processes really split the batch: the logged loss is the global one.
    assert abs(read_log(tmp_path / "ddp")[-1]["loss"] - read_log(tmp_path / "single")[-1]["loss"]) < 1e-4
