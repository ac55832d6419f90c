"""The one teacher interface: a portrait fit + motion latents + cameras -> training frames.

VASA-3D's teacher is VASA-1; this project's default is the fitted, textured rig (TeacherRenderer).
A neural portrait-animation model can implement the same interface later without touching training.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from engine.types import Camera, MotionLatent


@dataclass
class TeacherFrames:
    """rgb [T, H, W, 3] uint8 over the dataset's background; alpha [T, H, W] uint8 (the head's mask);
    landmarks [T, 478, 2] float32 px: where the frame's face-mesh landmarks are (NaN if unknown)."""

    rgb: np.ndarray
    alpha: np.ndarray
    landmarks: np.ndarray


class Teacher(abc.ABC):
    """Makes frames of the portrait's person for given motion latents and cameras."""

    name: str = "?"

    @abc.abstractmethod
    def generate(self, latents: MotionLatent, cameras: Sequence[Camera]) -> TeacherFrames:
        """latents: a sequence [T] (dyn [T, 52], pose [T, 6]); cameras: T cameras (same size)."""

    def close(self) -> None:
        """Release native resources."""
