"""Training and prediction."""
from .predict import autocast_context, upscale
from .schedule import lr_at
from .train import read_log, train

__all__ = ["autocast_context", "lr_at", "read_log", "train", "upscale"]
