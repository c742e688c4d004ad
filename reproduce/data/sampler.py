"""Step-indexed batch sampling: the batch of step t is a pure function of (seed, t).

Sample number k = t * batch_size + j (j-th item of step t's global batch)
belongs to epoch e = k // N, where an epoch is N = len(dataset) * repeat
samples in the order of a permutation drawn from a generator seeded with
(seed, e). Each item is ``(image_index, k)``; the dataset derives all its
per-sample randomness from (seed, k). Hence:

* resuming at step t needs no sampler state - it just starts at t;
* DataLoader workers cannot change the data (nothing random runs in them
  except from the per-sample seed);
* with W data-parallel ranks, rank r takes the r-th slice of each global
  batch, so the union over ranks is the single-process batch.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields, for steps ``start_step .. total_steps - 1``, the (image_index, k) keys of this rank.

    Args:
        n_images: images in the dataset.
        batch_size: the global batch (divisible by world_size).
        total_steps: end step (exclusive).
        seed: run seed.
        repeat: epoch length in passes over the images (LIIF repeats DIV2K 20x).
        start_step: first step to yield (for resuming).
        rank, world_size: data-parallel slice.
    """

    def __init__(self, n_images: int, batch_size: int, total_steps: int, seed: int = 0, repeat: int = 1,
                 start_step: int = 0, rank: int = 0, world_size: int = 1):
        if batch_size % world_size:
            raise ValueError(f"batch size {batch_size} is not divisible by {world_size} processes")
        self.n_images, self.batch_size, self.total_steps = n_images, batch_size, total_steps
        self.seed, self.repeat, self.start_step = seed, repeat, start_step
        self.rank, self.world_size = rank, world_size
        self._perm_epoch, self._perm = -1, None

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step)

    def _index(self, k: int) -> int:
        epoch_len = self.n_images * self.repeat
        epoch, pos = divmod(k, epoch_len)
        if epoch != self._perm_epoch:
            gen = torch.Generator().manual_seed(int(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0]))
            self._perm, self._perm_epoch = torch.randperm(epoch_len, generator=gen), epoch
        return int(self._perm[pos]) % self.n_images

    def batch_keys(self, step: int) -> list[tuple[int, int]]:
        """This rank's keys for one step."""
        local = self.batch_size // self.world_size
        first = step * self.batch_size + self.rank * local
        return [(self._index(k), k) for k in range(first, first + local)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.total_steps):
            yield self.batch_keys(step)
