"""The models' value range: images in [0, 1] are fed and predicted as [-1, 1].

LIIF maps inputs and targets with (x - 0.5) / 0.5 and computes its L1 loss
there; predictions are mapped back and clamped to [0, 1] for evaluation
(not rounded to 8 bits before PSNR).
"""
import torch


def to_model(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1]."""
    return (x - 0.5) / 0.5


def from_model(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], clamped."""
    return (x * 0.5 + 0.5).clamp_(0, 1)
