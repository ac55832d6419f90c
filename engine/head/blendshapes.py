"""The 52 ARKit expression blendshapes, authored as smooth displacement fields on the face.

Each shape pins a few landmark groups to hand-set displacements (metres, at coefficient 1) and pins
everything beyond a support distance (mesh distance from the pinned groups) to zero; the rest of the
face gets the biharmonic interpolant (meshops.smooth_fill), so fields are smooth, local, and respect
the mesh's topology: the upper and lower lips and lids move independently although they touch.

Only the subject's *Left shapes are authored; *Right shapes are their exact mirror images. Shapes
that joints carry (jaw*, eyeLook*) are zero here except for jawOpen's small lip corrective;
tongueOut moves the tongue mesh, which build_rig handles (face_blendshapes covers vertices 0..467).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from engine.head import anatomy as A
from engine.head.anatomy import EyeGroups, FaceAnatomy
from engine.head.meshops import geodesic_distance, smooth_fill, smoothstep
from engine.types import ARKIT_NAMES

MIRROR = np.array([-1.0, 1.0, 1.0])
Anchor = tuple[np.ndarray, np.ndarray]  # vertex indices [K], displacement [3] or [K, 3]


class Sculptor:
    """Builds displacement fields [468, 3] on the face mesh from pinned anchors."""

    def __init__(self, anat: FaceAnatomy) -> None:
        self.a = anat
        self.p = anat.points[:468]

    def field(self, anchors: list[Anchor], support: float) -> np.ndarray:
        idx = np.concatenate([np.atleast_1d(np.asarray(i)) for i, _ in anchors])
        disp = np.concatenate([np.broadcast_to(np.asarray(d, float), (len(np.atleast_1d(i)), 3))
                               for i, d in anchors])
        idx, first = np.unique(idx, return_index=True)  # a vertex named twice keeps its first value
        disp = disp[first]
        far = np.flatnonzero(geodesic_distance(self.p, self.a.triangles, idx) > support)
        far = np.setdiff1d(far, idx)
        return smooth_fill(self.p, self.a.triangles, np.concatenate([idx, far]),
                             np.concatenate([disp, np.zeros((len(far), 3))]), order=2)

    def left(self, idx) -> np.ndarray:
        """Side weight [K] of vertices: 1 on the subject's left, 0 on the right, smooth at the midline."""
        return smoothstep(-0.003, 0.012, self.p[np.asarray(idx), 0])

    def mirror(self, d: np.ndarray) -> np.ndarray:
        """The mirror image of a field [468, 3]."""
        return d[self.a.pairs[:468]] * MIRROR

    def symmetric(self, d: np.ndarray) -> np.ndarray:
        return 0.5 * (d + self.mirror(d))


def _ix(*groups) -> np.ndarray:
    return np.array([i for g in groups for i in g])


def _rotate_about(points: np.ndarray, centre: np.ndarray, angle: float) -> np.ndarray:
    """Displacement of points [K, 3] rotated by angle (rad) about the x axis through centre."""
    c, s = np.cos(angle), np.sin(angle)
    q = points - centre
    y = c * q[:, 1] - s * q[:, 2]
    z = s * q[:, 1] + c * q[:, 2]
    return np.stack([np.zeros(len(q)), y - q[:, 1], z - q[:, 2]], 1)


