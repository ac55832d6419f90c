"""Video-tracking round trip through mediapipe: render the shaded rig (random identity, smooth random
expressions and poses within ±30° yaw), detect landmarks with mediapipe on the renders, track, and
compare with the truth. Prints correlations of the main coefficients, pose errors and speed.

    python benchmarks/track_roundtrip.py [--frames 200] [--size 256] [--seed 0]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_fit_track import MAIN, synthetic_motion  # noqa: E402  (the tests' synthetic motion)

from engine.face import LandmarkDetector  # noqa: E402
from engine.head.fit import FitConfig, PortraitFit, fit_portrait, front_camera  # noqa: E402
from engine.head.model import RigParams  # noqa: E402
from engine.motion.track import LandmarkTracker, TrackConfig  # noqa: E402
from engine.render.mesh import MeshRenderer  # noqa: E402
from engine.types import ARKIT_NAMES, MotionLatent  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--static", action="store_true", help="detect every frame from scratch (no mediapipe tracking)")
    ap.add_argument("--smoothing", type=float, default=TrackConfig.smoothing)
    args = ap.parse_args()
    rig, params = synthetic_motion(args.frames, args.seed)
    size = args.size
    cam = front_camera(size, size, 0.5 * size / math.tan(math.radians(22) / 2))
    with torch.no_grad():
        verts = rig.forward(params).vertices
        neutral = rig.forward(replace(params, expression=torch.zeros_like(params.expression))).vertices[0]
    renderer = MeshRenderer()
    draw = lambda v: (renderer.render(v, rig.faces, cam, colors=rig.vertex_colors, background=(0.6, 0.65, 0.7))  # noqa: E731
                      .rgb.clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
    t0 = time.perf_counter()
    frames = [draw(v) for v in verts]
    t_render = time.perf_counter() - t0
    with LandmarkDetector(static_image=True) as still:
        first = still.detect(draw(neutral))
    fits = {"fitted identity": fit_portrait(first[0].points, first[0].depth, size, rig, FitConfig(offset_steps=0)),
            "true identity": PortraitFit(cam, replace(RigParams.zeros(1, rig.n_identity), identity=params.identity[:1],
                                                      translation=params.translation[:1]), 0.0)}
    with LandmarkDetector(static_image=args.static, max_faces=1) as det:
        t0 = time.perf_counter()
        detections = [det.detect(f) for f in frames]
        t_detect = time.perf_counter() - t0
    ok = [i for i, d in enumerate(detections) if d]
    print(f"{args.frames} frames at {size}²: mediapipe found a face in {len(ok)}; render {1e3 * t_render / args.frames:.1f} "
          f"ms/frame, landmarks {1e3 * t_detect / args.frames:.1f} ms/frame")
    print("| identity | " + " | ".join(MAIN) + " | max yaw err ° | max pitch err ° | track ms/frame |")
    print("|---|" + "---:|" * (len(MAIN) + 3))
    for label, fit in fits.items():
        tracker = LandmarkTracker(fit, rig, TrackConfig(smoothing=args.smoothing))
        t0 = time.perf_counter()
        lat = MotionLatent.stack([tracker.step(detections[i][0].points) for i in ok])
        t_track = (time.perf_counter() - t0) / len(ok)
        corr = [np.corrcoef(lat.dyn[:, ARKIT_NAMES.index(n)].numpy(),
                            params.expression[ok, ARKIT_NAMES.index(n)].numpy())[0, 1] for n in MAIN]
        yaw = math.degrees(float((lat.pose[:, 1] - params.rotation[ok, 1]).abs().max()))
        pitch = math.degrees(float((lat.pose[:, 0] - params.rotation[ok, 0]).abs().max()))
        print(f"| {label} | " + " | ".join(f"{c:.2f}" for c in corr) + f" | {yaw:.1f} | {pitch:.1f} | {1e3 * t_track:.1f} |")
    renderer.close()


if __name__ == "__main__":
    main()
