"""Models: a registry of encoders and implicit decoders, and checkpoint loading.

``make(spec)`` builds a model from ``{"name", "args"}``; ``load(path)`` reads
either this project's checkpoints or the official LIIF release format.
"""
from . import edsr, image_sr, ipf, liif, liif_normals, metasr, mlp, rdn  # noqa: F401  (register the models)
from .interface import ImageToImageSR, ImplicitSR, is_image_to_image, is_implicit
from .checkpoint import build_from_checkpoint, export_official, load, load_checkpoint, save_checkpoint, save_weights
from .liif import LIIF
from .registry import make, names, register

__all__ = ["ImageToImageSR", "ImplicitSR", "LIIF", "is_image_to_image", "is_implicit", "build_from_checkpoint", "export_official", "load", "load_checkpoint", "make", "names", "register", "save_checkpoint", "save_weights"]
