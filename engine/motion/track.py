"""Video -> motion latents (the "motion encoder"): per-frame face-mesh landmarks -> the 52 expression
coefficients + head pose, by a few Gauss-Newton steps per frame, warm-started from the last frame.

Identity and camera come from a PortraitFit (of the portrait the avatar was made from, or of the
video's first frame). Per frame only 58 numbers move: expression [52] in [0, 1], rotation [3] and
translation [3]; the Jacobian is taken by finite differences over one batched rig forward on a copy of
the rig cut down to the landmark vertices, which keeps a frame at a few milliseconds.

The estimate is a MAP one, and every choice is about the detector, not about our renders:
- Residuals are in units of `landmark_noise_px` (px of a 512² crop): what a landmark is off by from
  detector noise *and* from the rig not being the face (a rig expression never matches a real face
  exactly). Priors are then standard deviations in the parameters' own units, and a coefficient the
  landmarks barely see (jawForward, mouthClose, cheekPuff from the front) stays at 0 instead of
  soaking up noise: without that balance the 52 coefficients fit noise in combinations (dimples
  both sides, jawLeft and jawRight together) and the main ones lose their signal.
- The [0, 1] bounds are honoured by a projected Newton step (coefficients pinned at a bound whose
  gradient pushes outward leave the linear solve). Clamping after an unconstrained step instead lets
  the negative half of an antagonist pair (smile vs frown, stretch, press) distort the others.
- A landmark counts by how squarely its surface faces the camera (cos^p of the angle between the
  rig's normal there and the view ray): on a turned head the far eye, brow and cheek are
  foreshortened and mediapipe fills them in from its face prior, on photos as on renders.
- No sensor model is learned from renders. On shaded renders of the rig mediapipe under-reports
  most shapes (blinks ~0.6x, brows ~0.7x, smiles 0.1-0.9x depending on pose and the other shapes)
  and reads pitch ~15 % small; it is trained on real faces, and baking the renders' gains into the
  tracker would skew real video. (Measured response bases in place of the rig's did not help on the
  renders either: the responses are not linear.) benchmarks/track_roundtrip.py measures the round
  trip, tests/test_fit_track.py guards it.
- Output smoothing is a One-Euro filter (engine.motion.smoothing): it removes jitter at rest and
  opens up in fast moves, so the pose does not lag the way a fixed moving average does.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from engine.head.fit import PortraitFit, fit_portrait, landmark_weights
from engine.head.geometry import axis_angle_to_matrix
from engine.head.model import ParametricRig, RigParams, load_rig
from engine.motion.smoothing import OneEuroConfig, OneEuroFilter
from engine.render.mesh import smooth_normals
from engine.render.projection import project_points
from engine.threads import run_single_threaded
from engine.types import DYN_DIM, LATENT_FPS, POSE_DIM, Camera, MotionLatent

N_PARAMS = DYN_DIM + POSE_DIM  # 58 unknowns per frame: expression, rotation, translation
# Parameter units: one finite-difference step, one damping λ and one step prior suit all 58 unknowns.
UNITS = torch.cat([torch.ones(DYN_DIM), torch.full((3,), 0.5), torch.full((3,), 0.05)])  # 1, rad, m


@dataclass(frozen=True)
class TrackConfig:
    """The per-frame solver and the output filter (see the module docstring for the reasoning)."""

    iterations: int = 4  # Gauss-Newton steps per frame
    fd_step: float = 1e-3  # finite-difference step, in UNITS
    damping: float = 1e-2  # Levenberg-Marquardt λ (relative to the diagonal of JᵀJ)
    landmark_noise_px: float = 3.0  # σ of a landmark's error (detector + rig mismatch), px at 512²
    expression_std: float = 0.2  # Gaussian prior of each coefficient around neutral
    step_std: float = 0.5  # prior on the change from the last frame, in UNITS (loose: motion can be fast)
    visibility_power: float = 1.0  # landmark weight × cos(normal, view ray)^p; 0 = off
    smoothing: OneEuroConfig | None = OneEuroConfig()  # None: the raw per-frame solutions


def _landmark_rig(rig: ParametricRig, fit: PortraitFit, vertex_ids: torch.Tensor) -> ParametricRig:
    """A copy of the rig whose vertices are only vertex_ids, with the fit's identity and offsets baked
    into its template (identity no longer moves anything; joints fixed at the fitted ones)."""
    p = fit.params
    with torch.no_grad():
        shaped = rig.template + (p.identity[0] @ rig.identity_basis.reshape(rig.n_identity, -1)).reshape(-1, 3)
        if p.offsets is not None:
            shaped = shaped + p.offsets.reshape(-1, 3)
        joints = rig.joints + rig.joint_regressor @ (shaped - rig.template)
    sub = object.__new__(ParametricRig)
    sub.__dict__.update(rig.__dict__)
    sub.template = shaped[vertex_ids]
    sub.identity_basis = torch.zeros(rig.n_identity, len(vertex_ids), 3)
    sub.expression_basis = rig.expression_basis[:, vertex_ids]
    sub.skin_weights = rig.skin_weights[vertex_ids]
    sub.joints = joints
    sub.joint_regressor = torch.zeros(rig.joints.shape[0], len(vertex_ids))
    sub.num_vertices = len(vertex_ids)
    return sub


def _rest_normals(rig: ParametricRig, fit: PortraitFit) -> torch.Tensor:
    """Unit normals [L, 3] at the landmark vertices of the fitted neutral head, before global pose."""
    neutral = replace(fit.params, expression=torch.zeros_like(fit.params.expression),
                      rotation=torch.zeros(1, 3), translation=torch.zeros(1, 3))
    with torch.no_grad():
        verts = rig.forward(neutral).vertices[0].numpy()
    return torch.from_numpy(smooth_normals(verts, rig.faces.numpy()))[rig.landmark_vertices]


class LandmarkTracker:
    """Feed landmarks frame by frame (at fps); get a MotionLatent per frame."""

    def __init__(self, fit: PortraitFit, rig: ParametricRig | None = None, config: TrackConfig | None = None,
                 fps: float = LATENT_FPS) -> None:
        self.cfg = config or TrackConfig()
        rig = rig or load_rig()
        self.camera: Camera = fit.camera
        self.camera_centre = torch.as_tensor(fit.camera.position, dtype=torch.float32)
        self.focal = torch.tensor([fit.camera.fx, fit.camera.fy])
        # Residuals in noise units: px scaled to a 512² crop, divided by σ.
        self.px_to_noise = 512.0 / max(fit.camera.width, fit.camera.height) / self.cfg.landmark_noise_px
        self.n_lm = len(rig.landmark_vertices)
        self.rig = _landmark_rig(rig, fit, rig.landmark_vertices)
        self.normals = _rest_normals(rig, fit)
        self.base_weight = landmark_weights(self.n_lm)
        self.n_identity = rig.n_identity
        e, pose = torch.ones(DYN_DIM), torch.zeros(POSE_DIM)
        self.prior = torch.cat([e / self.cfg.expression_std ** 2, pose])  # precision, towards 0
        self.step_prior = 1.0 / (self.cfg.step_std * UNITS) ** 2  # precision, towards the last frame
        self.start = torch.cat([torch.zeros(DYN_DIM), fit.params.rotation[0], fit.params.translation[0]])
        self.filter = None if self.cfg.smoothing is None else OneEuroFilter(self.cfg.smoothing, fps, UNITS)
        self.reset()

    def reset(self) -> None:
        self.theta = self.start.clone()  # [58] the current solution
        if self.filter is not None:
            self.filter.reset()

    def _params(self, theta: torch.Tensor) -> RigParams:
        """theta [B, 58] -> rig parameters (identity already baked into the cut-down rig)."""
        zeros = RigParams.zeros(theta.shape[0], self.n_identity)
        return replace(zeros, expression=theta[:, :DYN_DIM], rotation=theta[:, DYN_DIM:DYN_DIM + 3],
                       translation=theta[:, DYN_DIM + 3:])

    def _weights(self, theta: torch.Tensor) -> torch.Tensor:
        """Per-landmark weights [L] at the pose theta [58]: the fixed ones times visibility."""
        if self.cfg.visibility_power == 0:
            return self.base_weight
        verts = self.rig.forward(self._params(theta[None])).vertices[0]
        ray = self.camera_centre - verts
        normals = self.normals @ axis_angle_to_matrix(theta[DYN_DIM:DYN_DIM + 3]).T
        cos = (normals * ray).sum(1) / ray.norm(dim=1)
        return self.base_weight * cos.clamp(0.05, 1.0) ** self.cfg.visibility_power

    def _residuals(self, theta: torch.Tensor, target: torch.Tensor, sqrt_w: torch.Tensor) -> torch.Tensor:
        """theta [B, 58] -> weighted residuals [B, 2L] in noise units."""
        verts = self.rig.forward(self._params(theta)).vertices  # [B, L, 3]
        proj = project_points(verts, self.camera, self.focal)  # [B, L, 2]
        return (proj - target).reshape(theta.shape[0], -1) * self.px_to_noise * sqrt_w

    @torch.no_grad()
    @run_single_threaded
    def step(self, points: np.ndarray) -> MotionLatent:
        """points [478, 2] px in the tracking camera's image -> this frame's latent."""
        cfg = self.cfg
        target = torch.as_tensor(points, dtype=torch.float32)[: self.n_lm]
        prev = self.theta.clone()
        theta = self.theta.clone()
        sqrt_w = self._weights(theta).sqrt().repeat_interleave(2)
        h = cfg.fd_step * UNITS
        for _ in range(cfg.iterations):
            res = self._residuals(torch.cat([theta[None], theta[None] + torch.diag(h)]), target, sqrt_w)  # [59, 2L]
            r0 = res[0]
            jac = ((res[1:] - r0) / h[:, None]).T  # [2L, 58]
            jtj = jac.T @ jac
            hess = jtj + torch.diag(self.prior + self.step_prior + cfg.damping * jtj.diagonal())
            grad = jac.T @ r0 + self.prior * theta + self.step_prior * (theta - prev)
            theta = theta + _bounded_step(hess, grad, theta)
            theta[:DYN_DIM].clamp_(0.0, 1.0)
        self.theta = theta
        out = theta if self.filter is None else self.filter(theta)
        return MotionLatent(out[:DYN_DIM].clone(), out[DYN_DIM:].clone())

    def error_px(self, points: np.ndarray) -> float:
        """Mean landmark reprojection error (image px) of the current solution."""
        target = torch.as_tensor(points, dtype=torch.float32)[: self.n_lm]
        with torch.no_grad():
            verts = self.rig.forward(self._params(self.theta[None])).vertices[0]
            return float((project_points(verts, self.camera, self.focal) - target).norm(dim=1).mean())


def _bounded_step(hess: torch.Tensor, grad: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """A projected Newton step for the expression bounds [0, 1]: coefficients at a bound whose
    gradient points out of the box stay put, the others take the Newton step of the reduced system."""
    e, g = theta[:DYN_DIM], grad[:DYN_DIM]
    free = torch.ones(N_PARAMS, dtype=torch.bool)
    free[:DYN_DIM] = ~(((e <= 0.0) & (g > 0)) | ((e >= 1.0) & (g < 0)))
    step = torch.zeros(N_PARAMS)
    step[free] = torch.linalg.solve(hess[free][:, free], -grad[free])
    return step


@dataclass
class TrackResult:
    latents: MotionLatent  # dyn [T, 52], pose [T, 6]
    fps: float
    found: np.ndarray  # [T] bool: a face was found in the frame (else the last latent is held)
    fit: PortraitFit

    def resampled(self, target_fps: float = LATENT_FPS) -> "TrackResult":
        """The same motion at target_fps (found: nearest source frame)."""
        latents = resample(self.latents, self.fps, target_fps)
        src = np.minimum(np.round(np.arange(len(latents)) * self.fps / target_fps).astype(int), len(self.found) - 1)
        return TrackResult(latents, target_fps, self.found[src], self.fit)

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, dyn=self.latents.dyn.numpy(), pose=self.latents.pose.numpy(),
                            fps=np.float64(self.fps), found=self.found)


def load_latents(path: str | Path) -> tuple[MotionLatent, float]:
    """A saved latent sequence (headsplat track's output) and its frame rate."""
    with np.load(path, allow_pickle=False) as z:
        return MotionLatent(torch.from_numpy(z["dyn"]), torch.from_numpy(z["pose"])), float(z["fps"])


def track_frames(frames, fps: float, fit: PortraitFit | None = None, config: TrackConfig | None = None,
                 progress: Callable[[int], None] | None = None) -> TrackResult:
    """Track an iterable of RGB frames [H, W, 3] uint8. Without a fit, the first frame with a face is
    fitted (identity, camera) first. Frames without a face hold the previous latent."""
    from engine.face import LandmarkDetector

    rig = load_rig()
    tracker: LandmarkTracker | None = None
    latents, found = [], []
    with LandmarkDetector(static_image=False, max_faces=1) as detector:
        for i, frame in enumerate(frames):
            faces = detector.detect(frame)
            if faces and tracker is None:
                h, w = frame.shape[:2]
                fit = fit or fit_portrait(faces[0].points, faces[0].depth, (w, h), rig)
                tracker = LandmarkTracker(fit, rig, config, fps)
            if faces and tracker is not None:
                latents.append(tracker.step(faces[0].points))
            elif latents:
                latents.append(latents[-1])
            found.append(bool(faces))
            if progress is not None:
                progress(i + 1)
    if tracker is None:
        raise ValueError("no face was found in any frame of the video")
    first = found.index(True)  # frames before the first face take its latent
    latents = [latents[0]] * first + latents
    return TrackResult(MotionLatent.stack(latents), fps, np.array(found), fit)


def resample(latents: MotionLatent, fps: float, target_fps: float = LATENT_FPS) -> MotionLatent:
    """Linear resampling of a latent sequence [T] from fps to target_fps (axis-angle interpolated
    component-wise: fine for the small steps between video frames)."""
    t_src = torch.arange(len(latents), dtype=torch.float64) / fps
    n = max(1, int(round(float(t_src[-1]) * target_fps)) + 1)
    t_dst = torch.arange(n, dtype=torch.float64) / target_fps
    pos = (t_dst * fps).clamp(0, len(latents) - 1)
    i0 = pos.floor().long()
    i1 = (i0 + 1).clamp(max=len(latents) - 1)
    w = (pos - i0).float()[:, None]
    lerp = lambda x: x[i0] * (1 - w) + x[i1] * w  # noqa: E731
    return MotionLatent(lerp(latents.dyn), lerp(latents.pose))
