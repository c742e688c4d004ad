"""Device words: the ones this machine has work, the rest are one clear error."""
from __future__ import annotations

import pytest
import torch

from reproduce.device import pick_device
from reproduce.errors import ReproduceError


def test_cpu_and_auto():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(" CPU ") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("word", ["gpu", "cuda0", "tpu", "", "cpu:x"])
def test_unknown_words(word):
    with pytest.raises(ReproduceError, match="unknown device"):
        pick_device(word)


def test_missing_hardware(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ReproduceError, match="CUDA is not available"):
        pick_device("cuda")
    with pytest.raises(ReproduceError, match="CUDA is not available"):
        pick_device("cuda:1")
    assert pick_device("auto") == torch.device("cpu")


def test_cuda_index_beyond_count(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ReproduceError, match="has 1 CUDA device"):
        pick_device("cuda:3")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert pick_device("cuda") == torch.device("cuda", 0)


class _NoPrivateOp:
    def __getattr__(self, name):
        raise AttributeError(name)


def test_bf16_kernels_follow_onednn_and_fall_back_to_the_cpu_capability(monkeypatch):
    import reproduce.device as dev

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    assert dev.has_bf16_kernels("cpu")
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert not dev.has_bf16_kernels("cpu")
    # without the private op: AVX-512 has the kernels, AVX2 does not
    monkeypatch.setattr(torch.ops, "mkldnn", _NoPrivateOp())
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert dev.has_bf16_kernels("cpu")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert not dev.has_bf16_kernels("cpu")
    assert not dev.has_bf16_kernels("mps")


def test_resolve_bf16_auto_asks_the_hardware_and_keeps_explicit_choices(monkeypatch):
    import reproduce.device as dev

    for fast in (True, False):
        monkeypatch.setattr(dev, "has_bf16_kernels", lambda device, fast=fast: fast)
        assert dev.resolve_bf16("auto") is fast and dev.resolve_bf16(" AUTO ") is fast
        assert dev.resolve_bf16(True) is True and dev.resolve_bf16(False) is False
    for bad in ("yes", 1, None):
        with pytest.raises(ReproduceError, match="bf16 must be"):
            dev.resolve_bf16(bad)
