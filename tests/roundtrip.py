"""The synthetic video-tracking round trip, shared by tests/test_fit_track.py and
benchmarks/track_roundtrip.py: a random identity with random smooth expressions and head motion ->
shaded rig renders -> landmarks (mediapipe, or the rig's own projected ones) -> LandmarkTracker ->
correlations and pose errors against the truth."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from engine.head.fit import PortraitFit, front_camera
from engine.head.model import ParametricRig, RigParams, load_rig
from engine.media import to_uint8
from engine.motion.track import LandmarkTracker, TrackConfig
from engine.types import ARKIT_NAMES, LATENT_FPS, Camera, MotionLatent

MAIN = ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "mouthSmileRight", "mouthPucker", "browInnerUp")
BACKGROUND = (0.6, 0.65, 0.7)


def smooth_noise(frames: int, k: int, sigma: float, gen: torch.Generator) -> torch.Tensor:
    """[frames, k] white noise low-passed by a Gaussian of sigma frames, with unit standard deviation."""
    r = int(3 * sigma)
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.norm()  # unit-variance output
    x = torch.randn(k, 1, frames + 2 * r, generator=gen)
    return torch.nn.functional.conv1d(x, kernel[None, None])[:, 0].T


def synthetic_motion(frames: int, seed: int = 0) -> tuple[ParametricRig, RigParams]:
    """A random identity and random smooth motion at 25 fps. The MAIN coefficients move independently,
    each active ~40 % of the time and at full strength ~7 %, changing by up to ~0.5 a frame (a blink
    closes in 2-3 frames); the other 45 stay 0 (the tracker is not told). The head turns with yaw
    within ±30° (~35°/s RMS, peaks ~90°/s), pitch within ±17°, a little roll, and drifts by ~1 cm."""
    rig = load_rig()
    g = torch.Generator().manual_seed(seed)
    identity = torch.randn(1, rig.n_identity, generator=g) * 0.7
    expr = torch.zeros(frames, len(ARKIT_NAMES))
    expr[:, [ARKIT_NAMES.index(n) for n in MAIN]] = (0.8 * smooth_noise(frames, len(MAIN), 3.0, g) - 0.2).clamp(0, 1)
    head = smooth_noise(frames, 5, 10.0, g)
    rot = torch.stack([(0.15 * head[:, 0]).clamp(-0.3, 0.3),
                       (0.35 * head[:, 1]).clamp(-math.radians(30), math.radians(30)),
                       0.05 * head[:, 2]], dim=1)
    trans = torch.stack([0.01 * head[:, 3], 0.01 * head[:, 4], torch.full((frames,), -0.25)], dim=1)
    params = replace(RigParams.zeros(frames, rig.n_identity), identity=identity.expand(frames, -1),
                     expression=expr, rotation=rot, translation=trans)
    return rig, params


def tracking_camera(size: int) -> Camera:
    """The square camera of the round trip: the fitting camera with a 22° lens."""
    return front_camera(size, size, 0.5 * size / math.tan(math.radians(22) / 2))


def neutral_of(params: RigParams) -> RigParams:
    """The first frame's pose and identity with a neutral expression (what the identity is fitted on)."""
    first = RigParams(**{k: v if k == "offsets" or v is None else v[:1] for k, v in vars(params).items()})
    return replace(first, expression=torch.zeros_like(first.expression))


def render_frames(rig: ParametricRig, params: RigParams, camera: Camera) -> list[np.ndarray]:
    """Shaded renders [H, W, 3] uint8 of every frame of params."""
    from engine.render.mesh import MeshRenderer

    with torch.no_grad():
        verts = rig.forward(params).vertices
    renderer = MeshRenderer()
    try:
        return [to_uint8(renderer.render(v, rig.faces, camera, colors=rig.vertex_colors, background=BACKGROUND).rgb)
                for v in verts]
    finally:
        renderer.close()


def track(fit: PortraitFit, points: list[np.ndarray], rig: ParametricRig,
          config: TrackConfig | None = None) -> MotionLatent:
    tracker = LandmarkTracker(fit, rig, config, LATENT_FPS)
    return MotionLatent.stack([tracker.step(p) for p in points])


@dataclass(frozen=True)
class RoundTripScore:
    """correlation: MAIN name -> Pearson r of tracked vs true coefficient; rotation errors in degrees
    (the angle of R_tracked R_trueᵀ): max and mean over the frames."""

    correlation: dict[str, float]
    max_rotation_error_deg: float
    mean_rotation_error_deg: float

    def row(self) -> str:
        """A markdown table row: correlations, max and mean rotation error."""
        return (" | ".join(f"{self.correlation[n]:.2f}" for n in MAIN)
                + f" | {self.max_rotation_error_deg:.1f} | {self.mean_rotation_error_deg:.1f}")


def score(latents: MotionLatent, truth: RigParams) -> RoundTripScore:
    from engine.head.geometry import axis_angle_to_matrix

    corr = {}
    for name in MAIN:
        j = ARKIT_NAMES.index(name)
        est, true = latents.dyn[:, j].numpy(), truth.expression[:, j].numpy()
        corr[name] = float(np.corrcoef(est, true)[0, 1]) if est.std() > 0 else 0.0
    rel = axis_angle_to_matrix(latents.pose[:, :3]) @ axis_angle_to_matrix(truth.rotation).transpose(1, 2)
    cos = ((rel.diagonal(dim1=1, dim2=2).sum(1) - 1) / 2).clamp(-1, 1)
    angle = torch.rad2deg(torch.acos(cos))
    return RoundTripScore(corr, float(angle.max()), float(angle.mean()))
