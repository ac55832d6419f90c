"""Contact sheets of the rig: `python -m engine.head.contact_sheet` writes docs/rig-expressions.png (all 52
blendshapes at weight 1, front view, cropped to the face) and docs/rig-turntable.png (the neutral head
from yaw -90 to 90, and a 3/4 view with the mouth open)."""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from engine.head.model import ParametricRig, load_rig
from engine.media import to_uint8
from engine.render.mesh import MeshRenderer
from engine.types import ARKIT_NAMES, OrbitCamera

DOCS = Path(__file__).resolve().parents[2] / "docs"
BACKGROUND = (0.32, 0.33, 0.37)
# Shapes that only read with the mouth open are shown with some jawOpen added.
WITH_JAW = {"tongueOut": 0.45, "mouthClose": 0.45}


def _image(rgb: torch.Tensor) -> Image.Image:
    return Image.fromarray(to_uint8(rgb))


def _labelled(img: Image.Image, text: str) -> Image.Image:
    tile = Image.new("RGB", (img.width, img.height + 16), tuple(int(c * 255) for c in BACKGROUND))
    tile.paste(img, (0, 16))
    ImageDraw.Draw(tile).text((4, 2), text, fill=(235, 235, 235))
    return tile


def _grid(tiles: list[Image.Image], columns: int) -> Image.Image:
    w, h = tiles[0].size
    rows = (len(tiles) + columns - 1) // columns
    sheet = Image.new("RGB", (w * columns, h * rows), tuple(int(c * 255) for c in BACKGROUND))
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % columns) * w, (i // columns) * h))
    return sheet


def _save(img: Image.Image, path: Path) -> None:
    """A 256-colour palette keeps the sheets commit-sized (shaded renders quantise well)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def expression_sheet(rig: ParametricRig, renderer: MeshRenderer, tile: int = 144) -> Image.Image:
    cam = OrbitCamera(target=(0.0, -0.035, 0.02), distance=0.42, fov_deg=24).camera(tile, tile)
    expr = torch.zeros(len(ARKIT_NAMES) + 1, len(ARKIT_NAMES))
    labels = ["neutral"]
    for i, name in enumerate(ARKIT_NAMES):
        expr[i + 1, i] = 1.0
        if name in WITH_JAW:
            expr[i + 1, ARKIT_NAMES.index("jawOpen")] = WITH_JAW[name]
            name = f"{name} +jawOpen {WITH_JAW[name]}"
        labels.append(name)
    p = rig.zero_params(len(labels))
    p.expression = expr
    with torch.no_grad():
        verts = rig(p).vertices
    tiles = [_labelled(_image(renderer.render(v, rig.faces, cam, colors=rig.vertex_colors, background=BACKGROUND).rgb), t)
             for v, t in zip(verts, labels)]
    return _grid(tiles, 9)


def turntable_sheet(rig: ParametricRig, renderer: MeshRenderer, tile: int = 224) -> Image.Image:
    tiles = []
    with torch.no_grad():
        neutral = rig(rig.zero_params(1)).vertices[0]
        for yaw in (-90, -60, -30, 0, 30, 60, 90):
            cam = OrbitCamera(target=(0.0, -0.06, -0.05), yaw=yaw, pitch=5, distance=0.85, fov_deg=30).camera(tile, tile)
            tiles.append(_labelled(_image(renderer.render(neutral, rig.faces, cam, colors=rig.vertex_colors,
                                                          background=BACKGROUND).rgb), f"yaw {yaw}"))
        p = rig.zero_params(1)
        for name, w in (("jawOpen", 0.8), ("tongueOut", 0.35), ("eyeLookInLeft", 0.3), ("eyeLookOutRight", 0.3)):
            p.expression[0, ARKIT_NAMES.index(name)] = w
        cam = OrbitCamera(target=(0.0, -0.045, 0.0), yaw=35, pitch=10, distance=0.5, fov_deg=30).camera(tile, tile)
        tiles.append(_labelled(_image(renderer.render(rig(p).vertices[0], rig.faces, cam, colors=rig.vertex_colors,
                                                      background=BACKGROUND).rgb), "yaw 35, jawOpen 0.8"))
    return _grid(tiles, 4)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args(argv)
    rig, renderer = load_rig(), MeshRenderer()
    try:
        for name, sheet in (("rig-expressions.png", expression_sheet(rig, renderer)),
                            ("rig-turntable.png", turntable_sheet(rig, renderer))):
            path = args.out / name
            _save(sheet, path)
            print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    finally:
        renderer.close()


if __name__ == "__main__":
    main()
