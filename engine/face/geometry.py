"""2D affine maps between pixel frames, and resampling an image through one.

Coordinates follow engine.types: x right, y down, pixel (row i, column j) has its centre at
(j + 0.5, i + 0.5); an affine is float64 [2, 3] mapping (x, y, 1) to (x', y')."""
from __future__ import annotations

import math

import numpy as np


def similarity(scale: float, angle: float, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """[2, 3]: rotate by angle (radians; positive turns +x towards +y, clockwise on screen) and scale
    about src, which lands on dst."""
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    lin = np.array([[c, -s], [s, c]])
    return np.column_stack([lin, np.asarray(dst, np.float64) - lin @ np.asarray(src, np.float64)])


def invert_affine(affine: np.ndarray) -> np.ndarray:
    """[2, 3] inverse of an invertible [2, 3] affine."""
    lin_inv = np.linalg.inv(affine[:, :2])
    return np.column_stack([lin_inv, -lin_inv @ affine[:, 2]])


def apply_affine(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """points [N, 2] -> [N, 2] (float64)."""
    return np.asarray(points, np.float64) @ affine[:, :2].T + affine[:, 2]


def affine_scale(affine: np.ndarray) -> float:
    """The map's mean linear scale, sqrt(|det|)."""
    return math.sqrt(abs(float(np.linalg.det(affine[:, :2]))))


def warp_affine(image: np.ndarray, affine: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """out[y, x] = image at affine^-1 (x, y), out of size (width, height); image [H, W] or [H, W, C]
    (uint8 or float32). Bilinear, with the image's edge pixels repeated outside it. When the map shrinks
    by 2x or more the image is first area-averaged by an integer factor, so the result does not alias."""
    import cv2  # lazy: see STACK.md (OpenCV moves Qt's plugin path)

    a = np.asarray(affine, np.float64)
    factor = int(1.0 / affine_scale(a))
    if factor >= 2:
        h, w = image.shape[:2]
        image = cv2.resize(image, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
        a = a @ np.diag([w / image.shape[1], h / image.shape[0], 1.0])  # reduced pixels -> source -> out
    m = a.copy()
    m[:, 2] += a[:, :2].sum(axis=1) * 0.5 - 0.5  # OpenCV puts pixel centres on integer coordinates
    return cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
