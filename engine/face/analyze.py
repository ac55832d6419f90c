"""analyze_portrait: the one call the studio and the CLI make to turn a portrait photo into the crop
everything downstream uses. It reads only its source and writes nothing."""
from __future__ import annotations

from .crop import PortraitCrop, crop_portrait
from .errors import ExtremePoseError, FaceTooSmallError, NoFaceError
from .image_io import ImageSource, read_image
from .landmarks import find_faces
from .pose import estimate_pose

MAX_SIDE = 2048  # photos are shrunk to this before detection; plenty for a 512 px crop


def analyze_portrait(source: ImageSource, size: int = 512, min_face_px: int = 80,
                     max_yaw_deg: float = 45, max_pitch_deg: float = 35) -> PortraitCrop:
    """Load -> find faces -> check -> crop -> matte.

    Raises NotAnImageError, NoFaceError, FaceTooSmallError (the face's forehead-to-chin height below
    min_face_px, measured in the photo after shrinking it to MAX_SIDE) or ExtremePoseError (the rough
    estimate of yaw or pitch beyond the limits). With several faces the largest is used and the crop's
    warnings say so."""
    loaded = read_image(source, MAX_SIDE)
    name = loaded.name
    faces = find_faces(loaded.pixels)
    if not faces:
        raise NoFaceError(f"No face was found in {name}. Use a photo where one face is clearly visible, "
                          "looking roughly at the camera.")
    face = faces[0]
    height = face.face_height()
    if height < min_face_px:
        if loaded.scale < 1:
            where, advice = f" after shrinking the photo to {MAX_SIDE} px", "Crop the photo around the face"
        else:
            where, advice = "", "Use a photo taken closer or at a higher resolution"
        raise FaceTooSmallError(f"The face in {name} is only {height:.0f} px from forehead to chin{where}; "
                                f"at least {min_face_px} px is needed. {advice}.")
    pose = estimate_pose(face)
    turned = [f"{what} {value:+.0f}° (limit ±{limit:.0f}°)"
              for what, value, limit in (("yaw", pose.yaw_deg, max_yaw_deg), ("pitch", pose.pitch_deg, max_pitch_deg))
              if abs(value) > limit]
    if turned:
        raise ExtremePoseError(f"The head in {name} is turned too far from the camera: estimated "
                               f"{' and '.join(turned)}. Use a photo where the face looks roughly at the camera.")
    crop = crop_portrait(loaded.pixels, face, size)
    if len(faces) > 1:
        crop.warnings.insert(0, f"{len(faces)} faces were found in {name}; using the largest.")
    return crop
