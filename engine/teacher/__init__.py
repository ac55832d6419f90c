"""The teacher: synthetic training frames of one face from its portrait, behind one interface
(base.Teacher). The default teacher is the fitted rig textured from the photo (texture.bake_texture ->
HeadTexture, with a hair volume from the matte), rendered for any expression, pose and camera
(render.TeacherRenderer)."""
from __future__ import annotations

from engine.teacher.base import Teacher, TeacherFrames
from engine.teacher.render import TeacherRenderer
from engine.teacher.texture import HeadTexture, TexelSource, bake_texture

__all__ = ["HeadTexture", "TexelSource", "Teacher", "TeacherFrames", "TeacherRenderer", "bake_texture"]
