"""Procedural inner parts of the head: eyeballs and eye sockets, the mouth cavity, teeth and tongue.

Sockets and the mouth cavity are pockets: strips of rings bridged onto a hole of the face mesh (the lid
opening, the inner lip line) and capped at the back, so face + shell + pockets stay one closed,
consistently oriented surface. Eyeballs, teeth rows and the tongue are separate closed meshes.

Bridging keeps the winding: a hole loop as meshops.boundary_loops returns it (its half-edges a -> b
have no twin) gets triangles that hold b -> a, and the new ring's free half-edges run the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EYE_RADIUS = 0.0120  # m, the adult eyeball is ~24 mm across
LIMBUS_DEG = 31.0  # polar angle of the iris rim from the eye's front pole (iris radius ~6.2 mm)
PUPIL_DEG = 12.0
_EYE_RINGS_DEG = (PUPIL_DEG, 22.0, LIMBUS_DEG, 40.0, 55.0, 75.0, 95.0, 120.0, 150.0)
EYE_SEGMENTS = 16  # multiple of 4: the rim has vertices at 0, 90, 180, 270 degrees


@dataclass
class MeshBuilder:
    """Accumulates vertices (with a part name each) and triangles."""

    vertices: list[np.ndarray] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    faces: list[np.ndarray] = field(default_factory=list)
    count: int = 0

    def add_vertices(self, v: np.ndarray, part: str) -> np.ndarray:
        """Append v [N, 3]; returns their indices [N]."""
        idx = np.arange(self.count, self.count + len(v))
        self.vertices.append(np.asarray(v, np.float64))
        self.parts.extend([part] * len(v))
        self.count += len(v)
        return idx

    def add_faces(self, f: np.ndarray) -> None:
        self.faces.append(np.asarray(f, np.int64).reshape(-1, 3))

    def bridge(self, loop: np.ndarray, ring: np.ndarray) -> None:
        """Quads between an open loop [N] (free half-edges loop[i] -> loop[i+1]) and a new ring [N]."""
        a, b = loop, np.roll(loop, -1)
        c, d = ring, np.roll(ring, -1)
        self.add_faces(np.concatenate([np.stack([b, a, c], 1), np.stack([b, c, d], 1)]))

    def cap(self, loop: np.ndarray, apex: int) -> None:
        """Close an open loop [N] with a fan to the vertex apex."""
        self.add_faces(np.stack([np.roll(loop, -1), loop, np.full(len(loop), apex)], 1))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.concatenate(self.vertices), np.concatenate(self.faces), np.array(self.parts)


def _uv_sphere(polar_deg: np.ndarray, segments: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit sphere around +Z: front pole, rings at polar angles (deg), back pole. Returns vertices
    [2 + R*S, 3] and outward faces."""
    th = np.radians(np.asarray(polar_deg))[:, None]
    ph = 2 * np.pi * np.arange(segments)[None] / segments
    rings = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th) * np.ones_like(ph)], -1)
    v = np.concatenate([[[0.0, 0.0, 1.0]], rings.reshape(-1, 3), [[0.0, 0.0, -1.0]]])
    r, s = len(polar_deg), segments
    ring = lambda k: 1 + k * s + np.arange(s)  # noqa: E731
    faces = [np.stack([np.zeros(s, int), ring(0), np.roll(ring(0), -1)], 1)]  # CCW seen from the front
    for k in range(r - 1):
        a, b = ring(k), ring(k + 1)
        faces += [np.stack([a, b, np.roll(b, -1)], 1), np.stack([a, np.roll(b, -1), np.roll(a, -1)], 1)]
    faces.append(np.stack([ring(r - 1), np.full(s, 1 + r * s), np.roll(ring(r - 1), -1)], 1))
    return v, np.concatenate(faces)


def eyeball(mb: MeshBuilder, centre: np.ndarray, part: str) -> tuple[np.ndarray, np.ndarray]:
    """Add an eyeball looking along +Z; returns (its vertex indices, polar angle of each in degrees)."""
    v, f = _uv_sphere(np.array(_EYE_RINGS_DEG), EYE_SEGMENTS)
    idx = mb.add_vertices(centre + EYE_RADIUS * v, part)
    mb.add_faces(f + idx[0])
    polar = np.degrees(np.arccos(np.clip(v[:, 2], -1, 1)))
    return idx, polar


def socket(mb: MeshBuilder, lid_loop: np.ndarray, points: np.ndarray, centre: np.ndarray) -> list[np.ndarray]:
    """A cup behind the lid opening (lid_loop [16] indices into points) hugging the eyeball at centre:
    the lid margin tucks in to just outside the ball, the cup wraps its back. Returns the new rings
    (front to back, each parallel to lid_loop) and the apex."""
    r = EYE_RADIUS + 0.0006
    d = points[lid_loop] - centre
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    front = centre + r * d
    # Tilt each direction back towards -Z so the second ring wraps behind the equator.
    back_dir = d * np.array([0.55, 0.55, 0.0]) + np.array([0.0, 0.0, -0.45])
    back_dir /= np.linalg.norm(back_dir, axis=1, keepdims=True)
    ring_a = mb.add_vertices(front, "socket")
    ring_b = mb.add_vertices(centre + r * back_dir, "socket")
    apex = mb.add_vertices((centre + np.array([0.0, 0.0, -r]))[None], "socket")
    mb.bridge(lid_loop, ring_a)
    mb.bridge(ring_a, ring_b)
    mb.cap(ring_b, int(apex[0]))
    return [ring_a, ring_b, apex]


