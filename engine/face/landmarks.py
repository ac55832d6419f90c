"""478 face landmarks (468 mesh points + 10 iris points) from mediapipe's face mesh, for photos and
video, and a slower search that also finds faces too small for the face mesh's own detector."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._mediapipe import Graph
from .geometry import apply_affine, affine_scale, invert_affine, similarity, warp_affine
from .image_io import as_rgb
from .topology import CHIN, FOREHEAD, NUM_LANDMARKS


@dataclass
class FaceLandmarks:
    """One face's landmarks in the pixels of one image (engine.types' convention: x right, y down,
    pixel centres at +0.5).

    points [478, 2] float32; 468..477 are the irises (468 right centre, 473 left centre).
    depth [478] float32: mediapipe's relative depth in the same pixel scale, negative = towards the
        camera (its zero is near the face's centre; it is learned, so treat it as approximate).
    image_size: (width, height) of that image."""

    points: np.ndarray
    depth: np.ndarray
    image_size: tuple[int, int]

    def __post_init__(self) -> None:
        if self.points.shape != (NUM_LANDMARKS, 2) or self.depth.shape != (NUM_LANDMARKS,):
            raise ValueError(f"FaceLandmarks expects points [{NUM_LANDMARKS}, 2] and depth [{NUM_LANDMARKS}], "
                             f"got {self.points.shape} and {self.depth.shape}")

    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) around all points."""
        (x0, y0), (x1, y1) = self.points.min(axis=0), self.points.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    def face_height(self) -> float:
        """Forehead-to-chin length in pixels, in 3D (depth included), so a nodding or turning head
        keeps its size. The mesh's top (FOREHEAD) sits somewhat below the hairline."""
        d = np.append(self.points[CHIN] - self.points[FOREHEAD], self.depth[CHIN] - self.depth[FOREHEAD])
        return float(np.linalg.norm(d))

    def transformed(self, affine: np.ndarray, image_size: tuple[int, int] | None = None) -> "FaceLandmarks":
        """The landmarks moved by a [2, 3] affine (depth scaled by its scale) into an image of
        image_size (default: this one's)."""
        a = np.asarray(affine, np.float64)
        return FaceLandmarks(apply_affine(a, self.points).astype(np.float32),
                             (self.depth * affine_scale(a)).astype(np.float32),
                             self.image_size if image_size is None else image_size)


def _read_faces(result: Any, width: int, height: int) -> list[FaceLandmarks]:
    faces = []
    for face in result.multi_face_landmarks or ():
        xyz = np.array([(p.x, p.y, p.z) for p in face.landmark], np.float32)  # [478, 3]; z in widths
        faces.append(FaceLandmarks(xyz[:, :2] * np.array([width, height], np.float32),
                                   xyz[:, 2] * np.float32(width), (width, height)))
    return faces


class LandmarkDetector:
    """mediapipe's FaceMesh with iris refinement. static_image=True treats every call as a new photo
    (runs face detection each time); False tracks faces from frame to frame (video: call detect() on
    consecutive frames). Reuse one detector: its first call starts the graph (~0.1 s; importing
    mediapipe adds ~0.5 s once per process), later calls take ~6 ms for a 512 px image.
    Thread-safe (calls are serialised). A context manager; close() frees the graph.

    The face mesh's own detector (mediapipe's short-range model) only sees faces that fill roughly a
    sixth of the image's longer side or more; find_faces() also finds smaller ones."""

    def __init__(self, static_image: bool = True, max_faces: int = 4, min_confidence: float = 0.5) -> None:
        self._graph = Graph(lambda mp: mp.face_mesh.FaceMesh(
            static_image_mode=static_image, max_num_faces=max_faces, refine_landmarks=True,
            min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence))

    def detect(self, image: np.ndarray) -> list[FaceLandmarks]:
        """Faces in an RGB image [H, W, 3] (uint8, or floats in 0..1), largest first; [] if none."""
        rgb = as_rgb(image)
        faces = self._graph.run(rgb, lambda r: _read_faces(r, rgb.shape[1], rgb.shape[0]))
        return sorted(faces, key=FaceLandmarks.face_height, reverse=True)

    def close(self) -> None:
        self._graph.close()

    def __enter__(self) -> "LandmarkDetector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@functools.cache
def _shared_detector() -> LandmarkDetector:
    return LandmarkDetector(static_image=True)


def detect_landmarks(image: np.ndarray) -> list[FaceLandmarks]:
    """Faces in one photo, largest first (a shared static-image detector)."""
    return _shared_detector().detect(image)


# The fallback search: mediapipe's full-range detector finds faces down to ~8 % of its input's side, so
# it runs on the whole image and on half-overlapping tiles of 512, 1024, ... px (faces down to ~40 px);
# the face mesh then runs on a zoomed crop around each detection.
_SEARCH_TILE = 512
_ZOOM_SIDE = 384  # px of the crop the face mesh re-examines; the face is ~1/3 of it, near its model's input size
_ZOOM_CONTEXT = 3.0  # crop side / detection box side
_MAX_SEARCH_FACES = 4
_full_range = Graph(lambda mp: mp.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5))
_short_range = Graph(lambda mp: mp.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.1))


