"""reproduce.emulated_bf16: bf16 autocast's convolutions and products as fp32 kernels on bf16 operands."""
import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode

import reproduce.device as dev
import reproduce.emulated_bf16 as emu
from conftest import liif_spec
from reproduce.engine import upscale
from reproduce.models import make


class KernelLog(TorchDispatchMode):
    """Records the floating dtypes of the operands of every emulated-kind op that reaches it."""

    def __init__(self):
        super().__init__()
        self.operands = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in emu.EMULATED_OPS:
            self.operands.append({a.dtype for a in (*args, *kwargs.values())
                                  if isinstance(a, torch.Tensor) and a.is_floating_point()})
        return func(*args, **kwargs)


def rounded(t):
    """The fp32 values a bf16 cast keeps."""
    return t.to(torch.bfloat16).float()


def test_each_emulated_op_is_the_fp32_op_on_bf16_operands_rounded_once():
    torch.manual_seed(0)
    x, w, b = torch.randn(1, 5, 9, 7), torch.randn(6, 5, 3, 3), torch.randn(6)
    a, m, bias = torch.randn(40, 33), torch.randn(17, 33), torch.randn(17)
    p, q, r = torch.randn(3, 8, 30), torch.randn(3, 30, 4), torch.randn(3, 8, 4)
    expected = {
        "conv": F.conv2d(rounded(x), rounded(w), rounded(b), padding=1).to(torch.bfloat16),
        "linear": F.linear(rounded(a), rounded(m), rounded(bias)).to(torch.bfloat16),
        "matmul": (rounded(a) @ rounded(m).t()).to(torch.bfloat16),
        "bmm": torch.bmm(rounded(p), rounded(q)).to(torch.bfloat16),
        "baddbmm": torch.baddbmm(rounded(r), rounded(p), rounded(q)).to(torch.bfloat16),
        "conv_transpose": F.conv_transpose2d(rounded(x), rounded(w.transpose(0, 1)), padding=1).to(torch.bfloat16),
    }
    below = KernelLog()  # entered first, so it sees what the emulation hands to the kernels
    with torch.autocast("cpu", dtype=torch.bfloat16), below, emu.EmulatedBf16() as mode:
        got = {
            "conv": F.conv2d(x, w, b, padding=1),
            "linear": F.linear(a, m, bias),
            "matmul": a @ m.t(),
            "bmm": torch.bmm(p, q),
            "baddbmm": torch.baddbmm(r, p, q),
            "conv_transpose": F.conv_transpose2d(x, w.transpose(0, 1), padding=1),
        }
    assert mode.emulated == len(expected) and emu.EmulatedBf16.total >= len(expected)
    # every convolution and product reached its kernel with fp32 operands: the fast fp32 kernels ran,
    # whatever the native bf16 kernels of this CPU would have returned
    assert len(below.operands) == len(expected)
    assert all(dtypes == {torch.float32} for dtypes in below.operands), below.operands
    for name, want in expected.items():
        assert got[name].dtype == torch.bfloat16, name
        assert torch.equal(got[name], want), name


def test_fp32_ops_and_other_ops_pass_through_untouched():
    x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    with emu.EmulatedBf16() as mode:  # no autocast: fp32 operands
        y = F.conv2d(x, w)
        z = torch.relu(y) + 1
    assert mode.emulated == 0 and y.dtype == torch.float32
    assert torch.equal(z, torch.relu(F.conv2d(x, w)) + 1)


def test_mixed_fp32_and_bf16_operands_stay_the_error_they_are():
    a, b = torch.randn(4, 3), torch.randn(3, 2, dtype=torch.bfloat16)
    with pytest.raises(RuntimeError) as native:
        torch.mm(a, b)
    with emu.EmulatedBf16() as mode, pytest.raises(RuntimeError) as emulated:
        torch.mm(a, b)
    assert mode.emulated == 0 and str(emulated.value) == str(native.value)


@pytest.mark.parametrize("fast", [True, False])
def test_autocast_context_emulates_only_on_a_cpu_without_bf16_kernels(monkeypatch, fast):
    monkeypatch.setattr(dev, "has_bf16_kernels", lambda device: fast)
    with dev.autocast_context("cpu", True):
        assert torch.is_autocast_enabled("cpu")
        assert isinstance(_get_current_dispatch_mode(), emu.EmulatedBf16) is (not fast)
    assert _get_current_dispatch_mode() is None and not torch.is_autocast_enabled("cpu")
    with dev.autocast_context("cpu", False):
        assert _get_current_dispatch_mode() is None and not torch.is_autocast_enabled("cpu")
    assert dev.bf16_arithmetic("cpu") == ("native" if fast else "emulated")
    assert dev.bf16_arithmetic("meta") == "native"  # not a CPU: autocast's own kernels


def test_a_liif_upscaled_with_emulated_bf16_is_bf16_arithmetic_close_to_the_native_kernels(monkeypatch):
    torch.manual_seed(0)
    model = make(liif_spec(n_feats=16, hidden=(32, 32))).eval()
    lr = torch.rand(3, 10, 12)
    calls = []
    dispatch = emu.EmulatedBf16.__torch_dispatch__

    def counted(self, func, types, args=(), kwargs=None):
        calls.append(func in emu.EMULATED_OPS)
        return dispatch(self, func, types, args, kwargs)

    monkeypatch.setattr(emu.EmulatedBf16, "__torch_dispatch__", counted)
    fp32 = upscale(model, lr, (30, 36))
    monkeypatch.setattr(dev, "has_bf16_kernels", lambda device: True)
    native = upscale(model, lr, (30, 36), bf16=True)
    assert not calls
    monkeypatch.setattr(dev, "has_bf16_kernels", lambda device: False)
    emulated = upscale(model, lr, (30, 36), bf16=True)
    assert sum(calls) >= 4  # the encoder's convolutions and the decoder's layers went through the emulation
    assert emulated.dtype == torch.float32 and emulated.shape == (3, 30, 36)
    assert not torch.equal(emulated, fp32)  # bf16 rounding took place
    # the emulation differs from the native kernels by the order of fp32 additions only,
    # far less than bf16 differs from fp32
    assert (emulated - native).abs().mean() < 0.5 * (native - fp32).abs().mean()
