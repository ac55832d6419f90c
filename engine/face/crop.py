"""The square, upright portrait crop everything downstream works on.

Framing: the eyes are levelled (roll removed by rotating about the face), the forehead-to-chin height
(FaceLandmarks.face_height, 3D) is FACE_FRACTION of the side, and the midpoint between the eyes' and
the mouth's centres sits at (0.5, ANCHOR_Y) of the side, which puts the face's centre ~6 % of the side
below the crop's centre: room above for hair and the top of the head, below for the chin and neck.
Where the crop leaves the photo, the photo's edge pixels are repeated and the matte is 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .geometry import affine_scale, apply_affine, invert_affine, similarity, warp_affine
from .image_io import as_rgb
from .landmarks import FaceLandmarks
from .matte import portrait_matte
from .pose import HeadPoseEstimate, estimate_pose
from .topology import LEFT_EYE_INNER, LEFT_EYE_OUTER, MOUTH_LEFT, MOUTH_RIGHT, RIGHT_EYE_INNER, RIGHT_EYE_OUTER

FACE_FRACTION = 0.5
ANCHOR_Y = 0.55
_WARN_OUTSIDE = 0.02  # fraction of the crop beyond the photo that earns a warning
_WARN_UPSCALE = 2.0  # enlargement that earns a warning


@dataclass
class PortraitCrop:
    """image [S, S, 3] uint8 RGB; matte [S, S] float32 0..1 (1 = person); landmarks in crop pixels;
    source_to_crop float64 [2, 3] from the (loaded) source image's pixels to the crop's; pose of the face
    in the crop (roll ~0); warnings: sentences for the user about things that were worked around."""

    image: np.ndarray
    matte: np.ndarray
    landmarks: FaceLandmarks
    source_to_crop: np.ndarray
    pose: HeadPoseEstimate
    warnings: list[str] = field(default_factory=list)


def portrait_transform(lm: FaceLandmarks, size: int) -> np.ndarray:
    """float64 [2, 3] from lm's image pixels to the crop's (see the module notes for the framing)."""
    p = lm.points.astype(np.float64)
    eye_r = (p[RIGHT_EYE_OUTER] + p[RIGHT_EYE_INNER]) / 2  # eye corners, not irises: gaze moves those
    eye_l = (p[LEFT_EYE_OUTER] + p[LEFT_EYE_INNER]) / 2
    mouth = (p[MOUTH_RIGHT] + p[MOUTH_LEFT]) / 2
    dx, dy = eye_l - eye_r
    anchor = ((eye_r + eye_l) / 2 + mouth) / 2
    return similarity(FACE_FRACTION * size / lm.face_height(), -math.atan2(dy, dx), anchor,
                      np.array([size / 2, ANCHOR_Y * size]))


def crop_portrait(image: np.ndarray, landmarks: FaceLandmarks, size: int = 512) -> PortraitCrop:
    """Crop an RGB image [H, W, 3] (uint8, or floats in 0..1) around the face its landmarks describe;
    the matte is computed on the crop, where the head fills the frame as the segmentation model expects."""
    rgb = as_rgb(image)
    to_crop = portrait_transform(landmarks, size)
    crop = warp_affine(rgb, to_crop, (size, size))
    inside = _inside_photo(to_crop, rgb.shape[1], rgb.shape[0], size)
    matte = portrait_matte(crop) * inside
    lm = landmarks.transformed(to_crop, (size, size))
    warnings = []
    outside = 1.0 - float(inside.mean())
    if outside > _WARN_OUTSIDE:
        warnings.append(f"{outside:.0%} of the portrait crop lies beyond the photo's edges; it is filled by "
                        "repeating the edge pixels and left out of the matte.")
    scale = affine_scale(to_crop)
    if scale > _WARN_UPSCALE:
        warnings.append(f"The face is small in this photo ({landmarks.face_height():.0f} px from forehead to chin), "
                        f"so the crop enlarges it {scale:.1f}x and the avatar will look soft. "
                        "A closer or higher-resolution photo gives a sharper result.")
    return PortraitCrop(crop, matte, lm, to_crop, estimate_pose(lm), warnings)


def _inside_photo(to_crop: np.ndarray, width: int, height: int, size: int) -> np.ndarray:
    """float32 [S, S]: 1 where the crop pixel's centre comes from inside the photo, else 0."""
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    src = apply_affine(invert_affine(to_crop), np.column_stack([xs.ravel(), ys.ravel()]))
    inside = (src[:, 0] >= 0) & (src[:, 0] <= width) & (src[:, 1] >= 0) & (src[:, 1] <= height)
    return inside.reshape(size, size).astype(np.float32)
