"""The closed head shell around the measured face: cranium, ears, jaw underside, neck down to a collar.

The shell is a star-shaped surface seen from SHELL_CENTRE: along each direction its radius is the
outermost zero of a smooth-union signed distance of a few primitives (cranium, jaw, neck, ears), plus a
radial correction (Gaussian RBFs over directions) fitted so the surface passes through the face's
outer boundary (the face oval) and its first inner ring: the shell continues the face smoothly, and the
correction fades to the primitives within ~20 degrees.

Vertices are spread evenly on it by farthest-point sampling (mirrored, so the shell is exactly
symmetric), then triangulated together with the face-oval vertices as the convex hull of their unit
directions (a spherical Delaunay triangulation, valid because the surface is star-shaped). Candidates
inside the diametral circle of an oval edge are dropped first so every oval edge is a Delaunay edge:
removing the hull triangles that cover the face then leaves exactly the oval as the hole, and the face
mesh closes it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull

SHELL_CENTRE = np.array([0.0, -0.05, -0.075])  # inside cranium, jaw and neck alike (star centre)
SPACING = 0.0115  # m, target shell vertex spacing
COLLAR_Y = -0.205  # bottom of the neck
NECK_TOP_Y = -0.03  # the neck cylinder ends inside the cranium

# (centre, radii) of ellipsoids; the ears are mirrored pairs.
CRANIUM = ((0.0, 0.018, -0.074), (0.080, 0.106, 0.101))
JAW = ((0.0, -0.066, -0.038), (0.050, 0.045, 0.050))
EAR = ((0.072, -0.018, -0.080), (0.014, 0.032, 0.020))
NECK = ((0.0, -0.074), (0.056, 0.059))  # x/z centre and radii of the vertical elliptic cylinder
NECK_FLARE = (-0.15, 2.5)  # below this height the neck widens by this much per metre (towards the shoulders)


def _ellipsoid(p: np.ndarray, centre, radii) -> np.ndarray:
    """Approximate signed distance (exact zero set) of an ellipsoid, p [..., 3]."""
    q = (p - np.asarray(centre)) / np.asarray(radii)
    return (np.linalg.norm(q, axis=-1) - 1.0) * min(radii)


def _smooth_min(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def shell_sdf(p: np.ndarray) -> np.ndarray:
    """Signed distance-like field of the head-and-neck primitives, p [..., 3] -> [...]."""
    (nx, nz), (rx, rz) = NECK
    flare = 1.0 + NECK_FLARE[1] * np.maximum(NECK_FLARE[0] - p[..., 1], 0.0)
    ring = (np.hypot((p[..., 0] - nx) / rx, (p[..., 2] - nz) / rz) / flare - 1.0) * min(rx, rz)
    bottom = -_smooth_min(-ring, -(COLLAR_Y - p[..., 1]), 0.012)  # a rounded rim at the collar
    neck = np.maximum(bottom, p[..., 1] - NECK_TOP_Y)
    d = _smooth_min(_ellipsoid(p, *CRANIUM), _ellipsoid(p, *JAW), 0.03)
    d = _smooth_min(d, neck, 0.03)
    (ex, ey, ez), radii = EAR
    for sx in (1.0, -1.0):
        d = _smooth_min(d, _ellipsoid(p, (sx * ex, ey, ez), radii), 0.008)
    return d


def _primitive_radius(dirs: np.ndarray, r_max: float = 0.4, steps: int = 160) -> np.ndarray:
    """Outermost zero of shell_sdf along each unit direction [N, 3] from SHELL_CENTRE -> radii [N]."""
    rs = np.linspace(r_max, 0.0, steps)
    inside = shell_sdf(SHELL_CENTRE + rs[None, :, None] * dirs[:, None, :]) < 0  # [N, steps]
    first = inside.argmax(axis=1)  # first inside sample marching inwards
    lo, hi = rs[first], rs[np.maximum(first - 1, 0)]  # inside, outside
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        ins = shell_sdf(SHELL_CENTRE + mid[:, None] * dirs) < 0
        lo, hi = np.where(ins, mid, lo), np.where(ins, hi, mid)
    return 0.5 * (lo + hi)


@dataclass
class RadialCorrection:
    """Gaussian RBFs over directions: radius += sum_j w_j exp(-(1 - d.d_j) / width^2)."""

    dirs: np.ndarray  # [K, 3]
    weights: np.ndarray  # [K]
    width: float

    def __call__(self, dirs: np.ndarray) -> np.ndarray:
        return np.exp(-(1.0 - dirs @ self.dirs.T) / self.width ** 2) @ self.weights

    @classmethod
    def fit(cls, points: np.ndarray, width: float = 0.22, reg: float = 1e-5) -> "RadialCorrection":
        """Fit so the corrected surface passes (nearly) through points [K, 3]."""
        rel = points - SHELL_CENTRE
        r = np.linalg.norm(rel, axis=1)
        d = rel / r[:, None]
        residual = r - _primitive_radius(d)
        k = np.exp(-(1.0 - d @ d.T) / width ** 2)
        w = np.linalg.solve(k + reg * np.eye(len(d)), residual)
        return cls(d, w, width)


def surface_radius(dirs: np.ndarray, correction: RadialCorrection) -> np.ndarray:
    return _primitive_radius(dirs) + correction(dirs)


def _frame(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = axis / np.linalg.norm(axis)
    e1 = np.cross([0.0, 1.0, 0.0], a)
    e1 /= np.linalg.norm(e1)
    return a, e1, np.cross(a, e1)


def _azimuthal(dirs: np.ndarray, frame) -> np.ndarray:
    """Azimuthal equidistant map of unit directions [N, 3] around frame's axis -> [N, 2]."""
    a, e1, e2 = frame
    theta = np.arccos(np.clip(dirs @ a, -1.0, 1.0))
    phi = np.arctan2(dirs @ e2, dirs @ e1)
    return np.stack([theta * np.cos(phi), theta * np.sin(phi)], axis=1)


