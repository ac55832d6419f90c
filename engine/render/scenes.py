"""Synthetic Gaussian scenes for the studio's demo, the tests and the benchmarks."""
from __future__ import annotations

import math

import torch

from engine.types import GaussianFrame


def random_quats(n: int, gen: torch.Generator) -> torch.Tensor:
    """Uniform random unit quaternions [n, 4] (w, x, y, z)."""
    q = torch.randn(n, 4, generator=gen)
    return q / q.norm(dim=1, keepdim=True)


def random_scene(n: int, seed: int = 0, extent: float = 0.5, scale: tuple[float, float] = (0.01, 0.06),
                 dtype: torch.dtype = torch.float32) -> GaussianFrame:
    """n Gaussians spread in a cube of half-size extent around the origin, random shapes and colours."""
    g = torch.Generator().manual_seed(seed)
    means = (torch.rand(n, 3, generator=g) * 2 - 1) * extent
    lo, hi = math.log(scale[0]), math.log(scale[1])
    scales = torch.exp(lo + (hi - lo) * torch.rand(n, 3, generator=g))
    opac = 0.2 + 0.75 * torch.rand(n, generator=g)
    colors = torch.rand(n, 3, generator=g)
    return GaussianFrame(means, random_quats(n, g), scales, opac, colors).to("cpu", dtype)


def demo_head(n: int = 20_000, seed: int = 0) -> GaussianFrame:
    """A stylised head made of n splats: a skin-toned ellipsoid shell with darker hair on top and back,
    two eyes and a mouth, so orientation is obvious in the viewport. Units: metres, faces +Z."""
    g = torch.Generator().manual_seed(seed)
    d = torch.randn(n, 3, generator=g)
    d = d / d.norm(dim=1, keepdim=True)  # [n, 3] directions on the unit sphere
    radii = torch.tensor([0.075, 0.10, 0.09])
    means = d * radii * (1 + 0.01 * torch.randn(n, 1, generator=g))
    skin = torch.tensor([0.85, 0.62, 0.50])
    hair = torch.tensor([0.20, 0.12, 0.08])
    colors = skin.expand(n, 3).clone()
    is_hair = (d[:, 1] > 0.35) | ((d[:, 2] < -0.2) & (d[:, 1] > -0.4))
    colors[is_hair] = hair
    for sx in (-1.0, 1.0):  # eyes: dark discs on the front
        eye = (d[:, 2] > 0.6) & ((d[:, 0] - sx * 0.38).abs() < 0.12) & ((d[:, 1] - 0.18).abs() < 0.08)
        colors[eye] = torch.tensor([0.08, 0.10, 0.15])
    mouth = (d[:, 2] > 0.6) & (d[:, 0].abs() < 0.25) & ((d[:, 1] + 0.42).abs() < 0.05)
    colors[mouth] = torch.tensor([0.65, 0.20, 0.22])
    colors = (colors * (0.9 + 0.2 * torch.rand(n, 1, generator=g))).clamp(0, 1)
    # Flat splats tangent to the surface: smallest scale along the normal.
    area = 4 * math.pi * 0.09 ** 2 / n
    s = math.sqrt(area) * 0.9
    scales = torch.tensor([s, s, s * 0.15]).expand(n, 3).clone()
    z = torch.tensor([0.0, 0.0, 1.0]).expand(n, 3)
    normal = d / radii ** 2
    normal = normal / normal.norm(dim=1, keepdim=True)
    axis = torch.cross(z, normal, dim=1)  # rotate local +Z onto the normal
    sin = axis.norm(dim=1, keepdim=True).clamp_min(1e-9)
    cos = (z * normal).sum(1, keepdim=True)
    half = torch.atan2(sin, cos) / 2
    quats = torch.cat([torch.cos(half), torch.sin(half) * axis / sin], dim=1)
    opac = torch.full((n,), 0.95)
    return GaussianFrame(means, quats, scales, opac, colors)
