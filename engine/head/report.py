"""Pictures of a portrait fit for people to check: the mesh and landmarks over the photo, and a
turntable contact sheet of the fitted, shaded rig."""
from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from engine.head.fit import PortraitFit
from engine.head.model import HeadModel
from engine.media import to_uint8
from engine.render.mesh import MeshRenderer
from engine.render.projection import project_points
from engine.types import Camera, look_at


def overlay(image: np.ndarray, fit: PortraitFit, rig: HeadModel, detected: np.ndarray | None = None) -> Image.Image:
    """The crop [S, S, 3] uint8 with the fitted face wireframe (thin, light), the model's landmarks
    (red) and, if given, the detected landmarks [478, 2] (green)."""
    with torch.no_grad():
        verts = rig.forward(fit.params).vertices[0]  # [V, 3]
    px = project_points(verts, fit.camera).numpy()  # [V, 2]
    img = Image.fromarray(image).convert("RGB")
    scale = 2  # draw at 2x for thin, smooth lines, then downsample
    big = img.resize((img.width * scale, img.height * scale), Image.BICUBIC)
    draw = ImageDraw.Draw(big, "RGBA")
    face = rig.regions["face"].cpu().numpy()
    for tri in rig.faces.cpu().numpy():
        if face[tri].all():
            pts = [tuple(px[i] * scale) for i in tri]
            draw.line(pts + [pts[0]], fill=(255, 255, 255, 70), width=1)
    lm = px[rig.landmark_vertices.cpu().numpy()]
    for points, colour in ((detected, (60, 230, 90, 255)), (lm, (240, 50, 50, 255))):
        if points is None:
            continue
        for x, y in points * scale:
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
    return big.resize(img.size, Image.LANCZOS)


def turntable(fit: PortraitFit, rig: HeadModel, yaws: tuple[float, ...] = (-90, -45, 0, 45, 90),
              size: int = 256, renderer: MeshRenderer | None = None) -> Image.Image:
    """The fitted head (identity + the photo's expression, pose removed) from several yaws, side by side."""
    params = fit.params
    neutral_pose = type(params)(identity=params.identity, expression=params.expression, jaw=params.jaw,
                                eyes=params.eyes, neck=params.neck, rotation=torch.zeros_like(params.rotation),
                                translation=torch.zeros_like(params.translation), offsets=params.offsets)
    with torch.no_grad():
        verts = rig.forward(neutral_pose).vertices[0].cpu().numpy()
    centre = np.array([0.0, -0.03, -0.07])  # the skull's middle: the origin is between the eyes
    owned = renderer is None
    renderer = renderer or MeshRenderer()
    colors = getattr(rig, "vertex_colors", None)
    tiles = []
    try:
        for yaw in yaws:
            y = math.radians(yaw)
            eye = centre + 0.75 * np.array([math.sin(y), 0.0, math.cos(y)])
            f = 0.5 * size / math.tan(math.radians(30) / 2)
            cam = Camera(size, size, f, f, size / 2, size / 2, look_at(eye, centre))
            out = renderer.render(verts, rig.faces, cam, colors=colors, background=(1.0, 1.0, 1.0))
            tiles.append(to_uint8(out.rgb))
    finally:
        if owned:
            renderer.close()
    return Image.fromarray(np.concatenate(tiles, axis=1))