def _inside_polygon(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd test of points [N, 2] against a closed polygon [M, 2]."""
    x, y = pts[:, 0:1], pts[:, 1:2]
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / np.where(y1 == y0, 1e-30, y1 - y0) + x0)
    return crosses.sum(axis=1) % 2 == 1


def _fibonacci_dirs(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    y = 1.0 - 2.0 * i / n
    r = np.sqrt(1.0 - y * y)
    phi = np.pi * (3.0 - np.sqrt(5.0)) * i
    return np.stack([r * np.cos(phi), y, r * np.sin(phi)], axis=1)


def _symmetric_candidates(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions [N, 3] closed under x -> -x (a half Fibonacci sphere, its mirror and the
    midline) and the index of each one's mirror [N]."""
    half = _fibonacci_dirs(n)
    half = half[half[:, 0] > 0.02]
    t = np.linspace(-np.pi, np.pi, 360, endpoint=False)
    mid = np.stack([np.zeros_like(t), np.sin(t), np.cos(t)], axis=1)
    h, m = len(half), len(mid)
    mirror = np.concatenate([np.arange(h, 2 * h), np.arange(h), 2 * h + np.arange(m)])
    return np.concatenate([half, half * np.array([-1.0, 1.0, 1.0]), mid]), mirror


def _farthest_points(points: np.ndarray, mirror: np.ndarray, seeds: np.ndarray, spacing: float) -> np.ndarray:
    """Indices into points [N, 3] picked farthest-first (each with its mirror partner mirror [N]) until
    no point is farther than spacing from the picked ones or the seeds [S, 3]."""
    dist = np.min(np.linalg.norm(points[:, None] - seeds[None], axis=2), axis=1)
    picked: list[int] = []
    while True:
        i = int(np.argmax(dist))
        if dist[i] < spacing:
            return np.array(picked, dtype=np.int64)
        for j in {i, int(mirror[i])}:
            picked.append(j)
            dist = np.minimum(dist, np.linalg.norm(points - points[j], axis=1))


@dataclass
class Shell:
    """vertices [S, 3] (new vertices only); faces [F, 3] indexing the face's vertices (0..467) and then
    these (467 + 1 + s)."""

    vertices: np.ndarray
    faces: np.ndarray


def build_shell(face_points: np.ndarray, face_triangles: np.ndarray, oval: np.ndarray) -> Shell:
    """The shell around a face mesh (face_points [468, 3], face_triangles [852, 3]) whose outer boundary
    loop is oval [M] (face vertex indices)."""
    from engine.head.meshops import neighbours

    nbrs = neighbours(face_triangles, len(face_points))
    ring1 = np.setdiff1d(np.unique(np.concatenate([nbrs[i] for i in oval])), oval)
    correction = RadialCorrection.fit(face_points[np.concatenate([oval, ring1])])

    oval_dirs = face_points[oval] - SHELL_CENTRE
    oval_dirs /= np.linalg.norm(oval_dirs, axis=1, keepdims=True)
    frame = _frame(oval_dirs.mean(0))
    footprint = _azimuthal(oval_dirs, frame)

    cand, mirror = _symmetric_candidates(24000)
    keep = ~_inside_polygon(_azimuthal(cand, frame), footprint)
    # Keep every oval edge Delaunay: no candidate inside an edge's diametral circle (with a margin).
    nxt = np.roll(oval_dirs, -1, axis=0)
    mid = oval_dirs + nxt
    mid /= np.linalg.norm(mid, axis=1, keepdims=True)
    half_angle = 0.5 * np.arccos(np.clip((oval_dirs * nxt).sum(1), -1.0, 1.0))
    keep &= np.all(cand @ mid.T < np.cos(1.3 * half_angle + 0.02), axis=1)
    keep &= keep[mirror]
    renumber = np.cumsum(keep) - 1
    cand, mirror = cand[keep], renumber[mirror[keep]]
    pts = SHELL_CENTRE + surface_radius(cand, correction)[:, None] * cand
    picked = _farthest_points(pts, mirror, face_points[oval], SPACING)
    verts = pts[picked]
    dirs = cand[picked]

    all_dirs = np.concatenate([oval_dirs, dirs])
    tri = ConvexHull(all_dirs).simplices
    flip = np.einsum("ij,ij->i", all_dirs[tri[:, 0]], np.cross(all_dirs[tri[:, 1]], all_dirs[tri[:, 2]])) < 0
    tri[flip] = tri[flip][:, ::-1]  # outward (counter-clockwise seen from outside)
    centroid = all_dirs[tri].mean(1)
    centroid /= np.linalg.norm(centroid, axis=1, keepdims=True)
    covers_face = np.all(tri < len(oval), axis=1) & _inside_polygon(_azimuthal(centroid, frame), footprint)
    tri = tri[~covers_face]
    # Renumber: oval slots -> face vertex indices, shell slots -> 468 + s.
    index = np.concatenate([oval, len(face_points) + np.arange(len(verts))])
    return Shell(verts, index[tri])
