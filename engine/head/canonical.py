"""The canonical (mean, neutral, frontal) 478-point face, derived from mediapipe at build time.

No canonical face model ships with mediapipe's wheel, so the rig's face is measured: mediapipe's face
mesh runs on the bundled public-domain portrait (skimage.data.astronaut) and on its mirror image; the two
are averaged (the mirror cancels most of the subject's asymmetry and of the detector's bias), turned
frontal, symmetrised exactly, and scaled to metres. Only build_rig imports this module (it needs
mediapipe and scikit-image, which the runtime rig does not).

Landmark i of mediapipe's 478 is point i here; 468..477 are the iris centres and rims.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.head import anatomy as A
from engine.head.meshops import boundary_loops, geodesic_distance, smooth_fill

# mediapipe indices (subject's left = world +X = image right in an unmirrored photo).
OUTER_EYE_CORNERS = (33, 263)  # subject's right, left
INNER_EYE_CORNERS = (133, 362)
FOREHEAD_TOP, CHIN = 10, 152
OUTER_EYE_DISTANCE = 0.09  # m, exocanthion to exocanthion of an average adult


def tessellation_triangles() -> np.ndarray:
    """The 852 triangles [852, 3] of mediapipe's 468-vertex face mesh.

    FACEMESH_TESSELATION is a frozenset of edges, so its order is gone at import; the module's source
    lists the edges as consecutive (a, b), (b, c), (c, a) triples, so the literal is parsed instead.
    The triples wind counter-clockwise seen from the front (outward)."""
    import mediapipe.python.solutions.face_mesh_connections as fc

    with open(fc.__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FACEMESH_TESSELATION":
            edges = np.array(ast.literal_eval(node.value.args[0]))  # [2556, 2]
            break
    else:
        raise RuntimeError("FACEMESH_TESSELATION not found in mediapipe's face_mesh_connections")
    tri = edges.reshape(-1, 3, 2)
    if not (np.all(tri[:, 0, 1] == tri[:, 1, 0]) and np.all(tri[:, 1, 1] == tri[:, 2, 0])
            and np.all(tri[:, 2, 1] == tri[:, 0, 0])):
        raise RuntimeError("mediapipe's tessellation edges are no longer consecutive triangle triples")
    return np.ascontiguousarray(tri[:, :, 0])


def _detect(image: np.ndarray) -> np.ndarray:
    """478 landmarks of the one face in image [H, W, 3] uint8, in world-oriented pixel units [478, 3]
    (x right, y up, z towards the viewer)."""
    from mediapipe.python.solutions import face_mesh

    h, w = image.shape[:2]
    with face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1) as fm:
        result = fm.process(image)
    if not result.multi_face_landmarks:
        raise RuntimeError("mediapipe found no face on the canonical portrait")
    lm = np.array([[p.x, p.y, p.z] for p in result.multi_face_landmarks[0].landmark])  # normalised
    return np.stack([lm[:, 0] * w, -lm[:, 1] * h, -lm[:, 2] * w], axis=1)  # z uses the width scale


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """src [N, 3] moved onto dst by the least-squares similarity transform (Umeyama)."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    u, s, vt = np.linalg.svd(b.T @ a)
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ d @ vt
    scale = np.trace(np.diag(s) @ d) / (a ** 2).sum()
    return scale * a @ rot.T + md


def _frontal_frame(p: np.ndarray, pairs: np.ndarray | None, oval: np.ndarray) -> np.ndarray:
    """p [478, 3] rotated so the face is frontal, centred on x = 0.

    X: the symmetry-plane normal (from mirror pairs when known, else the eye line); Z: the normal of
    the plane through the face oval, made orthogonal to X (the face plane looks along +Z); Y = Z x X."""
    if pairs is None:
        x = (p[OUTER_EYE_CORNERS[1]] - p[OUTER_EYE_CORNERS[0]]) + (p[INNER_EYE_CORNERS[1]] - p[INNER_EYE_CORNERS[0]])
    else:
        d = p - p[pairs]  # along the symmetry normal for every pair
        d = d[np.linalg.norm(d, axis=1) > 1e-9]
        x = np.linalg.svd(d, full_matrices=False)[2][0]
        x *= np.sign(x @ (p[OUTER_EYE_CORNERS[1]] - p[OUTER_EYE_CORNERS[0]]))
    x /= np.linalg.norm(x)
    ring = p[oval] - p[oval].mean(0)
    z = np.linalg.svd(ring, full_matrices=False)[2][2]
    z *= np.sign(z @ (p[1] - p[oval].mean(0)))  # towards the nose tip
    z -= (z @ x) * x
    z /= np.linalg.norm(z)
    y = np.cross(z, x)
    q = (p - p.mean(0)) @ np.stack([x, y, z]).T
    if pairs is not None:
        q[:, 0] -= 0.5 * (q[:, 0] + q[pairs, 0]).mean()  # the symmetry plane becomes x = 0
    return q


