"""Video -> motion latents (the "motion encoder"): per-frame face-mesh landmarks -> the 52 expression
coefficients + head pose, by a few damped Gauss-Newton steps per frame, warm-started from the last
frame and smoothed over time.

Identity and camera come from a PortraitFit (of the portrait the avatar was made from, or of the
video's first frame). Per frame only 58 numbers move: expression [52] (kept in [0, 1]), rotation [3]
and translation [3]; the Jacobian is taken by finite differences over one batched rig forward on a
copy of the rig cut down to the landmark vertices, which keeps a frame at a few milliseconds.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from engine.head.fit import PortraitFit, fit_portrait, landmark_weights
from engine.render.projection import project_points
from engine.head.model import ParametricRig, RigParams, load_rig
from engine.types import DYN_DIM, LATENT_FPS, POSE_DIM, Camera, MotionLatent

N_PARAMS = DYN_DIM + POSE_DIM  # 58 unknowns per frame: expression, rotation, translation


@dataclass(frozen=True)
class TrackConfig:
    iterations: int = 3  # Gauss-Newton steps per frame
    fd_step: float = 1e-3  # finite-difference step (coefficients; radians; metres scaled below)
    damping: float = 1e-2  # Levenberg-Marquardt λ (relative to the diagonal of JᵀJ)
    w_expression: float = 0.02  # pull towards neutral
    w_temporal: float = 0.05  # pull towards the previous frame (also damps jitter)
    smoothing: float = 0.2  # output EMA factor (0 = none, towards 1 = heavier): more lags the pose


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


class LandmarkTracker:
    """Feed landmarks frame by frame; get a MotionLatent per frame."""

    def __init__(self, fit: PortraitFit, rig: ParametricRig | None = None, config: TrackConfig | None = None) -> None:
        self.cfg = config or TrackConfig()
        rig = rig or load_rig()
        self.camera: Camera = fit.camera
        self.focal = torch.tensor([fit.camera.fx, fit.camera.fy])
        self.scale = max(fit.camera.width, fit.camera.height) / 512.0  # residuals in 512-px units
        self.n_lm = len(rig.landmark_vertices)
        self.rig = _landmark_rig(rig, fit, rig.landmark_vertices)
        self.sqrt_w = landmark_weights(self.n_lm).sqrt().repeat_interleave(2)  # [2L]
        self.identity = torch.zeros(1, rig.n_identity)
        # Parameter scales so one finite-difference step and one damping λ suit all 58 unknowns.
        self.units = torch.cat([torch.ones(DYN_DIM), torch.full((3,), 0.5), torch.full((3,), 0.05)])
        self.start = torch.cat([torch.zeros(DYN_DIM), fit.params.rotation[0], fit.params.translation[0]])
        self.reset()

    def reset(self) -> None:
        self.theta = self.start.clone()  # [58] the current solution
        self.smoothed: torch.Tensor | None = None

    def _params(self, theta: torch.Tensor) -> RigParams:
        """theta [B, 58] -> rig parameters (identity already baked into the cut-down rig)."""
        b = theta.shape[0]
        zeros = RigParams.zeros(b, self.identity.shape[1])
        return replace(zeros, expression=theta[:, :DYN_DIM], rotation=theta[:, DYN_DIM:DYN_DIM + 3],
                       translation=theta[:, DYN_DIM + 3:])

    def _residuals(self, theta: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """theta [B, 58] -> weighted residuals [B, 2L] in 512-px units."""
        verts = self.rig.forward(self._params(theta)).vertices  # [B, L, 3]
        proj = project_points(verts, self.camera, self.focal)  # [B, L, 2]
        return (proj - target).reshape(theta.shape[0], -1) / self.scale * self.sqrt_w

    @torch.no_grad()
    def step(self, points: np.ndarray) -> MotionLatent:
        """points [478, 2] px in the tracking camera's image -> this frame's latent."""
        cfg = self.cfg
        target = torch.as_tensor(points, dtype=torch.float32)[: self.n_lm]
        prev = self.theta.clone()
        theta = self.theta.clone()
        eye = torch.eye(N_PARAMS)
        h = cfg.fd_step * self.units
        for _ in range(cfg.iterations):
            batch = torch.cat([theta[None], theta[None] + torch.diag(h)])  # [59, 58]
            res = self._residuals(batch, target)  # [59, 2L]
            r0 = res[0]
            jac = ((res[1:] - r0) / h[:, None]).T  # [2L, 58]
            jtj = jac.T @ jac
            prior = cfg.w_expression * torch.cat([torch.ones(DYN_DIM), torch.zeros(POSE_DIM)])
            temporal = cfg.w_temporal / self.units ** 2
            lhs = jtj + torch.diag(prior + temporal) + cfg.damping * torch.diag(jtj.diagonal()) + 1e-9 * eye
            rhs = -(jac.T @ r0) - prior * theta - temporal * (theta - prev)
            theta = theta + torch.linalg.solve(lhs, rhs)
            theta[:DYN_DIM].clamp_(0.0, 1.0)  # ARKit coefficients live in [0, 1]
        self.theta = theta
        a = cfg.smoothing
        self.smoothed = theta.clone() if self.smoothed is None else a * self.smoothed + (1 - a) * theta
        return MotionLatent(self.smoothed[:DYN_DIM].clone(), self.smoothed[DYN_DIM:].clone())

    def error_px(self, points: np.ndarray) -> float:
        """Mean landmark reprojection error (image px) of the current solution."""
        target = torch.as_tensor(points, dtype=torch.float32)[: self.n_lm]
        with torch.no_grad():
            verts = self.rig.forward(self._params(self.theta[None])).vertices[0]
            return float((project_points(verts, self.camera, self.focal) - target).norm(dim=1).mean())


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
                tracker = LandmarkTracker(fit, rig, config)
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
