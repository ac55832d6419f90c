"""The topology of mediapipe's face mesh: triangles, named landmark groups and single landmarks.

"Left" and "right" are the subject's own, as in mediapipe: the subject's left eye appears on the
image's right in an unmirrored photo.

FACE_MESH_TRIANGLES and LANDMARK_GROUPS are read on first access from mediapipe's own
`face_mesh_connections.py`, parsed as source text rather than imported: importing it runs
mediapipe's package __init__ (and OpenCV), and the frozensets it builds forget the order in which the
edges are listed, which is what carries the triangles.
"""
from __future__ import annotations

import ast
import functools
import importlib.util
from collections import defaultdict
from pathlib import Path

import numpy as np

NUM_LANDMARKS = 478  # 468 mesh vertices + 2 x 5 iris points (refine_landmarks)
NUM_MESH_VERTICES = 468

NOSE_TIP = 1
FOREHEAD = 10  # top of the mesh on the midline
CHIN = 152
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_INNER, LEFT_EYE_OUTER = 362, 263
MOUTH_RIGHT, MOUTH_LEFT = 61, 291
RIGHT_IRIS_CENTER, LEFT_IRIS_CENTER = 468, 473


def __getattr__(name: str) -> object:
    if name == "FACE_MESH_TRIANGLES":
        return face_mesh_triangles()
    if name == "LANDMARK_GROUPS":
        return landmark_groups()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _connections() -> dict[str, list[tuple[int, int]]]:
    """Every `FACEMESH_X = frozenset([...])` edge list of mediapipe's connections file, in listing order."""
    spec = importlib.util.find_spec("mediapipe")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("mediapipe is not installed; the face-mesh topology comes from its package")
    path = Path(spec.submodule_search_locations[0]) / "python" / "solutions" / "face_mesh_connections.py"
    found: dict[str, list[tuple[int, int]]] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "frozenset" and node.value.args
                and isinstance(node.value.args[0], ast.List)):
            found[node.targets[0].id] = [tuple(e) for e in ast.literal_eval(node.value.args[0])]
    return found


@functools.cache
def face_mesh_triangles() -> np.ndarray:
    """int64 [852, 3] (read-only): the triangles of the 468-vertex face mesh.

    mediapipe lists FACEMESH_TESSELATION as the edges (a, b), (b, c), (c, a) of one triangle after
    another. Every triangle is wound counter-clockwise as seen from in front of the face (OpenGL's front
    face): with x right, y up, z towards the viewer, the right-hand normal points out of the face; in
    image pixels (y down) a triangle facing the camera has (x1-x0)(y2-y0) - (y1-y0)(x2-x0) < 0.
    The winding is checked to be consistent over the whole mesh (each inner edge is walked once in each
    direction); that it faces outwards is checked on a real detection in the tests."""
    edges = np.array(_connections()["FACEMESH_TESSELATION"], dtype=np.int64).reshape(-1, 3, 2)
    if not (edges[:, :, 1] == np.roll(edges[:, :, 0], -1, axis=1)).all():  # (a, b), (b, c), (c, a)
        raise RuntimeError("mediapipe's FACEMESH_TESSELATION no longer lists triangles as consecutive edge triples")
    triangles = edges[:, :, 0].copy()
    directed = {tuple(e) for e in edges.reshape(-1, 2).tolist()}
    if len(directed) != edges.shape[0] * 3:  # an edge walked twice in the same direction
        raise RuntimeError("mediapipe's face-mesh triangles are not consistently wound")
    triangles.setflags(write=False)
    return triangles


def _loops(edges: list[tuple[int, int]]) -> list[list[int]]:
    """Split edges that form closed loops into loops, each walked from its first-listed edge."""
    neighbours: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    if any(len(n) != 2 for n in neighbours.values()):
        raise RuntimeError("expected mediapipe's contour edges to form closed loops")
    loops: list[list[int]] = []
    seen: set[int] = set()
    for start, cur in edges:
        if start in seen:
            continue
        loop, prev = [start], start
        while cur != start:
            loop.append(cur)
            a, b = neighbours[cur]
            prev, cur = cur, (b if a == prev else a)
        seen.update(loop)
        loops.append(loop)
    return loops


def _listed(edges: list[tuple[int, int]]) -> list[int]:
    """The vertices of edges in the order mediapipe first lists them."""
    return list(dict.fromkeys(v for e in edges for v in e))


@functools.cache
def landmark_groups() -> dict[str, list[int]]:
    """Named landmark index groups, from mediapipe's FACEMESH_* connection sets (treat as read-only).

    Closed contours are one loop in walking order: lips_outer, lips_inner, left_eye, right_eye,
    face_oval (starting at the forehead, FOREHEAD), and the irises, whose centre comes first
    (mediapipe's iris edges leave the centre out; it is the index before the ring). left_brow and
    right_brow are two rows of 5 points (lower row, then upper row); nose is the ridge from between the
    brows to below the tip, then the outline around the nostrils, in mediapipe's listing order."""
    c = _connections()
    lips_outer, lips_inner = _loops(c["FACEMESH_LIPS"])
    groups = {
        "lips_outer": lips_outer,
        "lips_inner": lips_inner,
        "left_eye": _loops(c["FACEMESH_LEFT_EYE"])[0],
        "right_eye": _loops(c["FACEMESH_RIGHT_EYE"])[0],
        "left_brow": _listed(c["FACEMESH_LEFT_EYEBROW"]),
        "right_brow": _listed(c["FACEMESH_RIGHT_EYEBROW"]),
        "face_oval": _loops(c["FACEMESH_FACE_OVAL"])[0],
        "nose": _listed(c["FACEMESH_NOSE"]),
    }
    for side, centre in (("left", LEFT_IRIS_CENTER), ("right", RIGHT_IRIS_CENTER)):
        ring = _loops(c[f"FACEMESH_{side.upper()}_IRIS"])[0]
        if min(ring) != centre + 1:
            raise RuntimeError(f"unexpected {side} iris indices {ring} in mediapipe's connections")
        groups[f"{side}_iris"] = [centre, *ring]
    return groups