def mirror_pairs(p: np.ndarray) -> np.ndarray:
    """pairs [N]: index of each point's mirror partner (itself on the midline), by optimal assignment
    of the x-reflected frontal shape p [N, 3] onto itself."""
    refl = p * np.array([-1.0, 1.0, 1.0])
    cost = np.linalg.norm(refl[:, None] - p[None], axis=2)  # symmetric, so the assignment is an involution
    _, pairs = linear_sum_assignment(cost)
    if not np.array_equal(pairs[pairs], np.arange(len(p))):
        raise RuntimeError("mirror pairing of the face landmarks is not an involution")
    return pairs


MOUTH_NARROWING = 0.14  # share of the corners' x the smile had added
MOUTH_DROOP = 0.001  # m, corners below the midline meeting point


def neutralise_mouth(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """The portrait smiles with parted lips; the rig's neutral has closed, relaxed lips.

    The inner lip lines meet on a level line (the lower lip travels most, as the jaw would; the
    corners droop by MOUTH_DROOP) and the mouth narrows towards the corners (the smile widened it);
    the change is spread biharmonically over the face within ~3.5 cm of the mouth (mesh distance, so
    the upper and lower lips move independently)."""
    face = points[:468]
    up, lo = np.array(A.UPPER_INNER), np.array(A.LOWER_INNER)  # paired by position, corner to corner
    corners = np.array(A.MOUTH_CORNERS)  # inner right, inner left, outer right, outer left
    meet = face[up] + 0.4 * (face[lo] - face[up])
    level = meet[len(up) // 2, 1]  # the midline meeting height
    half_width = face[A.MOUTH_CORNERS[1], 0]

    def on_line(x: np.ndarray, z: np.ndarray) -> np.ndarray:
        t = (x / half_width) ** 2
        return np.stack([x * (1.0 - MOUTH_NARROWING * t), level - MOUTH_DROOP * t, z], 1)

    line = on_line(meet[:, 0], meet[:, 2])
    seal = np.array([0.0, 0.0001, 0.0])  # 0.2 mm apart, so no two vertices coincide
    d_corner = on_line(face[corners[:2], 0], face[corners[:2], 2]) - face[corners[:2]]
    moved = np.concatenate([up, lo, corners])
    far = np.flatnonzero(geodesic_distance(face, triangles, moved) > 0.035)
    values = np.concatenate([line + seal - face[up], line - seal - face[lo], d_corner, d_corner,
                             np.zeros((len(far), 3))])
    out = points.copy()
    out[:468] += smooth_fill(face, triangles, np.concatenate([moved, far]), values, order=2)
    return out


@dataclass(frozen=True)
class CanonicalFace:
    """points [478, 3] metres, world axes (origin between the outer eye corners); pairs [478]: mirror
    partner of each landmark; triangles [852, 3] over points 0..467."""

    points: np.ndarray
    pairs: np.ndarray
    triangles: np.ndarray


def face_oval_loop(triangles: np.ndarray) -> np.ndarray:
    """The outer boundary loop of the face mesh (the longest boundary loop), in mesh winding order."""
    return max(boundary_loops(triangles), key=len)


def canonical_face() -> CanonicalFace:
    """Measure the canonical face (deterministic: mediapipe's static mode on fixed images)."""
    import skimage.data

    triangles = tessellation_triangles()
    oval = face_oval_loop(triangles)
    image = skimage.data.astronaut()
    w = image.shape[1]
    direct = _detect(image)
    mirrored = _detect(np.ascontiguousarray(image[:, ::-1]))
    mirrored[:, 0] = w - mirrored[:, 0]  # back to the photo's frame: now point i sits where i's partner is

    rough = _frontal_frame(direct, None, oval)
    pairs = mirror_pairs(rough)
    avg = 0.5 * (direct + _similarity(mirrored[pairs], direct))
    front = _frontal_frame(avg, pairs, oval)
    corners = front[list(OUTER_EYE_CORNERS)]
    metres = (front - corners.mean(0)) * (OUTER_EYE_DISTANCE / np.linalg.norm(corners[1] - corners[0]))
    neutral = neutralise_mouth(symmetrise(metres, pairs), triangles)
    return CanonicalFace(symmetrise(neutral, pairs), pairs, triangles)  # the solve is symmetric to round-off only


def symmetrise(p: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """The average of p [N, 3] and its mirror image (exactly symmetric; midline points at x = 0)."""
    s = 0.5 * (p + p[pairs] * np.array([-1.0, 1.0, 1.0]))
    s[pairs == np.arange(len(p)), 0] = 0.0
    return s
