"""A tiny model registry: ``register(name)`` and ``make(spec)``.

A *spec* is a plain dict ``{"name": str, "args": dict}``; nested specs (for
example LIIF's ``encoder_spec`` and ``imnet_spec``) are passed on as
arguments and built by the model itself. Specs are what checkpoints store, so
a model can be rebuilt from a checkpoint with no config file. The names are
the official LIIF release's (``liif``, ``edsr-baseline``, ``rdn``, ``mlp``)
so that its checkpoints load unchanged.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import torch.nn as nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register(name: str):
    """Class or factory decorator that makes ``name`` buildable by :func:`make`."""

    def decorator(factory):
        if name in _MODELS:
            raise KeyError(f"model {name!r} is registered twice")
        _MODELS[name] = factory
        return factory

    return decorator


def names() -> list[str]:
    """The registered model names, sorted."""
    return sorted(_MODELS)


def make(spec: dict[str, Any], args: dict[str, Any] | None = None) -> nn.Module:
    """Build a model from ``{"name", "args"}``; ``args`` override the spec's own."""
    name = spec.get("name")
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(names())}")
    model_args = copy.deepcopy(spec.get("args") or {})
    if args:
        model_args.update(args)
    return _MODELS[name](**model_args)
