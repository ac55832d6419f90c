"""Data contracts shared by every engine module (the ground floor: imports nothing of the engine).

Conventions
- World space: metres, +Y up, the head looks along +Z (its front faces a camera at +Z), +X is the
  viewer's right when looking at the face from the front.
- Camera space: OpenCV (x right, y down, z forward). Pixel (row i, column j) has its centre at
  image coordinates (j + 0.5, i + 0.5); a point projects to (fx·x/z + cx, fy·y/z + cy).
- Colours are display RGB values in 0..1 (what a photo stores, as in 3DGS; written to video as they
  are); images are float tensors [H, W, C].
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import torch

# The 52 ARKit-named expression coefficients (jaw and eye gaze included): MotionLatent.dyn's order.
ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)
DYN_DIM = len(ARKIT_NAMES)  # 52
POSE_DIM = 6  # axis-angle rotation (3) + translation (3)
LATENT_FPS = 25.0

EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "surprised", "disgusted", "afraid")


@dataclass(frozen=True)
class Camera:
    """A pinhole camera. world_to_cam: float64 [4, 4] rigid transform (OpenCV camera axes)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    world_to_cam: np.ndarray = field(default_factory=lambda: np.eye(4))

    def __post_init__(self) -> None:
        m = np.asarray(self.world_to_cam, dtype=np.float64)
        if m.shape != (4, 4):
            raise ValueError(f"world_to_cam must be 4x4, got {m.shape}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"camera size must be positive, got {self.width}x{self.height}")
        object.__setattr__(self, "world_to_cam", m)

    @property
    def K(self) -> np.ndarray:
        """Intrinsics [3, 3]."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def position(self) -> np.ndarray:
        """Camera centre in world space [3]."""
        r, t = self.world_to_cam[:3, :3], self.world_to_cam[:3, 3]
        return -r.T @ t

    def viewmat(self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """world_to_cam as a tensor [4, 4]."""
        return torch.as_tensor(self.world_to_cam, dtype=dtype, device=device)

    def resized(self, width: int, height: int) -> "Camera":
        """The same view at another resolution (intrinsics scaled)."""
        sx, sy = width / self.width, height / self.height
        return replace(self, width=width, height=height, fx=self.fx * sx, fy=self.fy * sy,
                       cx=self.cx * sx, cy=self.cy * sy)


def look_at(eye: Sequence[float], target: Sequence[float], up: Sequence[float] = (0.0, 1.0, 0.0)) -> np.ndarray:
    """world_to_cam [4, 4] for a camera at eye looking at target (OpenCV axes, y down)."""
    eye_v, tgt = np.asarray(eye, np.float64), np.asarray(target, np.float64)
    fwd = tgt - eye_v
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, np.asarray(up, np.float64))
    if np.linalg.norm(right) < 1e-9:  # looking straight along up: pick any right vector
        right = np.cross(fwd, np.array([0.0, 0.0, 1.0]))
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    m = np.eye(4)
    m[:3, :3] = np.stack([right, down, fwd])
    m[:3, 3] = -m[:3, :3] @ eye_v
    return m


@dataclass(frozen=True)
class OrbitCamera:
    """A camera on a sphere around target. yaw/pitch in degrees: yaw 0, pitch 0 looks at the face from
    the front (+Z); positive yaw moves the camera towards +X, positive pitch moves it up.
    fov_deg is the vertical field of view."""

    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    yaw: float = 0.0
    pitch: float = 0.0
    distance: float = 1.0
    fov_deg: float = 30.0

    def eye(self) -> np.ndarray:
        y, p = math.radians(self.yaw), math.radians(self.pitch)
        d = np.array([math.sin(y) * math.cos(p), math.sin(p), math.cos(y) * math.cos(p)])
        return np.asarray(self.target, np.float64) + self.distance * d

    def camera(self, width: int, height: int) -> Camera:
        f = 0.5 * height / math.tan(math.radians(self.fov_deg) / 2)
        return Camera(width, height, f, f, width / 2, height / 2, look_at(self.eye(), self.target))


@dataclass
class GaussianFrame:
    """Gaussians in world space, all tensors on one device.

    means [N, 3]; quats [N, 4] (w, x, y, z, unit); scales [N, 3] (linear, std-dev along the local axes);
    opacities [N] (0..1); colors [N, 3] (display RGB 0..1).
    """

    means: torch.Tensor
    quats: torch.Tensor
    scales: torch.Tensor
    opacities: torch.Tensor
    colors: torch.Tensor

    PACKED_DIM = 14  # means 3 | quats 4 | scales 3 | opacity 1 | colors 3

    def __post_init__(self) -> None:
        n = self.means.shape[0]
        expect = {"means": (n, 3), "quats": (n, 4), "scales": (n, 3), "opacities": (n,), "colors": (n, 3)}
        for name, shape in expect.items():
            got = tuple(getattr(self, name).shape)
            if got != shape:
                raise ValueError(f"GaussianFrame.{name} has shape {got}, expected {shape}")

    def __len__(self) -> int:
        return self.means.shape[0]

    @property
    def device(self) -> torch.device:
        return self.means.device

    def packed(self) -> torch.Tensor:
        """float32 [N, 14]: means, quats, scales, opacity, colors."""
        return torch.cat([self.means, self.quats, self.scales, self.opacities[:, None], self.colors],
                         dim=1).float()

    @classmethod
    def from_packed(cls, packed: torch.Tensor) -> "GaussianFrame":
        """Inverse of packed(); packed [N, 14]."""
        m, q, s, o, c = torch.split(packed, [3, 4, 3, 1, 3], dim=1)
        return cls(m, q, s, o[:, 0], c)

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> "GaussianFrame":
        def conv(t: torch.Tensor) -> torch.Tensor:
            return t.to(device=device, dtype=dtype) if dtype is not None else t.to(device)
        return GaussianFrame(conv(self.means), conv(self.quats), conv(self.scales),
                             conv(self.opacities), conv(self.colors))

    def detach(self) -> "GaussianFrame":
        return GaussianFrame(self.means.detach(), self.quats.detach(), self.scales.detach(),
                             self.opacities.detach(), self.colors.detach())


@dataclass
class MotionLatent:
    """One motion sample, or a sequence at LATENT_FPS when the tensors have a leading T axis.

    dyn [D] or [T, D]: expression coefficients in ARKIT_NAMES order (D = 52, mostly 0..1);
    pose [6] or [T, 6]: axis-angle head rotation (radians) then translation (metres).
    """

    dyn: torch.Tensor
    pose: torch.Tensor

    def __post_init__(self) -> None:
        if self.dyn.shape[-1] != DYN_DIM or self.pose.shape[-1] != POSE_DIM:
            raise ValueError(f"MotionLatent expects dyn [..., {DYN_DIM}] and pose [..., {POSE_DIM}], "
                             f"got {tuple(self.dyn.shape)} and {tuple(self.pose.shape)}")
        if self.dyn.shape[:-1] != self.pose.shape[:-1]:
            raise ValueError("MotionLatent dyn and pose must share their leading (time) shape")

    @classmethod
    def neutral(cls, frames: int | None = None) -> "MotionLatent":
        lead = () if frames is None else (frames,)
        return cls(torch.zeros(*lead, DYN_DIM), torch.zeros(*lead, POSE_DIM))

    @classmethod
    def stack(cls, items: Sequence["MotionLatent"]) -> "MotionLatent":
        return cls(torch.stack([m.dyn for m in items]), torch.stack([m.pose for m in items]))

    def __len__(self) -> int:
        if self.dyn.dim() == 1:
            raise TypeError("a single MotionLatent has no length; sequences have a leading T axis")
        return self.dyn.shape[0]

    def __getitem__(self, t: int | slice) -> "MotionLatent":
        return MotionLatent(self.dyn[t], self.pose[t])

    def coeff(self, name: str) -> torch.Tensor:
        """The named expression coefficient ([] or [T])."""
        return self.dyn[..., ARKIT_NAMES.index(name)]


@dataclass
class Controls:
    """User controls that steer generated motion.

    emotions: weights over EMOTIONS (missing names are 0; all zero means neutral), scaled by intensity.
    gaze: (yaw_deg, pitch_deg), or "natural" (generated eye motion), or "camera" (look at the viewer).
    head_distance: metres added to the camera distance (+ = further away).
    mouth_amplitude / head_motion_amplitude: multipliers on generated mouth and head motion.
    """

    emotions: Mapping[str, float] = field(default_factory=dict)
    intensity: float = 1.0
    gaze: tuple[float, float] | str = "natural"
    head_distance: float = 0.0
    mouth_amplitude: float = 1.0
    head_motion_amplitude: float = 1.0

    def __post_init__(self) -> None:
        unknown = set(self.emotions) - set(EMOTIONS)
        if unknown:
            raise ValueError(f"unknown emotion(s) {sorted(unknown)}; known: {', '.join(EMOTIONS)}")
        if isinstance(self.gaze, str) and self.gaze not in ("natural", "camera"):
            raise ValueError(f"gaze must be (yaw, pitch), 'natural' or 'camera', got {self.gaze!r}")

    def emotion_vector(self) -> torch.Tensor:
        """Weights [len(EMOTIONS)] times intensity."""
        return torch.tensor([float(self.emotions.get(e, 0.0)) * self.intensity for e in EMOTIONS])