def _lower_lid_at(eye: EyeGroups, p: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Points [K, 3] on the lower lid polyline (corners included) at the given x [K]."""
    lid = np.concatenate([list(eye.corners), eye.lower])
    lid = lid[np.argsort(p[lid, 0])]
    return np.stack([x, np.interp(x, p[lid, 0], p[lid, 1]), np.interp(x, p[lid, 0], p[lid, 2])], 1)


def _narrowed(p: np.ndarray, rows: list[np.ndarray], amount: float) -> np.ndarray:
    """Displacement [468, 3] (zero off the rows) of lip rows (each from corner to corner) when the
    mouth narrows by `amount` of its width towards the midline: every vertex moves in and takes the
    depth its row has at the new x, so the corners slide forward along the lips' curve instead of
    sinking into the cheeks."""
    out = np.zeros((len(p), 3))
    for row in rows:
        ax = np.abs(p[row, 0])
        order = np.argsort(ax)
        out[row, 0] = -amount * p[row, 0]
        out[row, 2] = np.interp((1.0 - amount) * ax, ax[order], p[row[order], 2]) - p[row, 2]
    return out


def _left_shapes(s: Sculptor, eye_centre: np.ndarray) -> dict[str, np.ndarray]:
    """The subject's-left shapes (and the symmetric ones, already symmetrised)."""
    a, p = s.a, s.p
    eye = a.eye_left
    up_in, lo_in = np.array(A.UPPER_INNER), np.array(A.LOWER_INNER)
    up_out, lo_out = np.array(A.UPPER_OUTER), np.array(A.LOWER_OUTER)
    corner_l = np.array([A.MOUTH_CORNERS[1], A.MOUTH_CORNERS[3]])
    corner_r = np.array([A.MOUTH_CORNERS[0], A.MOUTH_CORNERS[2]])
    upper, lower = _ix(up_in, up_out), _ix(lo_in, lo_out)
    lips_mid = np.array([13, 0, 14, 17])
    half_w = p[corner_l[1], 0]

    def side_weighted(idx, d) -> Anchor:  # a displacement fading from the left corner to the midline
        idx = np.asarray(idx)
        w = np.clip(p[idx, 0] / half_w, 0.0, 1.0) ** 2
        return idx, w[:, None] * np.asarray(d, float)

    def lids(upper_d, lower_d, support, extra: list[Anchor] = ()) -> np.ndarray:
        corners = np.array(eye.corners)
        return s.field([(eye.upper, upper_d), (eye.lower, lower_d), (corners, np.zeros(3)), *extra], support)

    out: dict[str, np.ndarray] = {}
    # --- eyes: the upper margin closes down onto the lower lid, along a chord that clears the ball.
    target = _lower_lid_at(eye, p, p[eye.upper, 0]) + np.array([0.0, 0.0006, 0.0008])
    out["eyeBlinkLeft"] = lids(target - p[eye.upper], np.array([0.0, 0.0007, 0.0]), 0.014)
    out["eyeSquintLeft"] = lids(np.array([0.0, -0.0012, 0.0]),
                                np.array([0.0, 0.0022, 0.0006]) * (0.6 + 0.4 * s.left(eye.lower))[:, None],
                                0.016, [(np.array(A.LEFT_UNDER_EYE[:3]), np.array([0.0, 0.0012, 0.0004]))])
    out["eyeWideLeft"] = lids(_rotate_about(p[eye.upper], eye_centre, -0.2), np.array([0.0, -0.0009, 0.0]), 0.016)
    # --- brows
    inner, outer, brow = np.array(A.LEFT_BROW_INNER), np.array(A.LEFT_BROW_OUTER), np.array(A.LEFT_BROW)
    out["browDownLeft"] = s.field([(inner, np.array([-0.002, -0.0055, 0.0005])),
                                   (brow, np.array([-0.0005, -0.0035, 0.0]))], 0.02)
    out["browOuterUpLeft"] = s.field([(outer, np.array([0.0, 0.0055, 0.0])),
                                      (inner, np.array([0.0, 0.0012, 0.0]))], 0.022)
    out["browInnerUp"] = s.symmetric(s.field([(inner, np.array([0.0, 0.0065, 0.0005])),
                                              (a.mirror(inner), np.array([0.0, 0.0065, 0.0005])),
                                              (outer, np.array([0.0, 0.001, 0.0])),
                                              (a.mirror(outer), np.array([0.0, 0.001, 0.0]))], 0.025))
    # --- cheeks and nose
    cheek, cheek_r = np.array(A.LEFT_CHEEK), a.mirror(np.array(A.LEFT_CHEEK))
    normal_l = np.array([0.75, 0.0, 0.66])
    out["cheekPuff"] = s.symmetric(s.field([(cheek, 0.0065 * normal_l), (cheek_r, 0.0065 * normal_l * MIRROR),
                                            (_ix(upper, lower), np.array([0.0, 0.0, 0.0012]))], 0.028))
    out["cheekSquintLeft"] = s.field([(np.array(A.LEFT_UNDER_EYE), np.array([0.0005, 0.0032, 0.001])),
                                      (eye.lower, np.array([0.0, 0.0009, 0.0]))], 0.02)
    out["noseSneerLeft"] = s.field([(np.array(A.LEFT_ALA), np.array([0.0008, 0.0035, 0.0])),
                                    (np.array(A.LEFT_NOSE_SIDE), np.array([0.0, 0.0022, 0.0])),
                                    (np.array(A.NOSE_TIP), np.zeros(3))], 0.018)
    # --- mouth: one-sided shapes pin the midline and the right corner
    pin_r = (_ix(lips_mid, corner_r), np.zeros(3))
    out["mouthSmileLeft"] = s.field([(corner_l, np.array([0.0055, 0.008, -0.0035])),
                                     side_weighted(_ix(upper, lower), np.array([0.003, 0.004, -0.0015])), pin_r,
                                     (np.array(A.LEFT_CHEEK[:4]), np.array([0.001, 0.0022, 0.0008]))], 0.032)
    out["mouthFrownLeft"] = s.field([(corner_l, np.array([0.0005, -0.0048, -0.0005])),
                                     side_weighted(_ix(upper, lower), np.array([0.0, -0.003, 0.0])), pin_r,
                                     (np.array(A.LEFT_DIMPLE[3:]), np.array([0.0, -0.0015, 0.0]))], 0.028)
    out["mouthDimpleLeft"] = s.field([(corner_l, np.array([0.0025, 0.0005, -0.0038])),
                                      side_weighted(_ix(upper, lower), np.array([0.0015, 0.0, -0.002])), pin_r,
                                      (np.array(A.LEFT_DIMPLE[:2]), np.array([0.0, 0.0, -0.0015]))], 0.028)
    out["mouthStretchLeft"] = s.field([(corner_l, np.array([0.0055, -0.0028, -0.002])),
                                       side_weighted(lower, np.array([0.002, -0.002, -0.0005])),
                                       side_weighted(upper, np.array([0.002, 0.0, -0.0005])), pin_r], 0.03)
    lip_side = lambda idx: s.left(idx)[:, None]  # noqa: E731
    out["mouthPressLeft"] = s.field([(up_out, np.array([0.0, -0.0026, -0.0008]) * lip_side(up_out)),
                                     (lo_out, np.array([0.0, 0.0026, -0.0008]) * lip_side(lo_out)),
                                     (_ix(up_in, lo_in), np.array([0.0, 0.0, -0.0005]) * lip_side(_ix(up_in, lo_in))),
                                     (corner_l, np.array([0.001, 0.0, 0.0])), (corner_r, np.zeros(3))], 0.02)
    out["mouthLowerDownLeft"] = s.field([(lower, np.array([0.0, -0.0055, 0.001]) * lip_side(lower)),
                                         (_ix(corner_l, corner_r), np.zeros(3))], 0.022)
    out["mouthUpperUpLeft"] = s.field([(upper, np.array([0.0, 0.0048, 0.001]) * lip_side(upper)),
                                       (_ix(corner_l, corner_r), np.zeros(3))], 0.02)
    mouth = _ix(upper, lower, corner_l, corner_r)
    out["mouthLeft"] = s.field([(mouth, np.array([0.0065, 0.0, -0.0005]))], 0.03)
    # --- symmetric mouth shapes
    corners = _ix(corner_l, corner_r)
    inward = -np.sign(p[corners, 0])[:, None] * np.array([1.0, 0.0, 0.0])
    out["mouthClose"] = s.symmetric(s.field([(upper, np.array([0.0, -0.0035, 0.0005])),
                                             (lower, np.array([0.0, 0.0055, 0.0005]))], 0.02))
    # Funnel and pucker contract the whole mouth towards the midline (orbicularis oris): the visible
    # mouth narrows. Pulling in only the corners would fold them under the neighbouring lip vertices.
    rows = [_ix(corner_r[1:], up_out, corner_l[1:]), _ix(corner_r[1:], lo_out, corner_l[1:]),
            _ix(corner_r[:1], up_in, corner_l[:1]), _ix(corner_r[:1], lo_in, corner_l[:1])]
    funnel = _narrowed(p, rows, 0.2)
    out["mouthFunnel"] = s.symmetric(s.field([(upper, funnel[upper] + [0.0, 0.0028, 0.0045]),
                                              (lower, funnel[lower] + [0.0, -0.0032, 0.0045]),
                                              (corners, funnel[corners] + [0.0, 0.0, 0.002])], 0.026))
    pucker = _narrowed(p, rows, 0.38)
    out["mouthPucker"] = s.symmetric(s.field([(upper, pucker[upper] + [0.0, -0.0006, 0.0085]),
                                              (lower, pucker[lower] + [0.0, 0.0008, 0.0085]),
                                              (corners, pucker[corners] + [0.0, 0.0, 0.0045])], 0.03))
    out["mouthRollLower"] = s.symmetric(s.field([(lo_out, np.array([0.0, 0.0024, -0.0042])),
                                                 (lo_in, np.array([0.0, 0.0008, -0.0028])),
                                                 (corners, np.zeros(3))], 0.016))
    out["mouthRollUpper"] = s.symmetric(s.field([(up_out, np.array([0.0, -0.0022, -0.0038])),
                                                 (up_in, np.array([0.0, -0.0006, -0.0026])),
                                                 (corners, np.zeros(3))], 0.016))
    out["mouthShrugLower"] = s.symmetric(s.field([(lower, np.array([0.0, 0.0032, 0.0018])),
                                                  (np.array(A.CHIN), np.array([0.0, 0.0022, 0.0015])),
                                                  (corners, np.zeros(3))], 0.03))
    out["mouthShrugUpper"] = s.symmetric(s.field([(upper, np.array([0.0, 0.003, 0.0015])),
                                                  (corners, np.zeros(3))], 0.02))
    # jawOpen is the jaw joint's rotation; the corrective draws the corners in and rolls the lower lip out.
    out["jawOpen"] = s.symmetric(s.field([(corners, 0.0025 * inward),
                                          (lo_out, np.array([0.0, 0.0, 0.0012])),
                                          (up_in, np.array([0.0, 0.0008, 0.0]))], 0.02))
    return out


def face_blendshapes(anat: FaceAnatomy, eye_centre_left: np.ndarray) -> np.ndarray:
    """Displacements [52, 468, 3] in ARKIT_NAMES order (zeros for the joint-driven and tongue shapes)."""
    s = Sculptor(anat)
    shapes = _left_shapes(s, eye_centre_left)
    mirrored: dict[str, np.ndarray] = {}
    for name, d in shapes.items():
        if name.endswith("Left"):
            mirrored[name[:-4] + "Right"] = s.mirror(d)
        elif name == "mouthLeft":
            mirrored["mouthRight"] = s.mirror(d)
    shapes.update(mirrored)
    zero: Callable[[], np.ndarray] = lambda: np.zeros((468, 3))  # noqa: E731
    return np.stack([shapes.get(n, zero()) for n in ARKIT_NAMES])
