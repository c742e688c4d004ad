"""Training and prediction."""
from ..device import autocast_context
from .predict import upscale
from .schedule import lr_at
from .train import read_log, read_stored_log, train, train_and_store

__all__ = ["autocast_context", "lr_at", "read_log", "read_stored_log", "train", "train_and_store", "upscale"]
