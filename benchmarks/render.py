"""Renderer speed: ms/frame and frames/s of each available renderer on the demo head.

    python benchmarks/render.py [--sizes 256,512] [--splats 5000,20000,100000] [--seconds 2]

torch: forward (no autograd) and forward+backward (grad to every Gaussian attribute).
gsplat: the same, on CUDA (only where CUDA and its kernels are available).
gl: upload + projection pass + depth sort + order upload + draw + glFinish per frame (the live path;
no readback), a new camera every frame, into an RGBA8 target like the viewport's ("display") and into
the RGBA32F offscreen target render() uses. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Callable

import torch

from engine.render.scenes import demo_head
from engine.types import GaussianFrame, OrbitCamera

ATTRS = ("means", "quats", "scales", "opacities", "colors")


def timeit(step: Callable[[int], None], seconds: float, min_reps: int = 3) -> float:
    """Median seconds per call of step(i), after one warm-up call."""
    step(0)
    times: list[float] = []
    start = time.perf_counter()
    i = 1
    while len(times) < min_reps or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - t0)
        i += 1
    times.sort()
    return times[len(times) // 2]


def camera(i: int, res: int):
    return OrbitCamera(yaw=-30 + (i * 7) % 60, pitch=5, distance=0.6, fov_deg=30).camera(res, res)


def bench_tensor_renderer(renderer, frame: GaussianFrame, res: int, seconds: float) -> tuple[float, float]:
    sync = torch.cuda.synchronize if frame.device.type == "cuda" else (lambda: None)

    def fwd(i: int) -> None:
        with torch.no_grad():
            renderer.render(frame, camera(i, res))
        sync()

    params = {k: getattr(frame, k).detach().clone().requires_grad_() for k in ATTRS}
    grad_frame = GaussianFrame(**params)

    def fwd_bwd(i: int) -> None:
        renderer.render(grad_frame, camera(i, res)).rgb.mean().backward()
        sync()

    return timeit(fwd, seconds), timeit(fwd_bwd, seconds)


def bench_gl(renderer, frame: GaussianFrame, res: int, seconds: float, display: bool) -> float:
    """display: draw into an RGBA8 target like the viewport's; else the float offscreen target."""
    fbo = None
    if display:
        with renderer.ctx:
            fbo = renderer.ctx.simple_framebuffer((res, res))

    def step(i: int) -> None:
        renderer.set_frame(frame)
        renderer.draw(camera(i, res), fbo=fbo)
        renderer.finish()

    try:
        return timeit(step, seconds)
    finally:
        if fbo is not None:
            with renderer.ctx:
                fbo.release()


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"Python {platform.python_version()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--splats", default="5000,20000,100000")
    ap.add_argument("--seconds", type=float, default=2.0, help="time budget per measurement")
    ap.add_argument("--renderers", default="torch,gsplat,gl")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    counts = [int(s) for s in args.splats.split(",")]
    wanted = args.renderers.split(",")

    renderers: dict[str, object] = {}
    notes: list[str] = []
    if "torch" in wanted:
        from engine.render.torch_raster import TorchRenderer
        renderers["torch"] = TorchRenderer()
    if "gsplat" in wanted:
        from engine.render import cuda_gsplat_available
        if cuda_gsplat_available():
            from engine.render.gsplat_backend import GsplatRenderer
            renderers["gsplat"] = GsplatRenderer()
        else:
            notes.append("gsplat: skipped (needs CUDA and its compiled kernels)")
    if "gl" in wanted:
        try:
            from engine.render.gl import GLRenderer
            renderers["gl"] = GLRenderer()
            with renderers["gl"].ctx:
                notes.append(f"gl: {renderers['gl'].ctx.info['GL_RENDERER']}")
        except Exception as e:  # no EGL/GL 4.3 here: report, do not fail
            notes.append(f"gl: skipped ({e})")

    print(f"machine: {machine()}")
    for n in notes:
        print(n)
    print()
    print("| renderer | splats | size | forward ms | fwd+bwd ms | fps (forward) |")
    print("|---|---:|---:|---:|---:|---:|")
    # Renderer by renderer, GL first: torch's idle OpenMP workers keep spinning for a while after
    # each op and would steal llvmpipe's cores if the two were interleaved.
    for name in sorted(renderers, key=lambda k: k != "gl"):
        r = renderers[name]
        for n in counts:
            frame = demo_head(n)
            for res in sizes:
                if name == "gl":
                    for display, label in ((True, "gl display RGBA8"), (False, "gl offscreen RGBA32F")):
                        t = bench_gl(r, frame, res, args.seconds, display)
                        print(f"| {label} | {n} | {res}² | {t * 1e3:.1f} | – | {1 / t:.1f} |", flush=True)
                else:
                    f = frame.to("cuda") if name == "gsplat" else frame
                    tf, tb = bench_tensor_renderer(r, f, res, args.seconds)
                    print(f"| {name} | {n} | {res}² | {tf * 1e3:.1f} | {tb * 1e3:.1f} | {1 / tf:.1f} |", flush=True)

if __name__ == "__main__":
    main()
