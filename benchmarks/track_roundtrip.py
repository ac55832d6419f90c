"""Video-tracking round trip: render the shaded rig (random identity, random smooth expressions and head
motion within ±30° yaw, tests/roundtrip.py), find landmarks, track, compare with the truth.

Rows per seed: mediapipe landmarks with the identity fitted on a neutral render (the issue's round trip,
what `headsplat track` does); mediapipe with the true identity (is the fit the limit?); the rig's own
projected landmarks + 0.5 px noise (the solver alone). Columns: correlation of each main coefficient
with the truth, rotation error (angle of R_tracked R_trueᵀ, max and mean over frames), tracking time
per frame on one thread after landmark detection.

    python benchmarks/track_roundtrip.py [--frames 200] [--size 256] [--seeds 0,1,2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import pixels  # noqa: E402
from roundtrip import (MAIN, RoundTripScore, neutral_of, render_frames, score, synthetic_motion,  # noqa: E402
                       track, tracking_camera)

from engine.face import LandmarkDetector  # noqa: E402
from engine.head.fit import FitConfig, PortraitFit, fit_portrait  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seeds", default="0", help="comma-separated seeds of synthetic_motion")
    ap.add_argument("--static", action="store_true", help="detect every frame from scratch (no mediapipe tracking)")
    args = ap.parse_args()
    size = args.size
    cam = tracking_camera(size)
    print("| seed | landmarks | identity | " + " | ".join(MAIN) + " | max rot err ° | mean rot err ° | track ms/frame |")
    print("|---|---|---|" + "---:|" * (len(MAIN) + 3))
    summary: dict[str, list[RoundTripScore]] = {}
    timing = {"render": 0.0, "landmarks": 0.0}
    for seed in (int(s) for s in args.seeds.split(",")):
        rig, params = synthetic_motion(args.frames, seed)
        t0 = time.perf_counter()
        images = render_frames(rig, params, cam)
        timing["render"] += time.perf_counter() - t0
        with LandmarkDetector(static_image=True) as still:
            (neutral,) = still.detect(render_frames(rig, neutral_of(params), cam)[0])
        with LandmarkDetector(static_image=args.static, max_faces=1) as det:
            t0 = time.perf_counter()
            found = [det.detect(im) for im in images]
            timing["landmarks"] += time.perf_counter() - t0
        if not all(found):
            print(f"seed {seed}: mediapipe lost the face in {sum(not f for f in found)} frames; skipped")
            continue
        mediapipe = [f[0].points for f in found]
        with torch.no_grad():
            verts = rig.forward(params).vertices[:, rig.landmark_vertices]
            neutral_verts = rig.forward(neutral_of(params)).vertices[0, rig.landmark_vertices]
        rng = np.random.default_rng(seed)
        exact = [pixels(v, cam) + rng.normal(0, 0.5, (478, 2)) for v in verts]
        runs = {
            ("mediapipe", "fitted"): (fit_portrait(neutral.points, neutral.depth, size, rig), mediapipe),
            ("mediapipe", "true"): (PortraitFit(cam, neutral_of(params), 0.0), mediapipe),
            ("exact + 0.5 px", "fitted"): (fit_portrait(pixels(neutral_verts, cam), None, size, rig,
                                                        FitConfig(offset_steps=0)), exact),
        }
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the speed requirement is per core
        for (landmarks, identity), (fit, points) in runs.items():
            t0 = time.perf_counter()
            latents = track(fit, points, rig)
            ms = 1e3 * (time.perf_counter() - t0) / len(points)
            result = score(latents, params)
            summary.setdefault(f"{landmarks} | {identity}", []).append(result)
            print(f"| {seed} | {landmarks} | {identity} | {result.row()} | {ms:.1f} |")
        torch.set_num_threads(threads)
    n = len(summary["mediapipe | fitted"])
    for label, results in summary.items():
        mean = RoundTripScore({m: float(np.mean([r.correlation[m] for r in results])) for m in MAIN},
                              max(r.max_rotation_error_deg for r in results),
                              float(np.mean([r.mean_rotation_error_deg for r in results])))
        print(f"| all {n} | {label} | {mean.row()} | |")
    frames = n * args.frames
    print(f"\n{args.frames} frames at {size}² per seed; render {1e3 * timing['render'] / frames:.0f} ms/frame, "
          f"mediapipe {'static' if args.static else 'video'} mode {1e3 * timing['landmarks'] / frames:.1f} ms/frame. "
          f"'all' rows: mean correlation, worst max and mean of mean rotation errors.")


if __name__ == "__main__":
    main()
