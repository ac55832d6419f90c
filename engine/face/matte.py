"""The person's foreground matte from mediapipe's selfie segmentation (the general model)."""
from __future__ import annotations

import numpy as np

from ._mediapipe import Graph
from .image_io import as_rgb

_segmenter = Graph(lambda mp: mp.selfie_segmentation.SelfieSegmentation(model_selection=0))
_MODEL_SIDE = 256  # the general model's input side


def portrait_matte(image: np.ndarray) -> np.ndarray:
    """float32 [H, W] in 0..1 (1 = person) for an RGB image [H, W, 3] (uint8, or floats in 0..1).

    The model sees the image at 256x256 and mediapipe scales its mask up bilinearly, which leaves
    stair steps along the edges; a Gaussian of half a model pixel smooths them. (An edge-aware guided
    filter was tried on the astronaut crop and made no visible difference.)"""
    import cv2  # lazy: see STACK.md

    rgb = as_rgb(image)
    mask = _segmenter.run(rgb, lambda r: np.array(r.segmentation_mask, np.float32))  # copy: the graph owns it
    sigma = 0.5 * max(rgb.shape[:2]) / _MODEL_SIDE
    return np.clip(cv2.GaussianBlur(mask, (0, 0), sigma), 0.0, 1.0)
