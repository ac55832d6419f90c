"""Named landmark groups of mediapipe's face mesh that the rig builder authors against.

Indices are mediapipe's (= rig vertices 0..467). "Left" is the subject's left: world +X, the right
side of an unmirrored photo. Right-side groups are the mirror images (via the mirror pairs).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.head.meshops import boundary_loops

# Subject's left side.
LEFT_EYE_CORNERS = (362, 263)  # inner, outer
LEFT_BROW_INNER = (285, 336, 295, 296)
LEFT_BROW_OUTER = (276, 283, 293, 300)
LEFT_BROW = LEFT_BROW_INNER + LEFT_BROW_OUTER + (282, 334)
LEFT_ALA = (358, 279, 429, 294, 278, 331, 327, 344)  # nostril wing
LEFT_NOSE_SIDE = (437, 399, 419, 351)
LEFT_CHEEK = (425, 411, 427, 436, 426, 280, 352)  # the puffable cheek
LEFT_UNDER_EYE = (330, 347, 348, 346, 266, 280)
LEFT_DIMPLE = (432, 287, 410, 422)
# Midline and both sides.
MOUTH_CORNERS = (78, 308, 61, 291)  # inner right, inner left, outer right, outer left
UPPER_INNER = (191, 80, 81, 82, 13, 312, 311, 310, 415)
LOWER_INNER = (95, 88, 178, 87, 14, 317, 402, 318, 324)
UPPER_OUTER = (185, 40, 39, 37, 0, 267, 269, 270, 409)
LOWER_OUTER = (146, 91, 181, 84, 17, 314, 405, 321, 375)
CHIN = (152, 175, 199, 200, 18, 171, 396, 377, 148, 176, 400)
NOSE_TIP = (1, 4)
IRIS = tuple(range(468, 478))  # 468 right centre, 469..472 right rim, 473 left centre, 474..477 left rim


@dataclass(frozen=True)
class EyeGroups:
    """The lid opening of one eye: loop [16] in the face mesh's boundary winding, upper / lower
    margin vertices (corners excluded) and the corners (inner, outer)."""

    loop: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    corners: tuple[int, int]


@dataclass(frozen=True)
class FaceAnatomy:
    """Groups derived from a face's points [478, 3] and triangles; pairs [478] are mirror partners."""

    points: np.ndarray
    triangles: np.ndarray
    pairs: np.ndarray
    oval: np.ndarray  # outer boundary loop
    lip_loop: np.ndarray  # inner lip boundary loop [20]
    lip_side: np.ndarray  # [20] +1 upper lip, -1 lower lip, 0 corners
    eye_left: EyeGroups
    eye_right: EyeGroups

    def mirror(self, idx) -> np.ndarray:
        return self.pairs[np.asarray(idx)]

    @property
    def lips(self) -> np.ndarray:
        """All lip vertices: inner and outer contours and the vermilion between them."""
        contour = np.array(UPPER_OUTER + LOWER_OUTER + MOUTH_CORNERS[2:])
        p = self.points[:468]
        poly = p[np.concatenate([[61], UPPER_OUTER, [291], LOWER_OUTER[::-1]])][:, :2]
        inside = _inside(p[:, :2], poly)
        return np.unique(np.concatenate([np.flatnonzero(inside), contour, self.lip_loop]))


def _inside(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    x, y = pts[:, 0:1], pts[:, 1:2]
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    hit = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / np.where(y1 == y0, 1e-30, y1 - y0) + x0)
    return hit.sum(1) % 2 == 1


def _eye(loop: np.ndarray, points: np.ndarray, corners: tuple[int, int]) -> EyeGroups:
    """Split the lid loop into upper and lower margins by the line through the corners."""
    a, b = points[corners[0]], points[corners[1]]
    rest = np.array([i for i in loop if i not in corners])
    t = np.clip((points[rest, 0] - a[0]) / (b[0] - a[0]), 0, 1)
    above = points[rest, 1] > a[1] + t * (b[1] - a[1])
    return EyeGroups(loop, rest[above], rest[~above], corners)


def face_anatomy(points: np.ndarray, triangles: np.ndarray, pairs: np.ndarray) -> FaceAnatomy:
    loops = sorted(boundary_loops(triangles), key=len)
    oval = loops[-1]
    (lip_loop,) = [lp for lp in loops if 13 in lp]
    eyes = [lp for lp in loops if len(lp) == 16]
    (left,) = [lp for lp in eyes if LEFT_EYE_CORNERS[1] in lp]
    (right,) = [lp for lp in eyes if pairs[LEFT_EYE_CORNERS[1]] in lp]
    side = np.where(np.isin(lip_loop, UPPER_INNER), 1.0, np.where(np.isin(lip_loop, LOWER_INNER), -1.0, 0.0))
    right_corners = (int(pairs[LEFT_EYE_CORNERS[0]]), int(pairs[LEFT_EYE_CORNERS[1]]))
    return FaceAnatomy(points, triangles, pairs, oval, lip_loop, side,
                       _eye(left, points, LEFT_EYE_CORNERS), _eye(right, points, right_corners))