@dataclass(frozen=True)
class MouthGeometry:
    """Measured on the neutral face: the lip line height, the depth of the inner lip line at the
    midline, and the half-width of the mouth opening (m)."""

    lip_y: float
    lip_z: float
    half_width: float


def mouth_pocket(mb: MeshBuilder, lip_loop: np.ndarray, points: np.ndarray, upper: np.ndarray,
                 g: MouthGeometry) -> list[np.ndarray]:
    """The oral cavity behind the inner lip loop [20]; upper [20] is +1 on the upper lip, -1 on the
    lower, 0 at the corners. Returns the new rings (front to back, each parallel to lip_loop) and
    the back apex."""
    p = points[lip_loop]
    # (depth behind the lip line, vertical half-opening, x scale) per ring.
    rings = ((0.002, 0.003, 0.97), (0.007, 0.0095, 0.95), (0.020, 0.014, 0.85), (0.038, 0.012, 0.65))
    prev, new = lip_loop, []
    for depth, half_open, sx in rings:
        ring = np.stack([p[:, 0] * sx, g.lip_y + upper * half_open, p[:, 2] - depth], 1)
        idx = mb.add_vertices(ring, "mouth_cavity")
        mb.bridge(prev, idx)
        prev = idx
        new.append(idx)
    apex = mb.add_vertices(np.array([[0.0, g.lip_y, g.lip_z - 0.052]]), "mouth_cavity")
    mb.cap(prev, int(apex[0]))
    return new + [apex]


def _swept_box(mb: MeshBuilder, path: np.ndarray, outward: np.ndarray, top: np.ndarray, bottom: np.ndarray,
               thickness: float, part: str) -> np.ndarray:
    """A closed box swept along path [N, 3] (outward [N, 3] unit, horizontal): cross-section from
    bottom [N] to top [N] heights, thickness inward from the path. Returns the indices."""
    n = len(path)
    corners = []
    for off, h in ((0.0, top), (0.0, bottom), (-thickness, bottom), (-thickness, top)):  # outer-top first
        c = path + off * outward
        corners.append(np.stack([c[:, 0], h, c[:, 2]], 1))
    v = np.stack(corners, 1).reshape(-1, 3)  # [N * 4], section k holds 4k .. 4k + 3
    idx = mb.add_vertices(v, part)
    sec = idx.reshape(n, 4)
    faces = []
    for k in range(n - 1):
        a, b = sec[k], sec[k + 1]
        for j in range(4):  # around the section: outer, bottom, inner, top faces
            j2 = (j + 1) % 4
            faces += [[a[j], a[j2], b[j2]], [a[j], b[j2], b[j]]]
    faces += [[sec[0][0], sec[0][2], sec[0][1]], [sec[0][0], sec[0][3], sec[0][2]]]  # end caps
    faces += [[sec[-1][0], sec[-1][1], sec[-1][2]], [sec[-1][0], sec[-1][2], sec[-1][3]]]
    mb.add_faces(np.array(faces))
    return idx


def _arch(front_z: float, half_width: float, depth: float, n: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """A dental arch (half an ellipse opening backwards) through (0, front_z): points [n, 3] (y = 0)
    and unit outward normals [n, 3]."""
    t = np.linspace(-1.25, 1.25, n)
    path = np.stack([half_width * np.sin(t), np.zeros(n), front_z - depth * (1 - np.cos(t))], 1)
    normal = np.stack([np.sin(t) / half_width, np.zeros(n), np.cos(t) / depth], 1)
    return path, normal / np.linalg.norm(normal, axis=1, keepdims=True)


def teeth(mb: MeshBuilder, g: MouthGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower teeth rows just behind the lips; the lower row sits behind the upper incisors
    (overbite). Returns (upper indices, lower indices)."""
    front = g.lip_z - 0.0055
    path, out = _arch(front, 0.85 * g.half_width, 0.028)
    ones = np.ones(len(path))
    scallop = 0.0006 * np.cos(np.linspace(0, 14 * np.pi, len(path)))  # a hint of separate teeth
    upper = _swept_box(mb, path, out, (g.lip_y + 0.011) * ones, g.lip_y - 0.0012 + scallop, 0.0065, "teeth_upper")
    path, out = _arch(front - 0.0022, 0.80 * g.half_width, 0.026)
    lower = _swept_box(mb, path, out, g.lip_y + 0.0008 + scallop, (g.lip_y - 0.009) * ones, 0.006, "teeth_lower")
    return upper, lower


def tongue(mb: MeshBuilder, g: MouthGeometry) -> np.ndarray:
    """A flattened ellipsoid on the floor of the mouth, tip just behind the lower teeth."""
    v, f = _uv_sphere(np.linspace(18.0, 162.0, 7), 12)
    radii = np.array([0.019, 0.0065, 0.024])
    centre = np.array([0.0, g.lip_y - 0.0085, g.lip_z - 0.008 - radii[2] - 0.003])
    idx = mb.add_vertices(centre + v * radii, "tongue")
    mb.add_faces(f + idx[0])
    return idx
