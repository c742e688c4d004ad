"""Figures of the normal-map study: angular-error maps and shaded 3D surfaces (matplotlib)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LightSource
from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers the 3d projection)

from . import geometry


def crop_box(mask: np.ndarray, margin: int = 8) -> tuple[slice, slice]:
    """Row and column slices of the mask's bounding box plus ``margin``."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return slice(None), slice(None)
    return (slice(max(0, ys.min() - margin), ys.max() + 1 + margin), slice(max(0, xs.min() - margin), xs.max() + 1 + margin))


def mask_outside(encoded: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """An encoded uint8 map (H, W, 3) with the pixels outside ``mask`` shown as the facing normal (128, 128, 255).

    For display: outside the object a method's output is not scored (the
    detail method recomposes there with an extrapolated shape).
    """
    out = encoded.copy()
    out[~np.asarray(mask, bool)] = (128, 128, 255)
    return out


def angular_error_maps(gt: np.ndarray, outputs: dict[str, np.ndarray], mask: np.ndarray, vmax: float = 30.0, size: float = 2.6):
    """One panel per method: angle (degrees) between its output and ``gt`` (encoded uint8 (H, W, 3) maps), inside the mask."""
    import torch

    def unit(a):
        return geometry.decode(torch.from_numpy(a).permute(2, 0, 1).float() / 255)

    rows, cols = crop_box(mask)
    fig, axes = plt.subplots(1, len(outputs), figsize=(size * len(outputs), size * 1.05), squeeze=False)
    for ax, (name, out) in zip(axes[0], outputs.items()):
        err = geometry.angular_error(unit(out), unit(gt)).numpy()
        err = np.where(mask, err, np.nan)[rows, cols]
        im = ax.imshow(err, cmap="inferno", vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_title(f"{name}\nmean {np.nanmean(err):.1f}°", fontsize=8)
        ax.axis("off")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="angular error (degrees)")
    return fig


def _grid_triangles(valid: np.ndarray) -> np.ndarray:
    """Triangles (two per grid cell whose four corners are valid) over the flattened grid."""
    h, w = valid.shape
    idx = np.arange(h * w).reshape(h, w)
    cell = valid[:-1, :-1] & valid[1:, :-1] & valid[:-1, 1:] & valid[1:, 1:]
    a, b, c, d = idx[:-1, :-1][cell], idx[:-1, 1:][cell], idx[1:, :-1][cell], idx[1:, 1:][cell]
    return np.concatenate([np.stack([a, b, c], 1), np.stack([b, d, c], 1)])


def surfaces(depths: dict[str, np.ndarray], K: np.ndarray, stride: int = 3, elev: float = 25.0, azim: float = -60.0,
             size: float = 3.2, title: str = ""):
    """Shaded 3D surfaces of depth maps (H, W) (NaN outside the object), same viewpoint and light for all.

    Points are back-projected with the camera ``K``; every ``stride``-th pixel
    is drawn. Light: one fixed directional source (matplotlib LightSource,
    azimuth 315 degrees, altitude 45 degrees).
    """
    light = LightSource(azdeg=315, altdeg=45)
    fig = plt.figure(figsize=(size * len(depths), size))
    for k, (name, depth) in enumerate(depths.items()):
        z = depth[::stride, ::stride]
        v, u = np.mgrid[0:depth.shape[0]:stride, 0:depth.shape[1]:stride].astype(np.float64)
        x = (u - K[0, 2]) / K[0, 0] * z
        y = (v - K[1, 2]) / K[1, 1] * z
        valid = np.isfinite(z)
        tri = _grid_triangles(valid)
        ax = fig.add_subplot(1, len(depths), k + 1, projection="3d")
        if len(tri):
            # camera frame (x right, y down, z away) shown as x right, y up, z towards the viewer
            ax.plot_trisurf(x.ravel(), -z.ravel(), -y.ravel(), triangles=tri, color="0.8", shade=True, lightsource=light,
                            linewidth=0, antialiased=False)
        ax.view_init(elev=elev, azim=azim)
        ax.set_title(f"{title}: {name}" if title else name, fontsize=9)
        ax.set_axis_off()
        try:
            ax.set_box_aspect((np.ptp(x[valid]) or 1, np.ptp(z[valid]) or 1, np.ptp(y[valid]) or 1))
        except ValueError:
            pass
    fig.tight_layout()
    return fig
