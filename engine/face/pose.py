"""A rough head pose from landmarks alone, used to refuse photos where the head is turned too far.

The head's axes come from a few landmarks in 3D (image x, y and mediapipe's depth): "right" runs from
the subject's right to left eye corner and mouth corner (symmetric pairs), "down" from the top of the
forehead to the chin, which in mediapipe's canonical (frontal) face model lie within ~1 degree of the
same depth. Accuracy is bounded by mediapipe's learned depth: expect ~5-10 degrees of error and a
flattened estimate beyond ~60 degrees of yaw. Good for a sanity check, not for fitting.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .landmarks import FaceLandmarks
from .topology import CHIN, FOREHEAD, LEFT_EYE_OUTER, MOUTH_LEFT, MOUTH_RIGHT, RIGHT_EYE_OUTER


@dataclass
class HeadPoseEstimate:
    """Degrees. yaw > 0: the face turns towards the image's right (the subject's left); pitch > 0: the
    face tilts up (chin up); roll > 0: the head leans clockwise on screen (the eye on the image's right
    lower). All 0 for a face looking straight at the camera."""

    yaw_deg: float
    pitch_deg: float
    roll_deg: float


def head_rotation(lm: FaceLandmarks) -> np.ndarray:
    """float64 [3, 3] with the head's right, down and backward axes as columns, in image axes (x right,
    y down, z away from the camera); the identity for a frontal, upright face."""
    p = np.column_stack([lm.points, lm.depth]).astype(np.float64)  # [478, 3]
    right = (p[LEFT_EYE_OUTER] - p[RIGHT_EYE_OUTER]) + (p[MOUTH_LEFT] - p[MOUTH_RIGHT])
    down = p[CHIN] - p[FOREHEAD]
    x = right / np.linalg.norm(right)
    y = down - (down @ x) * x
    y /= np.linalg.norm(y)
    return np.column_stack([x, y, np.cross(x, y)])


def estimate_pose(lm: FaceLandmarks) -> HeadPoseEstimate:
    """Yaw, pitch and roll of head_rotation(lm) = Ry(-yaw) Rx(-pitch) Rz(roll) (rotations about the
    image's y, x and z axes; see HeadPoseEstimate for the signs)."""
    r = head_rotation(lm)
    back = r[:, 2]  # the face looks along -back
    yaw = math.atan2(-back[0], back[2])
    pitch = math.asin(float(np.clip(back[1], -1.0, 1.0)))
    cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    ry = np.array([[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]])  # Ry(-yaw)
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]])  # Rx(-pitch)
    x = (ry @ rx).T @ r[:, 0]  # the right axis with yaw and pitch undone: only roll is left
    return HeadPoseEstimate(math.degrees(yaw), math.degrees(pitch), math.degrees(math.atan2(x[1], x[0])))
