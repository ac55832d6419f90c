"""The project's own parametric head rig (built by build_rig, loaded by model) behind the HeadModel
interface, where a licensed FLAME model can plug in later."""
from __future__ import annotations

from engine.head.model import HeadModel, ParametricRig, RigOutput, RigParams, TriangleFrames, load_rig

__all__ = ["HeadModel", "ParametricRig", "RigOutput", "RigParams", "TriangleFrames", "load_rig"]
