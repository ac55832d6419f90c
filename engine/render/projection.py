"""Differentiable EWA projection of 3D Gaussians to screen space (the math gsplat's 'classic' mode uses)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.config import RenderConfig
from engine.types import Camera


def project_points(points: torch.Tensor, camera: Camera, focal: torch.Tensor | None = None) -> torch.Tensor:
    """World points [..., 3] -> image coordinates [..., 2] px (differentiable; pixel centres at +0.5,
    so a point lands at (fx·x/z + cx, fy·y/z + cy)). focal [2] overrides (fx, fy), e.g. while fitting it.
    Points at or behind the camera plane give non-finite values."""
    view = camera.viewmat(points.device, points.dtype)
    p = points @ view[:3, :3].T + view[:3, 3]
    f = torch.tensor([camera.fx, camera.fy], dtype=points.dtype, device=points.device) if focal is None else focal
    c = torch.tensor([camera.cx, camera.cy], dtype=points.dtype, device=points.device)
    return p[..., :2] / p[..., 2:3] * f + c


def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:
    """quats [N, 4] (w, x, y, z; normalised here) -> rotation matrices [N, 3, 3]."""
    w, x, y, z = (quats / quats.norm(dim=-1, keepdim=True)).unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], dim=-1).reshape(-1, 3, 3)


def covariance_3d(quats: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Σ = R S Sᵀ Rᵀ: quats [N, 4], scales [N, 3] -> [N, 3, 3]."""
    m = quat_to_rotmat(quats) * scales[:, None, :]  # R · diag(s)
    return m @ m.transpose(1, 2)


@dataclass
class Projected:
    """Screen-space Gaussians. Entries of culled Gaussians are finite but must be ignored (visible False).

    means2d [N, 2] px; conics [N, 3] (A, B, C) of the inverse 2D covariance; depths [N] camera z;
    radii [N, 2] int px half-extents along x and y (0 when culled); visible [N] bool.
    """

    means2d: torch.Tensor
    conics: torch.Tensor
    depths: torch.Tensor
    radii: torch.Tensor
    visible: torch.Tensor


def project(means: torch.Tensor, quats: torch.Tensor, scales: torch.Tensor, opacities: torch.Tensor,
            camera: Camera, config: RenderConfig) -> Projected:
    """EWA splatting: camera-space mean, Jacobian of the perspective map at the mean (its x/z, y/z
    clamped to 1.3× the view frustum like gsplat, so splats far off-screen do not blow up), plus
    the eps2d low-pass. The extents are opacity-aware and tight (the x/y extent of the ellipse where
    alpha = alpha_min): beyond them alpha < alpha_min, so tile culling loses nothing a dense
    evaluation would keep."""
    dtype, dev = means.dtype, means.device
    view = camera.viewmat(dev, dtype)
    rot, trans = view[:3, :3], view[:3, 3]
    t = means @ rot.T + trans  # [N, 3] camera space
    z = t[:, 2]
    zs = z.clamp_min(config.near)  # safe divisor; culled entries are masked below
    fx, fy, cx, cy = camera.fx, camera.fy, camera.cx, camera.cy
    tan_x, tan_y = 0.5 * camera.width / fx, 0.5 * camera.height / fy
    tx = zs * (t[:, 0] / zs).clamp(-(cx / fx + 0.3 * tan_x), (camera.width - cx) / fx + 0.3 * tan_x)
    ty = zs * (t[:, 1] / zs).clamp(-(cy / fy + 0.3 * tan_y), (camera.height - cy) / fy + 0.3 * tan_y)
    zero = torch.zeros_like(zs)
    jac = torch.stack([fx / zs, zero, -fx * tx / zs ** 2,
                       zero, fy / zs, -fy * ty / zs ** 2], dim=-1).reshape(-1, 2, 3)  # [N, 2, 3]
    jw = jac @ rot  # [N, 2, 3]
    cov2d = jw @ covariance_3d(quats, scales) @ jw.transpose(1, 2)  # [N, 2, 2]
    a = cov2d[:, 0, 0] + config.eps2d
    b = cov2d[:, 0, 1]
    c = cov2d[:, 1, 1] + config.eps2d
    det = a * c - b * b
    det_safe = torch.where(det > 0, det, torch.ones_like(det))
    conics = torch.stack([c / det_safe, -b / det_safe, a / det_safe], dim=-1)
    means2d = torch.stack([fx * t[:, 0] / zs + cx, fy * t[:, 1] / zs + cy], dim=-1)

    with torch.no_grad():
        o = opacities.clamp_min(config.alpha_min)
        extent = torch.sqrt(2 * torch.log(o / config.alpha_min)).clamp_max(3.33)  # in std-devs
        radii = torch.ceil(extent[:, None] * torch.stack([a, c], -1).clamp_min(0).sqrt()).to(torch.int32)
        lo, hi = means2d - radii, means2d + radii
        on_screen = (hi[:, 0] > 0) & (lo[:, 0] < camera.width) & (hi[:, 1] > 0) & (lo[:, 1] < camera.height)
        visible = ((z >= config.near) & (z <= config.far) & (det > 0) & (radii > 0).all(dim=1)
                   & (opacities >= config.alpha_min) & on_screen)
        radii = torch.where(visible[:, None], radii, torch.zeros_like(radii))
    return Projected(means2d, conics, z, radii, visible)
