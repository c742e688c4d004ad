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
