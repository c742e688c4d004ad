"""Run folders and their files: output modes, refusing to mix runs, torn log lines, the training ETA."""
from __future__ import annotations

import json
import os
import stat
import warnings

import pytest

from reproduce.engine import read_log, train
from reproduce.errors import ReproduceError
from reproduce.fileio import atomic_path, write_text_atomic


@pytest.fixture
def umask():
    """Set the process umask for one test (it is process-wide: put the old one back)."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- atomic writes get ordinary file modes -----------------------------------------------------------

@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640)], ids=["umask022", "umask027"])
def test_atomic_write_mode_follows_umask(tmp_path, umask, mask, expected):
    umask(mask)
    write_text_atomic(tmp_path / "table.csv", "a,b\n")
    with atomic_path(tmp_path / "weights.bin") as tmp:  # the path checkpoints and images go through
        tmp.write_bytes(b"\0")
    assert mode(tmp_path / "table.csv") == expected
    assert mode(tmp_path / "weights.bin") == expected


def test_atomic_rewrite_keeps_existing_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "shared.txt"
    target.write_text("old")
    os.chmod(target, 0o664)
    write_text_atomic(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o664


def test_current_umask_reads_without_changing_it(umask, monkeypatch):
    from reproduce import fileio

    umask(0o027)
    assert fileio.current_umask() == 0o027
    assert os.umask(0o027) == 0o027  # unchanged by the read

    def no_proc(*args, **kwargs):  # systems without /proc: the set-and-restore fallback
        raise OSError("no /proc")

    monkeypatch.setattr(fileio, "open", no_proc, raising=False)
    assert fileio.current_umask() == 0o027
    assert os.umask(0o027) == 0o027


# --- a new run never goes into a folder holding one --------------------------------------------------

def test_log_without_checkpoint_refuses_a_new_run(tmp_path, tiny_config):
    """A run killed before its first checkpoint left only log.jsonl: a new run must not append to it."""
    out = tmp_path / "killed"
    out.mkdir()
    old_log = json.dumps({"step": 1, "loss": 0.5, "lr": 1e-3, "it_per_s": 1.0}) + "\n"
    (out / "log.jsonl").write_text(old_log)
    with pytest.raises(ReproduceError, match="--resume") as info:
        train(tiny_config(out, 1), log=lambda m: None)
    assert "fresh --out-dir" in str(info.value)
    assert (out / "log.jsonl").read_text() == old_log and not (out / "last.pt").exists()
    with pytest.raises(ReproduceError, match="nothing to resume"):
        train(tiny_config(out, 1), resume=True, log=lambda m: None)


def test_checkpoint_refuses_a_new_run_and_empty_folder_is_fine(tmp_path, tiny_config):
    out = tmp_path / "empty"
    out.mkdir()
    train(tiny_config(out, 1), log=lambda m: None)  # an existing but empty folder takes a run
    with pytest.raises(ReproduceError, match="--resume") as info:
        train(tiny_config(out, 1), log=lambda m: None)
    assert "fresh --out-dir" in str(info.value)


# --- torn log lines ----------------------------------------------------------------------------------

def _lines(*steps):
    return "".join(json.dumps({"step": s, "loss": 0.1, "lr": 1e-3, "it_per_s": 2.0}) + "\n" for s in steps)


def test_read_log_skips_a_torn_last_line(tmp_path):
    (tmp_path / "log.jsonl").write_text(_lines(1, 2) + '{"step": 3, "lo')
    with pytest.warns(UserWarning, match=r"torn last line 3"):
        records = read_log(tmp_path)
    assert [r["step"] for r in records] == [1, 2]


def test_read_log_rejects_a_torn_line_in_the_middle(tmp_path):
    (tmp_path / "log.jsonl").write_text(_lines(1) + '{"step": 2, "lo\n' + _lines(3))
    with pytest.raises(ReproduceError, match=r"log\.jsonl: line 2"):
        read_log(tmp_path)


def test_resume_drops_a_torn_last_line(tmp_path, tiny_config):
    out = tmp_path / "b"
    train(tiny_config(out, 6), log=lambda m: None, stop_at=3)
    with open(out / "log.jsonl", "a") as fh:  # killed while appending step 4's line
        fh.write('{"step": 4, "loss": 0.0')
    messages = []
    train(tiny_config(out, 6), resume=True, log=messages.append)
    assert any("torn last line" in m for m in messages)
    assert '"loss": 0.0{' not in (out / "log.jsonl").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the file is whole again: no warning
        log = read_log(out)
    assert [r["step"] for r in log if "loss" in r] == list(range(1, 7))
    assert [r["step"] for r in log if "val_psnr" in r] == [3, 6]


def test_log_line_is_one_write_in_append_mode(tmp_path, monkeypatch):
    from reproduce.engine.train import _append_log

    fcntl = pytest.importorskip("fcntl")
    calls = []
    real_write = os.write

    def spy(fd, data):
        calls.append((fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND, bytes(data)))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    (tmp_path / "log.jsonl").write_text(_lines(1))
    _append_log(tmp_path, {"step": 2, "loss": 0.25})
    monkeypatch.undo()
    assert calls == [(os.O_APPEND, b'{"step": 2, "loss": 0.25}\n')]
    assert [r["step"] for r in read_log(tmp_path)] == [1, 2]


# --- training speed and ETA --------------------------------------------------------------------------

def test_eta_is_not_swung_by_one_slow_interval():
    from reproduce.engine.train import Progress

    p = Progress(0.0, 0, window_s=60.0, min_intervals=10)
    for k in range(1, 21):  # 10 steps per log interval, 10 s each: 1 it/s
        p.update(10.0 * k, 10 * k)
    assert p.rate == pytest.approx(1.0) and p.eta(1000) == pytest.approx(800.0)
    p.update(240.0, 210)  # a validation made this interval 40 s
    assert p.last_rate == pytest.approx(0.25)  # what the last interval alone says: ETA 3160 s
    # The window is the last 10 intervals (they span more than 60 s): 100 steps in 130 s.
    assert p.rate == pytest.approx(100 / 130)
    assert p.eta(1000) == pytest.approx(790 * 130 / 100)
    for k in range(1, 101):  # the slow interval leaves the window once it is old enough
        p.update(240.0 + k, 210 + k)
    assert p.rate == pytest.approx(1.0) and p.eta(1000) == pytest.approx(690.0)


def test_eta_time_window_with_fast_intervals():
    from reproduce.engine.train import Progress

    p = Progress(0.0, 0, window_s=60.0, min_intervals=10)
    now = 0.0
    for step in range(1, 1001):  # 10 it/s, one log line per step
        now += 0.1
        p.update(now, step)
    assert len(p.points) <= 602  # only about the last 60 s are kept
    now += 3.0  # a checkpoint write
    p.update(now, 1001)
    assert p.last_rate == pytest.approx(1 / 3)
    assert 9.0 < p.rate < 10.0  # about 600 steps in 63 s


def test_eta_edge_cases():
    from reproduce.engine.train import Progress, _hms

    p = Progress(5.0, 300)  # resumed at step 300: only steps since count
    assert p.eta(1000) == float("inf") and _hms(p.eta(1000)) == "?"
    p.update(5.0, 300)  # no time has passed
    assert _hms(p.eta(1000)) == "?"
    p.update(15.0, 310)
    assert p.rate == pytest.approx(1.0) and p.eta(1000) == pytest.approx(690.0)
