"""The errors engine.face raises for bad input. Each message is a complete sentence a user can act on;
the studio and the CLI show it as it is."""
from __future__ import annotations


class FaceError(ValueError):
    """Base of every input problem found while reading a portrait."""


class NotAnImageError(FaceError):
    """The source is missing, not an image, damaged, too large to open safely, or in an unusable mode."""


class NoFaceError(FaceError):
    """No face was found."""


class FaceTooSmallError(FaceError):
    """The face has fewer pixels than the minimum (the message states both)."""


class ExtremePoseError(FaceError):
    """The head is turned or tilted beyond the limits (the message states the estimate and the limit)."""
