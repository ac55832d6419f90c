"""How well teacher frames hold up, measured with the same models that read real photos (the checks of
the teacher's acceptance): reproduction of the portrait, mediapipe's selfie matte against the frame's
alpha, and mediapipe's landmarks against the rig's own."""
from __future__ import annotations

import numpy as np
from PIL import Image

from engine.face.crop import PortraitCrop
from engine.face.topology import LEFT_EYE_OUTER, MOUTH_LEFT, MOUTH_RIGHT, RIGHT_EYE_OUTER
from engine.teacher.texture import face_oval_mask


def portrait_masks(crop: PortraitCrop, size: int) -> tuple[np.ndarray, np.ndarray]:
    """bool masks [size, size] of the crop scaled to size: the face (inside mediapipe's face oval)
    and the head (the person matte above the mouth corners, so hair and ears but not the shoulders,
    plus the face)."""
    face = np.asarray(Image.fromarray(face_oval_mask(crop)).resize((size, size), Image.NEAREST))
    matte = np.asarray(Image.fromarray(crop.matte).resize((size, size), Image.BILINEAR))
    mouth_y = crop.landmarks.points[[MOUTH_RIGHT, MOUTH_LEFT], 1].mean() * size / crop.image.shape[0]
    above_mouth = np.arange(size)[:, None] + 0.5 < mouth_y
    return face, ((matte > 0.5) & above_mouth) | face


def reproduction_psnr(crop: PortraitCrop, rgb: np.ndarray) -> tuple[float, float]:
    """PSNR (dB) of a frontal frame rgb [S, S, 3] (uint8, rendered with the fit's camera at S x S)
    against the crop box-filtered to S, inside the face and the head masks (portrait_masks)."""
    size = rgb.shape[0]
    photo = np.asarray(Image.fromarray(crop.image).resize((size, size), Image.BOX), np.float32)
    err = ((np.asarray(rgb, np.float32) - photo) / 255.0) ** 2
    err = err.mean(axis=-1)
    return tuple(float(-10.0 * np.log10(max(err[m].mean(), 1e-12))) for m in portrait_masks(crop, size))


def matte_iou(rgb: np.ndarray, alpha: np.ndarray) -> float:
    """IoU of mediapipe's selfie matte of a frame rgb [H, W, 3] (uint8) with the frame's alpha [H, W]
    (uint8; both thresholded at half)."""
    from engine.face.matte import portrait_matte

    seg = portrait_matte(rgb) > 0.5
    own = np.asarray(alpha) >= 128
    return float((seg & own).sum() / max((seg | own).sum(), 1))


def landmark_error(rgb: np.ndarray, landmarks: np.ndarray) -> float | None:
    """Mean distance between mediapipe's landmarks detected on a frame rgb [H, W, 3] (uint8) and the rig's
    projected landmarks [478, 2], as a fraction of the inter-ocular distance (outer eye corners, the
    usual normalisation of face-alignment errors); None when mediapipe finds no face."""
    from engine.face.landmarks import detect_landmarks

    faces = detect_landmarks(rgb)
    if not faces:
        return None
    lm = np.asarray(landmarks, np.float64)
    inter_ocular = np.linalg.norm(lm[RIGHT_EYE_OUTER] - lm[LEFT_EYE_OUTER])
    return float(np.linalg.norm(faces[0].points - lm, axis=1).mean() / inter_ocular)
