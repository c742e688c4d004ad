"""Perspective normal integration (least squares on log-depth) and the depth error after scale alignment.

Under a pinhole camera K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] a surface
point seen at pixel (u, v) (u = column, v = row) is z * ((u - cx)/fx,
(v - cy)/fy, 1) in camera coordinates (X right, Y down, Z forward). The
normal is orthogonal to both image-direction derivatives of that point, which
gives, for the log-depth l = log z (Queau, Durou & Aujol, "Normal
integration: a survey", JMIV 2018):

    l_u = -(n_X / fx) / D,  l_v = -(n_Y / fy) / D,
    D = n_X (u - cx)/fx + n_Y (v - cy)/fy + n_Z,

with n in camera coordinates: (n_X, n_Y, n_Z) = (x, -y, -z) of our maps
(x right, y up, z towards the camera). Every pair of 4-neighbours inside the
mask gives one equation l[q] - l[p] = mean of the two pixels' gradients
(the trapezoid rule); the least-squares solution is the Poisson-type
integral, smooth across depth discontinuities (unlike bilateral
integration, which preserves them). Depth is known up to scale: compare with
the ground truth after the usual alignment s = median(gt / z) (as in the
DiLiGenT evaluations) and report the mean absolute depth error (MADE, mm).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

# |D| is bounded away from 0 (grazing normals at the silhouette would give
# unbounded gradients): our choice, about 0.6 degrees from grazing.
MIN_DENOMINATOR = 1e-2
# A tiny pull of l towards 0 makes the system non-singular (one free constant
# per connected part of the mask); it changes the relative depth by ~1e-9.
REGULARISATION = 1e-9


def log_depth_gradients(normals: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(l_u, l_v), each (H, W), from normals (3, H, W) in our axis convention and intrinsics K (3, 3)."""
    nx, ny, nz = normals[0], -normals[1], -normals[2]           # camera coordinates
    h, w = normals.shape[1:]
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    d = nx * (u - cx) / fx + ny * (v - cy) / fy + nz
    d = np.where(d < 0, np.minimum(d, -MIN_DENOMINATOR), np.maximum(d, MIN_DENOMINATOR))
    return -(nx / fx) / d, -(ny / fy) / d


class Integrator:
    """Integration over one mask and camera: the least-squares system depends on them only, so it is
    factorised once and each normal map costs one pair of triangular solves.

    Args:
        mask: (H, W) bool, the integration domain.
        K: (3, 3) camera intrinsics.
    """

    def __init__(self, mask, K: np.ndarray):
        mask = mask.numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
        self.mask, self.K = mask.astype(bool), np.asarray(K, dtype=np.float64)
        index = -np.ones(self.mask.shape, dtype=np.int64)
        index[self.mask] = np.arange(self.mask.sum())
        horizontal = self.mask[:, :-1] & self.mask[:, 1:]
        vertical = self.mask[:-1] & self.mask[1:]
        self._pairs = (horizontal, vertical)
        p = np.concatenate([index[:, :-1][horizontal], index[:-1][vertical]])
        q = np.concatenate([index[:, 1:][horizontal], index[1:][vertical]])
        eq = np.arange(len(p))
        n = int(self.mask.sum())
        self.A = sp.csr_matrix((np.concatenate([np.ones(len(eq)), -np.ones(len(eq))]), (np.concatenate([eq, eq]), np.concatenate([q, p]))),
                               shape=(len(eq), n))
        # Sparse LU (SuperLU) of the normal equations, reused for every map of this mask.
        self._solve = spla.factorized((self.A.T @ self.A + REGULARISATION * sp.identity(n)).tocsc()) if n else None

    def __call__(self, normals) -> np.ndarray:
        """Depth (H, W) up to scale (median 1) from normals (3, H, W); NaN outside the mask."""
        normals = normals.numpy() if isinstance(normals, torch.Tensor) else np.asarray(normals)
        gu, gv = log_depth_gradients(normals.astype(np.float64), self.K)
        horizontal, vertical = self._pairs
        b = np.concatenate([0.5 * (gu[:, :-1][horizontal] + gu[:, 1:][horizontal]),
                            0.5 * (gv[:-1][vertical] + gv[1:][vertical])])
        depth = np.full(self.mask.shape, np.nan)
        if self._solve is not None:
            log_depth = self._solve(self.A.T @ b)
            depth[self.mask] = np.exp(log_depth - np.median(log_depth))
        return depth


def integrate(normals, mask, K: np.ndarray) -> np.ndarray:
    """Depth (H, W) up to scale from normals (3, H, W) inside mask (H, W); NaN outside (one-off :class:`Integrator`)."""
    return Integrator(mask, K)(normals)


def align_scale(depth: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``depth`` times median(reference / depth) over the mask pixels where both are finite."""
    valid = np.asarray(mask, bool) & np.isfinite(depth) & np.isfinite(reference)
    return depth * np.median(reference[valid] / depth[valid])


def made(depth: np.ndarray, reference: np.ndarray, mask: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean absolute depth error (reference units, mm for DiLiGenT) after scale alignment, over mask (and ``where``)."""
    mask = np.asarray(mask, bool)
    aligned = align_scale(depth, reference, mask)
    valid = mask & np.isfinite(aligned) & np.isfinite(reference)
    if where is not None:
        valid &= np.asarray(where, bool)
    return float(np.mean(np.abs(aligned[valid] - reference[valid])))


def sphere(height: int = 96, width: int = 128, radius: float = 40.0, distance: float = 300.0, focal: float = 400.0):
    """A sphere in front of a pinhole camera: (normals (3, H, W) ours, mask (H, W), depth (H, W), K (3, 3)).

    Rendered exactly (ray-sphere intersection), for testing the integrator
    against a known depth.
    """
    K = np.array([[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2], [0, 0, 1]], dtype=np.float64)
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    ray = np.stack([(u - K[0, 2]) / focal, (v - K[1, 2]) / focal, np.ones_like(u)])
    centre = np.array([0.0, 0.0, distance]).reshape(3, 1, 1)
    a = (ray * ray).sum(0)
    bq = -2 * (ray * centre).sum(0)
    c = float((centre * centre).sum()) - radius ** 2
    disc = bq * bq - 4 * a * c
    mask = disc > 0
    t = np.where(mask, (-bq - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.nan)
    point = ray * t
    n_cam = (point - centre) / radius                           # outward, camera coordinates
    normals = np.stack([n_cam[0], -n_cam[1], -n_cam[2]])        # ours: y up, z towards the camera
    normals = np.where(mask, normals, np.array([0, 0, 1.0]).reshape(3, 1, 1))
    return normals.astype(np.float32), mask, np.where(mask, t, np.nan), K
