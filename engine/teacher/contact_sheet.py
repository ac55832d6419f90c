"""Pictures of the teacher for people to check: `python -m engine.teacher.contact_sheet [--fit DIR]` bakes
the sample portrait (skimage's astronaut) and writes docs/teacher-views.png (rows of expressions: the
photo's own, neutral, jaw open, smile, blink, gaze; by columns of head yaw -35..35 degrees; and a row of
other poses and expressions) and docs/teacher-texture.png (the baked atlas beside a map of where each
texel came from). --fit reuses a folder written by `headsplat fit`; without it the portrait is fitted
first (seconds on an idle machine).
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy.spatial.transform import Rotation

from engine.head.model import RigParams
from engine.teacher.render import TeacherRenderer
from engine.teacher.texture import HeadTexture, bake_texture
from engine.types import ARKIT_NAMES, Camera

DOCS = Path(__file__).resolve().parents[2] / "docs"
YAWS = (-35, -20, 0, 20, 35)
EXPRESSIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "jaw open": {"jawOpen": 0.7},
    "smile": {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "jawOpen": 0.12, "cheekSquintLeft": 0.4,
              "cheekSquintRight": 0.4},
    "blink": {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0},
    "gaze": {"eyeLookOutLeft": 0.8, "eyeLookInRight": 0.8, "eyeLookUpLeft": 0.5, "eyeLookUpRight": 0.5},
}
# (label, expression, yaw, pitch, roll, metres towards the camera)
POSES = (("chin up, jaw 0.3", {"jawOpen": 0.3}, 0, 20, 0, 0.0),
         ("chin down, pucker", {"mouthPucker": 0.8, "mouthFunnel": 0.4, "jawOpen": 0.15}, 0, -20, 0, 0.0),
         ("roll, surprise", {"browInnerUp": 1.0, "browOuterUpLeft": 0.8, "browOuterUpRight": 0.8,
                             "eyeWideLeft": 0.7, "eyeWideRight": 0.7, "jawOpen": 0.45}, 15, 0, 10, 0.0),
         ("up-left, wink", {"eyeBlinkRight": 1.0, "mouthSmileLeft": 0.6}, -30, 15, -5, 0.0),
         ("closer, jaw 0.5", {"jawOpen": 0.5}, 25, -10, 0, 0.12))


def turned(params: RigParams, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0,
           towards_camera: float = 0.0) -> RigParams:
    """params with the head turned by extra yaw (about +Y, towards +X), pitch (about -X: positive
    lifts the chin) and roll (about +Z) in degrees, applied after its own rotation, and moved
    towards_camera metres along +Z."""
    extra = Rotation.from_euler("ZYX", [roll, yaw, -pitch], degrees=True)
    own = Rotation.from_rotvec(params.rotation.double().numpy())
    rot = torch.as_tensor((extra * own).as_rotvec(), dtype=params.rotation.dtype)
    shift = torch.tensor([0.0, 0.0, towards_camera], dtype=params.translation.dtype)
    return replace(params, rotation=rot, translation=params.translation + shift)


def with_expression(params: RigParams, coefficients: dict[str, float]) -> RigParams:
    """params with the expression replaced by the named coefficients (others 0)."""
    expr = torch.zeros_like(params.expression)
    for name, value in coefficients.items():
        expr[:, ARKIT_NAMES.index(name)] = value
    return replace(params, expression=expr)


def sheet(renderer: TeacherRenderer, params: RigParams, camera: Camera, tile: int = 168) -> Image.Image:
    """The grid (module notes) rendered at tile x tile per frame, each tile labelled."""
    cam = _framed(camera, tile)
    rows = [("photo's own", params)] + [(name, with_expression(params, c)) for name, c in EXPRESSIONS.items()]
    tiles = []
    for name, p in rows:
        for yaw in YAWS:
            tiles.append((f"{name}  yaw {yaw:+d}", turned(p, yaw)))
    for label, coefficients, yaw, pitch, roll, dz in POSES:
        tiles.append((label, turned(with_expression(params, coefficients), yaw, pitch, roll, dz)))
    images = []
    for label, p in tiles:
        img = Image.fromarray(renderer.render(p, cam).rgb[0])
        ImageDraw.Draw(img).text((4, 2), label, fill=(250, 250, 250))
        images.append(img)
    cols = len(YAWS)
    out = Image.new("RGB", (tile * cols, tile * ((len(images) + cols - 1) // cols)))
    for i, img in enumerate(images):
        out.paste(img, ((i % cols) * tile, (i // cols) * tile))
    return out


# TexelSource -> colour for the texture sheet: gutter black, photo green, mirror blue, inpainted red,
# procedural yellow.
SOURCE_COLOURS = np.array([[0, 0, 0], [60, 200, 60], [60, 90, 230], [220, 60, 50], [230, 200, 40]], np.uint8)


def texture_sheet(texture: HeadTexture, side: int = 512) -> Image.Image:
    """The atlas and its source map (SOURCE_COLOURS) side by side, each side x side."""
    atlas = Image.fromarray((np.clip(texture.image, 0, 1) * 255 + 0.5).astype(np.uint8)).resize((side, side), Image.BOX)
    source = Image.fromarray(SOURCE_COLOURS[texture.source]).resize((side, side), Image.NEAREST)
    out = Image.new("RGB", (2 * side, side))
    out.paste(atlas, (0, 0))
    out.paste(source, (side, 0))
    return out


def _framed(camera: Camera, tile: int) -> Camera:
    """The fit's camera cropped to the head (the crop's central ~90 %) at tile x tile pixels."""
    keep = 0.9
    side = keep * camera.width
    c = replace(camera, cx=camera.cx - (camera.width - side) / 2, cy=camera.cy - (camera.height - side) * 0.3,
                width=int(side), height=int(side))
    return c.resized(tile, tile)


def main(argv: list[str] | None = None) -> None:
    import skimage.data

    from engine.face import analyze_portrait
    from engine.head.fit import PortraitFit, fit_portrait
    from engine.head.model import load_rig

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", type=Path, help="a folder written by `headsplat fit` for the astronaut")
    ap.add_argument("--out", type=Path, default=DOCS, help="folder for the two pictures")
    args = ap.parse_args(argv)
    rig = load_rig()
    crop = analyze_portrait(skimage.data.astronaut(), size=512)
    fit = PortraitFit.load(args.fit) if args.fit else fit_portrait(crop.landmarks.points, crop.landmarks.depth, 512, rig)
    texture = bake_texture(crop, fit, rig)
    with TeacherRenderer(rig, texture) as renderer:
        img = sheet(renderer, fit.params, fit.camera)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, picture in (("teacher-views.png", img), ("teacher-texture.png", texture_sheet(texture))):
        path = args.out / name
        # A 256-colour palette keeps the pictures commit-sized; they quantise without visible banding.
        picture.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
        print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
