"""The portrait-to-dataset job behind `headsplat teach`: fit the rig to the photo (or reuse the fit in
DIR/fit), bake the head texture, and write the teacher dataset with the textured rig as the teacher."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from engine.head.fit import PortraitFit
from engine.head.model import load_rig
from engine.head.portrait import fit_portrait_file
from engine.teacher.dataset import DatasetConfig, TeacherDataset, write_dataset
from engine.teacher.render import TeacherRenderer
from engine.teacher.texture import bake_texture
from engine.types import Camera

Progress = Callable[[float, str], None]


def head_camera(fit: PortraitFit) -> Camera:
    """The portrait's camera, moved so that a head at the rig's origin is framed as in the photo.
    Teacher latents carry their own head pose around the origin; the photo's head position (the fit's
    translation) moves into the camera instead, so every frame keeps the portrait's framing."""
    shift = np.eye(4)
    shift[:3, 3] = fit.params.translation[0].double().numpy()
    return Camera(fit.camera.width, fit.camera.height, fit.camera.fx, fit.camera.fy, fit.camera.cx, fit.camera.cy,
                  fit.camera.world_to_cam @ shift)


def teach_portrait(source, out_dir: str | Path, config: DatasetConfig,
                   progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> TeacherDataset:
    """Raises engine.face.FaceError for an unusable photo (before anything is written) and
    engine.cancel.Cancelled when cancelled (a later call with the same settings resumes)."""
    report = progress or (lambda fraction, message: None)
    out = Path(out_dir)
    crop, fit = fit_portrait_file(source, out / "fit", progress=lambda f, m: report(0.15 * f, m))
    report(0.15, "baking the head texture")
    rig = load_rig()
    texture = bake_texture(crop, fit, rig)
    with TeacherRenderer(rig, texture, background=config.background) as teacher:
        return write_dataset(out, teacher, head_camera(fit), config,
                             progress=lambda f, m: report(0.2 + 0.8 * f, m), cancel=cancel)
