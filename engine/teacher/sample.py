"""Bilinear image sampling at sub-pixel positions (engine.types' pixel convention)."""
from __future__ import annotations

import numpy as np


def bilinear(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """image [H, W] or [H, W, C] (any real dtype) at points xy [..., 2] (x right, y down, pixel
    (row i, column j) centred at (j + 0.5, i + 0.5)); edges are clamped. Returns float32 [...] or
    [..., C]."""
    img = np.asarray(image, np.float32)
    h, w = img.shape[:2]
    x = np.clip(np.asarray(xy[..., 0], np.float64) - 0.5, 0.0, w - 1.0)
    y = np.clip(np.asarray(xy[..., 1], np.float64) - 0.5, 0.0, h - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), w - 2) if w > 1 else np.zeros_like(x, np.int64)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 2) if h > 1 else np.zeros_like(y, np.int64)
    fx, fy = (x - x0).astype(np.float32), (y - y0).astype(np.float32)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    if img.ndim == 3:
        fx, fy = fx[..., None], fy[..., None]
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy
