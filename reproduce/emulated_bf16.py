"""bf16 arithmetic on a CPU without bf16 kernels: fp32 kernels on bf16 operands.

bf16 autocast casts the inputs of convolutions and matrix products to bf16
and returns bf16. oneDNN's fast kernels for that need AVX-512 or AMX; on a
CPU with AVX2 only, PyTorch falls back to reference kernels: the
EDSR-baseline encoder ran 7-10x slower than in fp32 on two AMD EPYCs
(``benchmarks/bf16_kernels.py``), one 64-channel 3x3 convolution on a 256x384
map about 400x (a one-off measurement). Our score tables made with
bf16 must be rechecked and extended in bf16 (``scores.scoring_settings``: a
paired difference between a bf16 row and an fp32 row would measure the
precision, not the model), so on such a CPU they were out of reach.

The products those kernels compute can be had exactly from fp32 kernels: a
bf16 value is an fp32 value with a shorter mantissa, the product of two bf16
values fits an fp32 mantissa, and oneDNN accumulates bf16 products in fp32 and
rounds the result to bf16 once. :class:`EmulatedBf16` does the same: below
autocast (which has already cast the operands to bf16), it computes each
convolution and matrix product in fp32 on the bf16 operands, widened without
loss, and rounds the result to bf16 (round to nearest even, as oneDNN does).
What differs from the native kernels is only the order of the fp32
additions, the same freedom that makes AMX, AVX-512 and GPU results differ
(``scores.TOLERANCE``). Measured on committed AMX bf16 scores (2026-12-05,
AMD EPYC with AVX2 only, LIIF-d seed 0, three Set14 images at x4 and x12):
six rows of one model: emulated PSNR within 2e-4 dB of the committed value
(five of six within 6e-5; the table keeps 4 decimals), fp32 0.0004-0.0014 dB
above it, in 1.3x fp32's time; ``benchmarks/bf16_emulation.py`` repeats that
check on any machine.

Only forward passes are emulated: autograd records the bf16 ops, and their
backward (``loss.backward()``, outside any mode) runs on the native bf16
kernels, so bf16 *training* on such a CPU stays slower than fp32 (the
trainer warns; ``bf16: auto`` picks fp32 there). Inference, which is what
scoring is, runs entirely under the mode.

Every other op (elementwise, grid sampling, ...) runs as autocast makes it
run, bf16 or fp32: those have fast bf16 code on every CPU.
"""
from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_aten = torch.ops.aten
# The ops bf16 autocast sends to the slow kernels (after autocast and the
# composite ops: nn.Linear -> addmm/mm, matmul -> mm/bmm/mv/dot, conv1d/2d/3d
# and their transposes -> convolution). Not emulated: scaled dot-product
# attention (no model here uses it).
EMULATED_OPS = frozenset({_aten.convolution.default, _aten.mm.default, _aten.addmm.default, _aten.bmm.default,
                          _aten.baddbmm.default, _aten.addbmm.default, _aten.mv.default, _aten.dot.default})


def _all_bf16(args, kwargs) -> bool:
    """Whether the op has floating-point tensor operands and every one of them is bf16.

    Mixed fp32 and bf16 operands are an error of the native kernels; passed on
    unchanged, they stay one instead of being quietly computed.
    """
    floats = [v for v in (*args, *kwargs.values()) if isinstance(v, torch.Tensor) and v.is_floating_point()]
    return bool(floats) and all(v.dtype == torch.bfloat16 for v in floats)


def _widen(value):
    """A bf16 tensor as the fp32 tensor of the same values (exact); anything else as it is."""
    if isinstance(value, torch.Tensor) and value.dtype == torch.bfloat16:
        return value.float()
    if isinstance(value, (list, tuple)):
        return type(value)(_widen(v) for v in value)
    return value


class EmulatedBf16(TorchDispatchMode):
    """Convolutions and matrix products on bf16 operands run as fp32 kernels, rounded back to bf16.

    Use inside bf16 autocast (``device.autocast_context`` does so on a CPU
    without bf16 kernels). An op with fp32 operands is left alone.
    ``emulated`` counts the ops computed this way by this mode, the class's
    ``total`` those of every instance (for benchmarks and tests).
    """

    total = 0

    def __init__(self):
        super().__init__()
        self.emulated = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in EMULATED_OPS and _all_bf16(args, kwargs):
            self.emulated += 1
            EmulatedBf16.total += 1
            # the mode is off inside this method: the fp32 call goes straight to the fp32 kernel
            return func(*_widen(args), **_widen(kwargs)).to(torch.bfloat16)
        return func(*args, **kwargs)
