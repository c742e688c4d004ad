"""The command line: the happy paths on tiny inputs and every bad-input case."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from PIL import Image

from conftest import liif_spec
from reproduce.cli import main
from reproduce.models import make, save_checkpoint


@pytest.fixture
def files(tmp_path, smooth_image):
    Image.fromarray(smooth_image).save(tmp_path / "in.png")
    spec = liif_spec()
    save_checkpoint(tmp_path / "model.pt", make(spec), spec)
    (tmp_path / "text.png").write_text("hello")
    torch.save({"something": torch.zeros(1)}, tmp_path / "foreign.pt")
    data = (tmp_path / "model.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[:200])
    return tmp_path


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_upscale_scale_and_size(files, capsys):
    code, out, err = run(capsys, "upscale", str(files / "in.png"), "--scale", "3.7", "--checkpoint", str(files / "model.pt"), "-o", str(files / "out.png"))
    assert code == 0, err
    assert Image.open(files / "out.png").size == (round(56 * 3.7), round(40 * 3.7))
    code, _, err = run(capsys, "upscale", str(files / "in.png"), "--size", "50,70", "--checkpoint", str(files / "model.pt"), "-o", str(files / "out.webp"))
    assert code == 0, err
    assert Image.open(files / "out.webp").size == (70, 50)  # PIL reports (W, H)


BAD_UPSCALE = [
    (["--scale", "abc"], "must be a number"),
    (["--scale", "0"], "positive"),
    (["--scale", "-2"], "positive"),
    (["--scale", "nan"], "positive"),
    (["--scale", "0.5"], "below 1"),
    (["--size", "0,10"], "positive"),
    (["--size", "12"], "H,W"),
    (["--size", "a,b"], "H,W"),
]


@pytest.mark.parametrize("args,message", BAD_UPSCALE)
def test_upscale_bad_scale_or_size(files, capsys, args, message):
    code, _, err = run(capsys, "upscale", str(files / "in.png"), *args, "--checkpoint", str(files / "model.pt"), "-o", str(files / "o.png"))
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (files / "o.png").exists()


@pytest.mark.parametrize("image,checkpoint,output,message", [
    ("missing.png", "model.pt", "o.png", "image not found"),
    ("text.png", "model.pt", "o.png", "cannot read"),
    ("in.png", "missing.pt", "o.png", "checkpoint not found"),
    ("in.png", "cut.pt", "o.png", "truncated"),
    ("in.png", "foreign.pt", "o.png", "not a model checkpoint"),
    ("in.png", "in.png", "o.png", "truncated or not a PyTorch file"),
    ("in.png", "model.pt", "no/such/dir/o.png", "output folder does not exist"),
    ("in.png", "model.pt", "o.xyz", "output format"),
])
def test_upscale_bad_files(files, capsys, image, checkpoint, output, message):
    code, _, err = run(capsys, "upscale", str(files / image), "--scale", "2", "--checkpoint", str(files / checkpoint), "-o", str(files / output))
    assert code == 2, err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (files / output).exists()
    assert not [p for p in files.iterdir() if p.name.startswith(".")]  # no temporary left


def test_eval_bicubic_on_sample_writes_csv(files, capsys):
    code, out, err = run(capsys, "eval", "bicubic", "--sets", "sample", "--scales", "2,4", "--limit", "2", "--csv", str(files / "t.csv"))
    assert code == 0, err
    lines = (files / "t.csv").read_text().splitlines()
    assert lines[0] == "set,scale,psnr,ssim" and len(lines) == 3
    assert "sample" in out and "psnr" in out
    psnr2, psnr4 = (float(line.split(",")[2]) for line in lines[1:])
    assert psnr2 > psnr4 > 15


def test_eval_model_and_errors(files, capsys):
    code, out, err = run(capsys, "eval", str(files / "model.pt"), "--sets", "sample", "--scales", "2", "--limit", "1")
    assert code == 0, err
    code, _, err = run(capsys, "eval", "bicubic", "--sets", "Set5", "--scales", "2")
    assert code == 2 and "not found" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "eval", "bicubic", "--sets", "sample", "--scales", "2,x")
    assert code == 2 and "must be a number" in err
    code, _, err = run(capsys, "eval", "bicubic", "--sets", "sample", "--csv", str(files / "nodir" / "t.csv"))
    assert code == 2 and "output folder does not exist" in err


def test_train_bad_config(files, capsys):
    code, _, err = run(capsys, "train", str(files / "nope.yaml"))
    assert code == 2 and "config not found" in err


def test_console_entry_point_exit_code(files):
    proc = subprocess.run([sys.executable, "-m", "reproduce", "upscale", str(files / "in.png"), "--scale", "x",
                           "--checkpoint", "m.pt", "-o", "o.png"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_bf16_on_a_device_without_bf16_kernels_gets_a_note(files, capsys, monkeypatch):
    import reproduce.device as dev

    monkeypatch.setattr(dev, "has_bf16_kernels", lambda device: False)
    code, _, err = run(capsys, "eval", "bicubic", "--sets", "sample", "--scales", "2", "--limit", "1", "--bf16")
    assert code == 0 and "no fast bf16 kernels" in err
    code, _, err = run(capsys, "eval", "bicubic", "--sets", "sample", "--scales", "2", "--limit", "1")
    assert code == 0 and "bf16" not in err
    monkeypatch.setattr(dev, "has_bf16_kernels", lambda device: True)
    code, _, err = run(capsys, "eval", "bicubic", "--sets", "sample", "--scales", "2", "--limit", "1", "--bf16")
    assert code == 0 and "bf16" not in err


def test_run_on_a_machine_without_bf16_kernels_gets_a_note(capsys, monkeypatch):
    import reproduce.device as dev

    asked = []
    monkeypatch.setattr(dev, "has_bf16_kernels", lambda device: asked.append(str(device)) or False)
    code, _, err = run(capsys, "run", "99", "--profile", "report")  # no such notebook: the note, then the error
    assert code == 2 and "no fast bf16 kernels" in err and "Traceback" not in err
    assert asked == ["cpu"]  # the notebooks score on the CPU, whatever GPU the machine has
    for argv in (["--profile", "smoke"], ["--profile", "report", "-p", "scores=full"], ["--profile", "cpu"]):
        code, _, err = run(capsys, "run", "99", *argv)  # full scoring picks fp32 there ('auto')
        assert code == 2 and "bf16" not in err, argv
    monkeypatch.setattr(dev, "has_bf16_kernels", lambda device: True)
    code, _, err = run(capsys, "run", "99", "--profile", "report")
    assert code == 2 and "bf16" not in err


def test_ablation_trains_one_arm_stores_its_weights_and_refuses_bad_input(tmp_path, capsys):
    from reproduce.models import load

    common = ["--config-dir", "configs/smoke", "--run-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "store")]
    code, out, err = run(capsys, "ablation", "EDSR-baseline-x2", "0", *common)
    assert code == 0, err
    stored = tmp_path / "store" / "EDSR-baseline-x2-seed0.pt"
    assert stored.is_file() and stored.with_suffix(".log.jsonl").is_file() and f"weights: {stored}" in out
    state = torch.load(stored, weights_only=True)
    assert "optimizer" not in state and state["provenance"]["seed"] == 0
    assert load(stored) is not None
    # an existing checkpoint is never overwritten (its committed scores would no longer match)
    code, _, err = run(capsys, "ablation", "EDSR-baseline-x2", "0", *common)
    assert code == 2 and "exists" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "ablation", "LIIF-z", "0", *common)
    assert code == 2 and "unknown ablation arm 'LIIF-z'" in err
    code, _, err = run(capsys, "ablation", "LIIF-c", "-1", *common)
    assert code == 2
    code, _, err = run(capsys, "ablation", "LIIF-c", "x", *common)
    assert code == 2 and "invalid int value" in err


def test_ipf_seed_trains_another_seed_of_ipf_and_refuses_bad_input(tmp_path, capsys):
    """`reproduce ipf-seed K`: the smoke IPF on a tiny frozen LIIF, stored apart from the arm's own ipf.pt."""
    from reproduce.config import load_config
    from reproduce.models import load

    base = load_config("configs/smoke/ipf.yaml")["model"]["args"]["base_spec"]
    save_checkpoint(tmp_path / "liif.pt", make(base), base)
    common = ["--config-dir", "configs/smoke", "--run-dir", str(tmp_path / "runs"), "--liif", str(tmp_path / "liif.pt"),
              "--store", str(tmp_path / "store")]
    code, out, err = run(capsys, "ipf-seed", "1", *common)
    assert code == 0, err
    stored = tmp_path / "store" / "ipf-seeds" / "ipf-seed1.pt"
    assert stored.is_file() and stored.with_suffix(".log.jsonl").is_file() and f"weights: {stored}" in out
    state = torch.load(stored, weights_only=True)
    assert "optimizer" not in state and state["provenance"]["seed"] == 1
    assert (tmp_path / "runs" / "ipf-seed1").is_dir() and load(stored) is not None
    code, _, err = run(capsys, "ipf-seed", "1", *common)  # never overwritten
    assert code == 2 and "exists" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "ipf-seed", "0", *common)  # seed 0 is the committed arm
    assert code == 2 and "seed 0 is the committed IPF" in err
    code, _, err = run(capsys, "ipf-seed", "2", *common[:4], "--liif", str(tmp_path / "none.pt"), *common[6:])
    assert code == 2 and "no LIIF checkpoint" in err
