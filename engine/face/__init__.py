"""Portrait intake: read a photo, find the face's 478 landmarks (mediapipe face mesh with irises),
check it, and produce the square, upright portrait crop with its person matte.

mediapipe (and with it OpenCV) is imported on first use, never at package import; so are the mesh
topology constants FACE_MESH_TRIANGLES and LANDMARK_GROUPS (parsed from mediapipe's source).
"""
from .analyze import analyze_portrait
from .crop import PortraitCrop, crop_portrait, portrait_transform
from .errors import ExtremePoseError, FaceError, FaceTooSmallError, NoFaceError, NotAnImageError
from .image_io import LoadedImage, load_image, read_image
from .landmarks import FaceLandmarks, LandmarkDetector, detect_landmarks, find_faces
from .matte import portrait_matte
from .pose import HeadPoseEstimate, estimate_pose, head_rotation
from . import topology

__all__ = [
    "analyze_portrait", "PortraitCrop", "crop_portrait", "portrait_transform",
    "FaceError", "NotAnImageError", "NoFaceError", "FaceTooSmallError", "ExtremePoseError",
    "LoadedImage", "load_image", "read_image",
    "FaceLandmarks", "LandmarkDetector", "detect_landmarks", "find_faces",
    "portrait_matte", "HeadPoseEstimate", "estimate_pose", "head_rotation",
    "FACE_MESH_TRIANGLES", "LANDMARK_GROUPS", "topology",
]


def __getattr__(name: str) -> object:
    if name in ("FACE_MESH_TRIANGLES", "LANDMARK_GROUPS"):
        return getattr(topology, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
