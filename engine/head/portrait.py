"""The portrait-to-fit job: read and check a photo, crop it, fit the rig, and write the results.

Output folder: crop.png (the square crop), matte.png, fit.json + fit.safetensors (PortraitFit),
overlay.png (mesh and landmarks over the crop) and turntable.png (the fitted head from 5 yaws).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from engine.face import PortraitCrop, analyze_portrait
from engine.head.fit import FitConfig, PortraitFit, fit_portrait
from engine.head.model import load_rig
from engine.head.report import overlay, turntable

Progress = Callable[[float, str], None]


def fit_portrait_file(source, out_dir: str | Path, size: int = 512, config: FitConfig | None = None,
                      progress: Progress | None = None) -> tuple[PortraitCrop, PortraitFit]:
    """source: a path, bytes or an RGB array. Raises engine.face.FaceError (readable) for unusable
    photos, before anything is written."""
    report = progress or (lambda fraction, message: None)
    report(0.0, "finding the face")
    crop = analyze_portrait(source, size=size)
    rig = load_rig()
    report(0.05, "fitting the head rig")
    fit = fit_portrait(crop.landmarks.points, crop.landmarks.depth, size, rig, config,
                       progress=lambda f: report(0.05 + 0.85 * f, "fitting the head rig"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report(0.9, "writing results")
    Image.fromarray(crop.image).save(out / "crop.png")
    Image.fromarray((np.clip(crop.matte, 0, 1) * 255 + 0.5).astype(np.uint8)).save(out / "matte.png")
    fit.save(out)
    overlay(crop.image, fit, rig, crop.landmarks.points).save(out / "overlay.png")
    turntable(fit, rig).save(out / "turntable.png")
    report(1.0, f"mean landmark error {fit.error_px:.2f} px")
    return crop, fit
