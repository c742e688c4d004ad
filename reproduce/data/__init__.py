"""Datasets: locating them, reading images, and LIIF's train/eval protocols."""
from .datasets import EvalPairs, ImageCrops, ImageSet, TrainSamples, make_lr
from .images import read_image, to_tensor, to_uint8
from .locate import DATASETS, data_root, dataset_files
from .sampler import StepBatchSampler

__all__ = ["DATASETS", "EvalPairs", "ImageCrops", "ImageSet", "StepBatchSampler", "TrainSamples", "data_root", "dataset_files",
           "make_lr", "read_image", "to_tensor", "to_uint8"]
