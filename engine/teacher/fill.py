"""Push-pull hole filling (Gortler et al. 1996) for texture atlases: unknown texels take a smooth,
membrane-like continuation of the known ones around them, at every scale, in O(texels)."""
from __future__ import annotations

import numpy as np


def _blocks(x: np.ndarray) -> list[np.ndarray]:
    """The four texels of every 2x2 block of [H, W, C] (odd sizes padded with zeros)."""
    h, w = x.shape[:2]
    x = np.pad(x, ((0, h % 2), (0, w % 2), (0, 0)))
    return [x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]]


def _up(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear 2x upsampling of [h, w, C] to [H, W, C] (pixel centres aligned, edges clamped)."""
    h, w = x.shape[:2]

    def axis(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(n_out) + 0.5) / 2 - 0.5, 0, n_in - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, (pos - lo)[:, None]

    ylo, yhi, fy = axis(shape[0], h)
    xlo, xhi, fx = axis(shape[1], w)
    rows = x[ylo] * (1 - fy[..., None]) + x[yhi] * fy[..., None]  # [H, w, C]
    return rows[:, xlo] * (1 - fx) + rows[:, xhi] * fx


def push_pull(values: np.ndarray, weight: np.ndarray, wrap_x: bool = False) -> np.ndarray:
    """Fill an image where weight is low from where it is high.

    values [H, W, C] (or [H, W]); weight [H, W] in 0..1 (1 = known, 0 = unknown; in between blends
    the value with the fill from coarser levels). wrap_x treats the left and right edges as neighbours
    (a cylindrical unwrap): the image is padded with a quarter of its width from the other side.
    Returns float32 of values' shape; everything stays where weight is 1."""
    flat = values.ndim == 2
    v = np.asarray(values, np.float64)[..., None] if flat else np.asarray(values, np.float64)
    w = np.clip(np.asarray(weight, np.float64), 0.0, 1.0)
    pad = v.shape[1] // 4 if wrap_x else 0
    if pad:
        v = np.concatenate([v[:, -pad:], v, v[:, :pad]], axis=1)
        w = np.concatenate([w[:, -pad:], w, w[:, :pad]], axis=1)
    # Pull: a pyramid of (weighted mean value, weight). A coarse texel is as certain as its most certain
    # child: confidence does not add up, so a patch of faint texels (weight 0.2 each) stays faint instead
    # of counting as known and spreading its colour.
    levels = [(v, w[..., None])]
    while max(levels[-1][0].shape[:2]) > 1:
        c, ww = levels[-1]
        weights = _blocks(ww)
        total = sum(weights)
        mean = sum(_blocks(c * ww)) / np.maximum(total, 1e-12)
        levels.append((mean, np.maximum.reduce(weights)))
    # Push: from the coarsest level down, unknown parts take the upsampled coarser fill.
    fill = levels[-1][0]
    for c, ww in reversed(levels[:-1]):
        fill = ww * c + (1.0 - ww) * _up(fill, c.shape[:2])
    out = fill[:, pad:pad + values.shape[1]] if pad else fill
    return (out[..., 0] if flat else out).astype(np.float32)