def detection_confidence(image: np.ndarray) -> float:
    """The best score of mediapipe's short-range face detector on an RGB image [H, W, 3] uint8 (0 if
    it finds no face): how face-like a synthetic frame looks to a detector trained on photos."""
    return max((score for score, _ in _short_range.run(np.ascontiguousarray(image), _read_boxes)), default=0.0)


def find_faces(image: np.ndarray) -> list[FaceLandmarks]:
    """Faces in one photo, largest first, small ones included. Runs detect_landmarks() first; only when
    that finds nothing does it search tiles (~10 ms per tile: ~0.5 s for a 2048 px image)."""
    rgb = as_rgb(image)
    faces = detect_landmarks(rgb)
    if faces:
        return faces
    h, w = rgb.shape[:2]
    for box in _search_boxes(rgb)[:_MAX_SEARCH_FACES]:
        side = _ZOOM_CONTEXT * max(box[2] - box[0], box[3] - box[1])
        to_zoom = similarity(_ZOOM_SIDE / side, 0.0, (box[:2] + box[2:]) / 2, (_ZOOM_SIDE / 2, _ZOOM_SIDE / 2))
        zoomed = detect_landmarks(warp_affine(rgb, to_zoom, (_ZOOM_SIDE, _ZOOM_SIDE)))
        if not zoomed:
            continue
        face = zoomed[0].transformed(invert_affine(to_zoom), (w, h))
        centre = face.points.mean(axis=0)
        if all(np.linalg.norm(centre - f.points.mean(axis=0)) > 0.5 * f.face_height() for f in faces):
            faces.append(face)
    return sorted(faces, key=FaceLandmarks.face_height, reverse=True)


def _read_boxes(result: Any) -> list[tuple[float, np.ndarray]]:
    """(score, relative box [x0, y0, x1, y1]) per detection."""
    out = []
    for d in result.detections or ():
        b = d.location_data.relative_bounding_box
        out.append((float(d.score[0]), np.array([b.xmin, b.ymin, b.xmin + b.width, b.ymin + b.height])))
    return out


def _tile_starts(length: int, tile: int) -> list[int]:
    starts = list(range(0, max(length - tile, 0) + 1, tile // 2))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def _search_boxes(rgb: np.ndarray) -> list[np.ndarray]:
    """Face boxes [x0, y0, x1, y1] in pixels from the whole image and a tile pyramid, best first,
    overlapping duplicates removed."""
    h, w = rgb.shape[:2]
    windows = [(0, 0, w, h)]
    tile = _SEARCH_TILE
    while tile < max(w, h):
        windows += [(x0, y0, min(tile, w), min(tile, h))
                    for y0 in _tile_starts(h, tile) for x0 in _tile_starts(w, tile)]
        tile *= 2
    found: list[tuple[float, np.ndarray]] = []
    for x0, y0, tw, th in windows:
        window = np.ascontiguousarray(rgb[y0:y0 + th, x0:x0 + tw])
        for score, rel in _full_range.run(window, _read_boxes):
            found.append((score, rel * (tw, th, tw, th) + (x0, y0, x0, y0)))
    kept: list[np.ndarray] = []
    for _, box in sorted(found, key=lambda sb: -sb[0]):
        if all(_iou(box, k) < 0.3 for k in kept):
            kept.append(box)
    return kept


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
