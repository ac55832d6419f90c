"""Teacher throughput and acceptance measurements on the sample portrait (astronaut):
frames/s of TeacherRenderer at 256² and 512² (sampled talking latents), and at yaw -35..35: mediapipe's
face-detector confidence, selfie-matte IoU with the frame's alpha, landmark error (fraction of the
outer-eye-corner distance), plus the frontal reproduction PSNR.

    python benchmarks/teacher.py [--frames 200]
"""
from __future__ import annotations

import argparse
import time

import skimage.data

from engine.face import analyze_portrait
from engine.face.landmarks import detection_confidence
from engine.head.fit import fit_portrait
from engine.head.model import load_rig
from engine.teacher.contact_sheet import turned
from engine.teacher.evaluate import landmark_error, matte_iou, reproduction_psnr
from engine.teacher.latents import sample_sequence
from engine.teacher.render import TeacherRenderer
from engine.teacher.teach import head_camera
from engine.teacher.texture import bake_texture


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args()
    rig = load_rig()
    crop = analyze_portrait(skimage.data.astronaut(), size=512)
    fit = fit_portrait(crop.landmarks.points, crop.landmarks.depth, 512, rig)
    t0 = time.perf_counter()
    texture = bake_texture(crop, fit, rig)
    print(f"texture bake: {time.perf_counter() - t0:.1f} s")
    latents = sample_sequence(args.frames, seed=0)
    with TeacherRenderer(rig, texture) as teacher:
        print("| size | frames/s (generate, talking latents) |")
        print("|---:|---:|")
        for size in (256, 512):
            cam = head_camera(fit).resized(size, size)
            teacher.generate(latents[:4], [cam] * 4)  # warm-up (framebuffers)
            t0 = time.perf_counter()
            for start in range(0, args.frames, 25):
                part = latents[start:start + 25]
                teacher.generate(part, [cam] * len(part))
            print(f"| {size}² | {args.frames / (time.perf_counter() - t0):.1f} |")
        frontal = teacher.render(fit.params, fit.camera).rgb[0]
        face_db, head_db = reproduction_psnr(crop, frontal)
        print(f"\nfrontal reproduction at 512²: PSNR face {face_db:.1f} dB, head {head_db:.1f} dB")

        print("\n| yaw ° | detector confidence | matte IoU | landmark error (IOD) |")
        print("|---:|---:|---:|---:|")
        for yaw in (-35, -20, 0, 20, 35):
            out = teacher.render(turned(fit.params, yaw=yaw), fit.camera.resized(256, 256))
            rgb, alpha, lms = out.rgb[0], out.alpha[0], out.landmarks[0]
            err = landmark_error(rgb, lms)
            print(f"| {yaw:+d} | {detection_confidence(rgb):.2f} | {matte_iou(rgb, alpha):.3f} | "
                  f"{'none' if err is None else f'{100 * err:.1f} %'} |")


if __name__ == "__main__":
    main()
