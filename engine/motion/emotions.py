"""Emotions as ARKit coefficient offsets at full intensity (FACS-style prototypes).

An emotion at intensity w adds w * offset to whatever the face is doing (speech, blinks, gaze), and the
sum is clamped to [0, 1]; mixtures add. Offsets stay below 1 so that speech on top still moves the
mouth. Prototypes: happy = Duchenne smile (AU6 + AU12); sad = inner brows up, lip corners down (AU1 +
AU15 + AU17); angry = brows down and together, lids tight, lips pressed (AU4 + AU5/7 + AU23/24);
surprised = brows up, eyes wide, jaw dropped (AU1 + AU2 + AU5 + AU26); disgusted = nose wrinkle, upper
lip up (AU9 + AU10); afraid = brows up and drawn together, eyes wide, lips stretched (AU1 + AU2 + AU4 +
AU5 + AU20).
"""
from __future__ import annotations

import numpy as np

from engine.motion.visemes import both_sides
from engine.types import ARKIT_NAMES, DYN_DIM, EMOTIONS

EMOTION_OFFSETS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {**both_sides("mouthSmile", 0.8), **both_sides("cheekSquint", 0.6), **both_sides("eyeSquint", 0.35),
              **both_sides("mouthDimple", 0.25), **both_sides("mouthUpperUp", 0.1), "jawOpen": 0.05},
    "sad": {"browInnerUp": 0.75, **both_sides("mouthFrown", 0.6),
            "mouthShrugLower": 0.35, **both_sides("mouthPress", 0.15), **both_sides("eyeBlink", 0.18),
            **both_sides("eyeSquint", 0.15)},
    "angry": {**both_sides("browDown", 0.85), **both_sides("eyeSquint", 0.35), **both_sides("eyeWide", 0.15),
              **both_sides("noseSneer", 0.3), **both_sides("mouthPress", 0.45), **both_sides("mouthFrown", 0.3),
              "mouthRollLower": 0.1, "jawForward": 0.15},
    "surprised": {"browInnerUp": 0.85, **both_sides("browOuterUp", 0.85), **both_sides("eyeWide", 0.8),
                  "jawOpen": 0.3, "mouthFunnel": 0.1, **both_sides("mouthLowerDown", 0.15)},
    "disgusted": {**both_sides("noseSneer", 0.8), **both_sides("mouthUpperUp", 0.55), **both_sides("browDown", 0.4),
                  **both_sides("cheekSquint", 0.4), **both_sides("eyeSquint", 0.3), "mouthShrugUpper": 0.3,
                  **both_sides("mouthFrown", 0.2), "mouthShrugLower": 0.2},
    "afraid": {"browInnerUp": 0.8, **both_sides("browOuterUp", 0.3), **both_sides("browDown", 0.3),
               **both_sides("eyeWide", 0.8), **both_sides("mouthStretch", 0.6), "jawOpen": 0.15,
               **both_sides("mouthLowerDown", 0.3)},
}


def emotion_offsets() -> np.ndarray:
    """Offsets [7, 52] in EMOTIONS x ARKIT_NAMES order (the neutral row is zero)."""
    out = np.zeros((len(EMOTIONS), DYN_DIM))
    for i, emotion in enumerate(EMOTIONS):
        for name, value in EMOTION_OFFSETS[emotion].items():
            out[i, ARKIT_NAMES.index(name)] = value
    return out
