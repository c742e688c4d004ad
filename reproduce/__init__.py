"""Reproduction of arbitrary-scale super-resolution (LIIF and its baselines).

Subpackages: ``models`` (registry, encoders, LIIF, checkpoints), ``data``
(datasets and the train/test protocols), ``engine`` (training, prediction);
modules: ``coords``, ``imresize``, ``metrics``, ``evaluate``, ``cli``.
"""
__version__ = "0.1.0"
