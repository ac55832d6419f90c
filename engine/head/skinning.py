"""Joints, skinning weights and the mapping from expression coefficients to joint motion.

Joints (JOINTS order): "neck" is the torso frame at the base of the neck (the collar hangs on it; it
never rotates on its own); "head" sits at the top of the neck and turns by RigParams.neck; the jaw
(at the temporomandibular joints) and the eyes are children of the head. The global rotation of
RigParams turns everything about the head joint.

build_weights (numpy, build time) makes linear-blend weights [V, 5]; the coefficient maps (torch,
runtime) turn jaw* and eyeLook* coefficients into joint rotations (axis-angle) and a jaw translation.
"""
from __future__ import annotations

import numpy as np
import torch

from engine.head.meshops import smoothstep
from engine.types import ARKIT_NAMES

JOINTS = ("neck", "head", "jaw", "eye_left", "eye_right")
NECK, HEAD, JAW, EYE_L, EYE_R = range(5)

# Coefficient -> joint motion at weight 1 (radians, metres).
JAW_OPEN_RAD = 0.36  # about +X: the chin goes down and back
JAW_SIDE_RAD = 0.10  # about +Y for jawLeft (the chin towards the subject's left, +X)
JAW_SIDE_SHIFT = 0.003
JAW_FORWARD_SHIFT = 0.006
EYE_YAW_RAD = 0.45  # in / out
EYE_UP_RAD = 0.35
EYE_DOWN_RAD = 0.45

_I = {n: i for i, n in enumerate(ARKIT_NAMES)}


def jaw_motion(expr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """expr [B, 52] -> jaw axis-angle [B, 3] and translation [B, 3] implied by jaw* coefficients."""
    e = lambda n: expr[:, _I[n]]  # noqa: E731
    side = e("jawLeft") - e("jawRight")
    zero = torch.zeros_like(side)
    aa = torch.stack([JAW_OPEN_RAD * e("jawOpen"), JAW_SIDE_RAD * side, zero], dim=1)
    shift = torch.stack([JAW_SIDE_SHIFT * side, zero, JAW_FORWARD_SHIFT * e("jawForward")], dim=1)
    return aa, shift


def eye_motion(expr: torch.Tensor) -> torch.Tensor:
    """expr [B, 52] -> eye axis-angles [B, 2, 3] (left, right) implied by eyeLook* coefficients.
    Yaw is about +Y (towards +X), pitch about +X (positive looks down)."""
    e = lambda n: expr[:, _I[n]]  # noqa: E731
    out = []
    for side, toward_plus_x in (("Left", "Out"), ("Right", "In")):
        away = "In" if toward_plus_x == "Out" else "Out"
        yaw = EYE_YAW_RAD * (e(f"eyeLook{toward_plus_x}{side}") - e(f"eyeLook{away}{side}"))
        pitch = EYE_DOWN_RAD * e(f"eyeLookDown{side}") - EYE_UP_RAD * e(f"eyeLookUp{side}")
        out.append(torch.stack([pitch, yaw, torch.zeros_like(yaw)], dim=1))
    return torch.stack(out, dim=1)


def build_weights(vertices: np.ndarray, parts: np.ndarray, jaw_weight: np.ndarray,
                  collar_y: float, neck_top_y: float) -> np.ndarray:
    """Skinning weights [V, 5] summing to 1.

    jaw_weight [V] is the jaw's share of the head-side weight (the builder makes it by harmonic
    interpolation over the surface); the neck blends from the torso (at the collar) to the head
    (at neck_top_y) with a smoothstep in height."""
    w = np.zeros((len(vertices), len(JOINTS)))
    head_side = np.where(parts == "shell", smoothstep(collar_y, neck_top_y, vertices[:, 1]), 1.0)
    w[:, NECK] = 1.0 - head_side
    w[:, JAW] = head_side * jaw_weight
    w[:, HEAD] = head_side * (1.0 - jaw_weight)
    for side, joint in (("left", EYE_L), ("right", EYE_R)):
        eye = parts == f"eyeball_{side}"
        w[eye] = 0.0
        w[eye, joint] = 1.0
    return w
