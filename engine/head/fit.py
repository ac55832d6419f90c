"""Portrait fitting: camera focal length, head pose, identity shape and the photo's own expression,
by differentiable least squares on the 478 face-mesh landmarks with priors.

Conventions: the camera sits on +Z looking at the origin (an OrbitCamera at yaw 0, pitch 0), and the
head's pose in the photo is the rig's global rotation + translation (the same place MotionLatent.pose
lives), so a portrait fit and a tracked video share one space. Rig vertex i is face-mesh landmark i
(iris landmarks map to eyeball vertices), so the data term needs no correspondence search.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from engine.head.model import HeadModel, RigParams, load_rig
from engine.render.projection import project_points
from engine.threads import run_single_threaded
from engine.types import ARKIT_NAMES, Camera, look_at

CAMERA_DISTANCE = 0.6  # metres from the origin; the fitted translation and focal absorb the rest


@dataclass(frozen=True)
class FitConfig:
    """Weights and schedule of the fit (pixel residuals are divided by the crop size / 512)."""

    pose_steps: int = 150  # stage 1: focal + pose only
    shape_steps: int = 350  # stage 2: + identity + expression
    offset_steps: int = 250  # stage 3: + per-vertex identity offsets (face only)
    lr: float = 0.02
    fov_prior_deg: float = 22.0  # typical portrait lens (vertical)
    w_fov: float = 1e-2
    w_identity: float = 2e-3  # identity coefficients ~ N(0, 1)
    w_expression: float = 0.03  # L1: coefficients stay 0 (neutral) unless the landmarks insist
    w_offset: float = 30.0  # metres² → keep offsets small …
    w_offset_smooth: float = 300.0  # … and smooth (Laplacian)
    w_contour: float = 0.3  # face-oval landmarks slide along the silhouette: trust them less
    w_depth: float = 0.05  # mediapipe's relative depth, a weak hint for the nose/chin profile


@dataclass
class PortraitFit:
    """The result: camera (intrinsics + world_to_cam), rig parameters (batch 1) and quality."""

    camera: Camera
    params: RigParams
    error_px: float  # mean landmark reprojection error in crop pixels
    error_by_group: dict[str, float] = field(default_factory=dict)

    def save(self, folder: str | Path) -> None:
        """fit.json (camera, pose, named expression, errors) + fit.safetensors (all parameters)."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {f.name: getattr(self.params, f.name).detach().cpu().contiguous() for f in fields(self.params)
                   if getattr(self.params, f.name) is not None}
        save_file(tensors, str(folder / "fit.safetensors"))
        cam = self.camera
        meta = {
            "format": "headsplat-fit", "version": 1,
            "camera": {"width": cam.width, "height": cam.height, "fx": cam.fx, "fy": cam.fy, "cx": cam.cx,
                       "cy": cam.cy, "world_to_cam": cam.world_to_cam.tolist()},
            "rotation": self.params.rotation[0].tolist(), "translation": self.params.translation[0].tolist(),
            "expression": {n: round(float(v), 4) for n, v in zip(ARKIT_NAMES, self.params.expression[0])
                           if abs(float(v)) > 1e-3},
            "error_px": self.error_px, "error_by_group": self.error_by_group,
        }
        (folder / "fit.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: str | Path) -> "PortraitFit":
        from safetensors.torch import load_file

        folder = Path(folder)
        meta = json.loads((folder / "fit.json").read_text())
        c = meta["camera"]
        camera = Camera(c["width"], c["height"], c["fx"], c["fy"], c["cx"], c["cy"], np.array(c["world_to_cam"]))
        tensors = load_file(str(folder / "fit.safetensors"))
        params = RigParams(**{f.name: tensors.get(f.name) for f in fields(RigParams)})
        return cls(camera, params, meta["error_px"], meta.get("error_by_group", {}))


def landmark_weights(n: int = 478, contour: float = FitConfig.w_contour) -> torch.Tensor:
    """Per-landmark weights [n]: the face oval slides along the silhouette, so it counts less."""
    from engine.face.topology import LANDMARK_GROUPS

    w = torch.ones(n)
    w[torch.as_tensor(LANDMARK_GROUPS["face_oval"])] = contour
    return w


def front_camera(width: int, height: int, focal: float) -> Camera:
    """The fitting camera: at CAMERA_DISTANCE on +Z looking at the origin, principal point centred."""
    return Camera(width, height, focal, focal, width / 2, height / 2,
                  look_at((0.0, 0.0, CAMERA_DISTANCE), (0.0, 0.0, 0.0)))


def _laplacian(faces: torch.Tensor, n: int) -> torch.Tensor:
    """Uniform graph Laplacian as a sparse [n, n] matrix (I − mean of neighbours)."""
    e = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = torch.unique(torch.cat([e, e.flip(1)]), dim=0)
    deg = torch.bincount(e[:, 0], minlength=n).clamp_min(1).float()
    vals = -1.0 / deg[e[:, 0]]
    idx = torch.cat([e.T, torch.arange(n).repeat(2, 1)], dim=1)
    return torch.sparse_coo_tensor(idx, torch.cat([vals, torch.ones(n)]), (n, n), check_invariants=True).coalesce()


@run_single_threaded
def fit_portrait(points: np.ndarray, depth: np.ndarray | None, size: int | tuple[int, int],
                 rig: HeadModel | None = None, config: FitConfig | None = None, progress=None) -> PortraitFit:
    """Fit the rig to the landmarks of one image.

    points [478, 2] px; depth [478] mediapipe relative depth in px units (or None); size: the side of
    a square crop, or (width, height). progress(fraction) is called now and then. Returns a
    PortraitFit whose camera renders the image.
    """
    width, height = (size, size) if isinstance(size, int) else size
    cfg = config or FitConfig()
    rig = rig or load_rig()
    target = torch.as_tensor(points, dtype=torch.float32)  # [L, 2]
    n_lm = target.shape[0]
    scale = max(width, height) / 512.0  # residuals in "512-px" units: weights do not depend on the size
    lm_w = landmark_weights(n_lm, cfg.w_contour)
    lm_vid = rig.landmark_vertices[:n_lm]
    face_mask = rig.regions["face"]

    params = RigParams.zeros(1, rig.n_identity)
    f0 = 0.5 * height / math.tan(math.radians(cfg.fov_prior_deg) / 2)
    log_f = torch.tensor(math.log(f0), requires_grad=True)
    rotation = torch.zeros(1, 3, requires_grad=True)
    # Start with the head centred at the crop centre, at the distance its landmark spread suggests.
    translation = torch.zeros(1, 3)
    with torch.no_grad():
        verts = rig.forward(params).vertices[0, lm_vid]
        spread_model = (verts[:, :2] - verts[:, :2].mean(0)).norm(dim=1).mean()
        spread_img = (target - target.mean(0)).norm(dim=1).mean()
        z = f0 * spread_model / spread_img  # camera distance that matches the spread
        c = (target.mean(0) - torch.tensor([width / 2, height / 2])) / f0 * z
        translation[0] = torch.stack([c[0] - verts[:, 0].mean(), -c[1] - verts[:, 1].mean(),
                                      CAMERA_DISTANCE - z - verts[:, 2].mean()])
    translation.requires_grad_()
    identity = torch.zeros(1, rig.n_identity, requires_grad=True)
    expression = torch.zeros(1, len(ARKIT_NAMES), requires_grad=True)
    offsets = torch.zeros(rig.num_vertices, 3, requires_grad=True)
    lap = _laplacian(rig.faces.cpu(), rig.num_vertices)
    camera = front_camera(width, height, f0)
    depth_t = None if depth is None else torch.as_tensor(depth, dtype=torch.float32)

    def current(with_offsets: bool) -> RigParams:
        return RigParams(identity=identity, expression=expression, jaw=params.jaw, eyes=params.eyes,
                         neck=params.neck, rotation=rotation, translation=translation,
                         offsets=(offsets * face_mask[:, None]) if with_offsets else None)

    def losses(with_offsets: bool) -> tuple[torch.Tensor, torch.Tensor]:
        out = rig.forward(current(with_offsets)).vertices[0]  # [V, 3]
        focal = log_f.exp().expand(2)
        proj = project_points(out[lm_vid], camera, focal)  # [L, 2]
        res = ((proj - target) / scale).norm(dim=1)  # [L] px at 512²
        data = (lm_w * res ** 2).sum() / lm_w.sum()
        loss = data
        if depth_t is not None and cfg.w_depth > 0:  # relative depth, in the image's pixel scale
            view = camera.viewmat()
            zc = out[lm_vid] @ view[2, :3] + view[2, 3]  # camera z
            zc = zc * focal[0] / zc.mean().detach()  # pixels at the face's own distance, like x and y
            d = (zc - zc.mean()) - (depth_t - depth_t.mean())
            loss = loss + cfg.w_depth * (d / scale).pow(2).mean()
        fov = 2 * torch.atan(0.5 * height / log_f.exp())
        loss = loss + cfg.w_fov * (torch.rad2deg(fov) - cfg.fov_prior_deg) ** 2
        loss = loss + cfg.w_identity * identity.pow(2).sum() + cfg.w_expression * expression.abs().sum()
        if with_offsets:
            o = offsets * face_mask[:, None]
            loss = loss + cfg.w_offset * o.pow(2).sum() + cfg.w_offset_smooth * torch.sparse.mm(lap, o).pow(2).sum()
        return loss, res

    stages = [([log_f, rotation, translation], cfg.pose_steps, False),
              ([log_f, rotation, translation, identity, expression], cfg.shape_steps, False),
              ([log_f, rotation, translation, identity, expression, offsets], cfg.offset_steps, True)]
    total = sum(s[1] for s in stages)
    done = 0
    for group, steps, with_offsets in stages:
        # Offsets are metres: Adam's step is about lr in parameter units, so they get a millimetre-sized lr.
        opt = torch.optim.Adam([{"params": [p for p in group if p is not offsets]},
                                {"params": [p for p in group if p is offsets], "lr": cfg.lr * 0.01}], lr=cfg.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1), eta_min=cfg.lr * 0.0005)
        for _ in range(steps):
            opt.zero_grad()
            loss, _ = losses(with_offsets)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                expression.clamp_(0.0, 1.0)  # ARKit coefficients live in [0, 1]
            done += 1
            if progress is not None and done % 25 == 0:
                progress(done / total)

    with torch.no_grad():
        _, res = losses(True)
        res = res * scale  # back to crop pixels
        final = current(True)
        params = RigParams(identity=final.identity.detach(), expression=final.expression.detach(),
                           jaw=final.jaw, eyes=final.eyes, neck=final.neck, rotation=final.rotation.detach(),
                           translation=final.translation.detach(), offsets=final.offsets.detach())
        f = float(log_f.exp())
        from engine.face.topology import LANDMARK_GROUPS

        groups = {name: float(res[torch.as_tensor(ids)].mean()) for name, ids in LANDMARK_GROUPS.items()
                  if max(ids) < n_lm}
    return PortraitFit(front_camera(width, height, f), params, float(res.mean()), groups)
