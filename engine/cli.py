"""The `headsplat` command line. Each subcommand is one function registered with @command.

    @command("render", "render an avatar to MP4", arg("bundle"), arg("--fps", type=float, default=25.0))
    def _render(args: argparse.Namespace) -> int: ...
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from engine import __version__

CommandFn = Callable[[argparse.Namespace], int]
ArgSpec = tuple[tuple[str, ...], dict[str, Any]]


@dataclass(frozen=True)
class _Command:
    name: str
    help: str
    run: CommandFn
    arguments: tuple[ArgSpec, ...]


_COMMANDS: dict[str, _Command] = {}


def arg(*flags: str, **kwargs: Any) -> ArgSpec:
    """One argparse argument of a subcommand: arg("--fps", type=float, default=25.0)."""
    return flags, kwargs


def command(name: str, help: str, *arguments: ArgSpec) -> Callable[[CommandFn], CommandFn]:
    """Register fn(args) -> exit code as the subcommand `headsplat NAME`."""
    def register(fn: CommandFn) -> CommandFn:
        if name in _COMMANDS:
            raise ValueError(f"subcommand {name!r} registered twice")
        _COMMANDS[name] = _Command(name, help, fn, arguments)
        return fn
    return register


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headsplat", description="HeadSplat Studio: one portrait to a 3D Gaussian-splatting talking head.")
    parser.add_argument("--version", action="version", version=f"headsplat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in _COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        for flags, kwargs in cmd.arguments:
            p.add_argument(*flags, **kwargs)
        p.set_defaults(run=cmd.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)


def text_progress(label: str) -> Callable[[float, str], None]:
    """A one-line progress bar on stderr for long commands: call it with (fraction, message)."""
    def show(fraction: float, message: str = "") -> None:
        bar = "#" * int(30 * fraction)
        end = "\n" if fraction >= 1.0 else ""
        print(f"\r{label} [{bar:<30}] {100 * fraction:5.1f}% {message:<40}", end=end, file=sys.stderr, flush=True)
    return show


# ------------------------------------------------------------------------------------------------- fit

@command("fit", "fit the head rig to a portrait photo: crop, landmarks, camera, shape and expression",
         arg("portrait", help="the photo (any format Pillow reads)"),
         arg("--out", required=True, help="output folder (created)"),
         arg("--size", type=int, default=512, help="side of the square crop in px (default 512)"))
def _fit(args: argparse.Namespace) -> int:
    from engine.face import FaceError
    from engine.head.portrait import fit_portrait_file

    try:
        crop, fit = fit_portrait_file(args.portrait, args.out, args.size, progress=text_progress("fit"))
    except FaceError as e:
        print(f"headsplat fit: {e}", file=sys.stderr)
        return 1
    for warning in crop.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"mean landmark reprojection error {fit.error_px:.2f} px at {args.size}²; wrote {args.out}/"
          "{crop.png, matte.png, fit.json, fit.safetensors, overlay.png, turntable.png}")
    return 0


# ----------------------------------------------------------------------------------------------- teach

@command("teach", "make the teacher dataset of a portrait: synthetic frames of the face with their motion latents",
         arg("portrait", help="the photo"),
         arg("--frames", type=int, default=300, help="training frames (default 300)"),
         arg("--heldout", type=int, default=60, help="held-out frames from separate sequences (default 60)"),
         arg("--res", type=int, default=128, help="frame side in px (default 128)"),
         arg("--seed", type=int, default=0),
         arg("--background", default="0.65,0.7,0.6", help="solid background colour R,G,B in 0..1"),
         arg("--out", required=True, help="dataset folder (created; rerun to resume)"))
def _teach(args: argparse.Namespace) -> int:
    from engine.face import FaceError
    from engine.teacher.dataset import DatasetConfig
    from engine.teacher.teach import teach_portrait

    try:
        background = tuple(float(v) for v in args.background.split(","))
        if len(background) != 3 or not all(0 <= v <= 1 for v in background):
            raise ValueError
    except ValueError:
        print(f"headsplat teach: --background wants three numbers in 0..1 like 0.65,0.7,0.6, got {args.background!r}",
              file=sys.stderr)
        return 2
    if args.frames < 1 or args.res < 16:
        print("headsplat teach: --frames must be at least 1 and --res at least 16", file=sys.stderr)
        return 2
    config = DatasetConfig(frames=args.frames, held_out_frames=max(args.heldout, 0), resolution=args.res,
                           seed=args.seed, background=background)
    try:
        teach_portrait(args.portrait, args.out, config, progress=text_progress("teach"))
    except FaceError as e:
        print(f"headsplat teach: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # a folder holding a dataset with other settings
        print(f"\nheadsplat teach: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.frames} + {config.held_out_frames} frames at {args.res}² to {args.out} "
          f"(contact sheet: {args.out}/contact_sheet.png)")
    return 0


# ----------------------------------------------------------------------------------------------- track

@command("track", "track a face video into motion latents (52 expression coefficients + head pose, 25 fps)",
         arg("video", help="a video file (any format ffmpeg reads)"),
         arg("--out", required=True, help="output .npz (dyn [T, 52], pose [T, 6], fps, found [T])"),
         arg("--fit", help="a `headsplat fit` folder to take identity and camera from (default: fit the "
                           "first frame with a face)"))
def _track(args: argparse.Namespace) -> int:
    from engine.head.fit import PortraitFit
    from engine.media import probe, read_frames
    from engine.motion.track import track_frames

    try:
        info = probe(args.video)
    except (FileNotFoundError, ValueError) as e:
        print(f"headsplat track: {e}", file=sys.stderr)
        return 1
    fit = PortraitFit.load(args.fit) if args.fit else None
    if fit is not None and (fit.camera.width, fit.camera.height) != (info.width, info.height):
        print(f"headsplat track: the fit in {args.fit} is for {fit.camera.width}x{fit.camera.height} images, "
              f"the video is {info.width}x{info.height}; track without --fit", file=sys.stderr)
        return 1
    bar = text_progress("track")
    try:
        result = track_frames(read_frames(args.video), info.fps, fit,
                              progress=lambda i: bar(min(i / max(info.frames, 1), 1.0), f"frame {i}"))
    except ValueError as e:
        print(f"\nheadsplat track: {e}", file=sys.stderr)
        return 1
    bar(1.0, f"{int(result.found.sum())}/{len(result.found)} frames with a face")
    at_25 = result.resampled(25.0)
    at_25.save(args.out)
    print(f"wrote {len(at_25.latents)} latents at 25 fps to {args.out}")
    return 0


# ---------------------------------------------------------------------------------------------- doctor

OK, WARN, MISSING = "OK", "WARN", "MISSING"
HEADLESS_STUDIO = 'xvfb-run -a -s "-screen 0 1280x800x24" headsplat-studio --screenshot shot.png'
MIN_GL = (4, 3)  # the viewport asks Qt for a 4.3 core context


@dataclass(frozen=True)
class Check:
    """One doctor finding. fix says exactly what to do when status is not OK."""

    name: str
    status: str  # OK | WARN | MISSING
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<8} {self.name:<7} {self.detail}"
        return f"{text} -> {self.fix}" if self.fix else text


def _pip(requirement: str) -> str:
    return f"install it: {sys.executable} -m pip install \"{requirement}\""


def _check_python() -> Check:
    version = sys.version.split()[0]
    if sys.version_info < (3, 10):
        return Check("python", WARN, f"{version} is too old", "use Python 3.10 or newer (3.11 is tested)")
    return Check("python", OK, f"{version} ({sys.executable})")


def _check_torch() -> Check:
    try:
        import torch
    except Exception as e:
        return Check("torch", MISSING, f"cannot import torch ({e})", _pip("torch>=2.4,<2.14"))
    threads = f"{torch.get_num_threads()} CPU threads"
    if torch.cuda.is_available():
        return Check("torch", OK, f"{torch.__version__}, CUDA {torch.version.cuda} on "
                                  f"{torch.cuda.get_device_name(0)}, {threads}")
    return Check("torch", OK, f"{torch.__version__}, no CUDA device: training runs on the CPU ({threads})")


def _check_gsplat() -> Check:
    try:
        import gsplat
        import torch
    except Exception as e:
        return Check("gsplat", MISSING, f"cannot import gsplat ({e})", _pip("gsplat==1.5.3"))
    if not torch.cuda.is_available():
        return Check("gsplat", OK, f"{gsplat.__version__} installed; needs CUDA -- using the torch rasterizer")
    # gsplat's wheel is pure Python: it compiles its CUDA kernels with nvcc on first use.
    cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    nvcc = shutil.which("nvcc") or (cuda_home and shutil.which("nvcc", path=os.path.join(cuda_home, "bin")))
    if not nvcc:
        return Check("gsplat", WARN, f"{gsplat.__version__} installed, CUDA device present, but no nvcc to "
                                     "compile its kernels",
                     f"install the CUDA toolkit {torch.version.cuda} (nvcc) or set CUDA_HOME; "
                     "until then use the torch rasterizer")
    return Check("gsplat", OK, f"{gsplat.__version__}; CUDA kernels compile on first use with {nvcc}")


# Runs in a child process: a broken GL driver can abort the process, and EGL must not share a process
# with the studio's X/Qt GL context (BadAccess abort).
_GL_PROBE = """
import json, moderngl
ctx = moderngl.create_context(standalone=True, backend="egl")
print(json.dumps({"renderer": ctx.info["GL_RENDERER"], "version": ctx.info["GL_VERSION"],
                  "code": ctx.version_code}))
ctx.release()
"""


def _check_gl() -> Check:
    try:
        proc = subprocess.run([sys.executable, "-c", _GL_PROBE], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return Check("gl", WARN, "creating a headless OpenGL (EGL) context hung for 60 s",
                     "check the GPU driver; sudo apt-get install libegl1 libgl1-mesa-dri")
    if proc.returncode != 0:
        error = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        if "No module named 'moderngl'" in proc.stderr:
            return Check("gl", MISSING, error, _pip("moderngl>=5.10,<6"))
        return Check("gl", MISSING, f"no headless OpenGL (EGL) context: {error}",
                     "sudo apt-get install libegl1 libgl1-mesa-dri")
    info = json.loads(proc.stdout)
    detail = f"{info['renderer']}, OpenGL {info['version']}"
    if divmod(info["code"], 100) < MIN_GL:
        return Check("gl", WARN, detail, f"the 3D viewport needs OpenGL {MIN_GL[0]}.{MIN_GL[1]}: update the "
                                         "GPU driver or Mesa (sudo apt-get install libgl1-mesa-dri)")
    if re.search(r"llvmpipe|softpipe|swrast", info["renderer"], re.I):
        detail += " (software rendering on the CPU)"
    return Check("gl", OK, detail)


# Qt aborts the whole process when its platform plugin cannot start: try it in a child process.
_QT_PROBE = "from PySide6.QtGui import QGuiApplication; print(QGuiApplication([]).platformName())"


def _check_qt() -> Check:
    try:
        import PySide6
        from PySide6 import QtCore
    except Exception as e:
        return Check("qt", MISSING, f"cannot import PySide6 ({e})", _pip("PySide6-Essentials>=6.8,<6.12"))
    version = f"PySide6 {PySide6.__version__} (Qt {QtCore.qVersion()})"
    if tuple(int(p) for p in PySide6.__version__.split(".")[:2]) >= (6, 12):
        return Check("qt", WARN, f"{version}: 6.12.0 aborts live apps on Python 3.11 (none_dealloc)",
                     _pip("PySide6-Essentials>=6.8,<6.12"))
    if not sys.platform.startswith("linux"):
        return Check("qt", OK, version)
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return Check("qt", WARN, f"{version}; QT_QPA_PLATFORM=offscreen gives the 3D viewport no OpenGL",
                     "unset QT_QPA_PLATFORM (under Xvfb set QT_QPA_PLATFORM=xcb)")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        xvfb = "" if shutil.which("xvfb-run") else "sudo apt-get install xvfb xauth, then "
        return Check("qt", WARN, f"{version}; no display (DISPLAY and WAYLAND_DISPLAY are unset)",
                     f"to run headless: {xvfb}{HEADLESS_STUDIO}")
    try:
        proc = subprocess.run([sys.executable, "-c", _QT_PROBE], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return Check("qt", WARN, f"{version}; connecting to the display hung for 60 s", "check DISPLAY")
    if proc.returncode == 0:
        return Check("qt", OK, f"{version}, display platform {proc.stdout.strip()}")
    # Qt blames missing libraries whenever xcb fails; an unreachable X server is the likelier cause.
    if "could not connect to display" in proc.stderr:
        return Check("qt", WARN, f"{version}; cannot connect to the X display {os.environ.get('DISPLAY')!r}",
                     f"check that the X server runs and DISPLAY/XAUTHORITY are right, or run headless: "
                     f"{HEADLESS_STUDIO}")
    error = next((l for l in proc.stderr.splitlines() if "Could not load the Qt platform plugin" in l),
                 (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1])
    return Check("qt", MISSING, f"{version}; Qt cannot open the display: {error.strip()}",
                 "install the X libraries Qt needs: bash installer/setup.sh (or sudo apt-get install "
                 "libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1)")


def _check_audio() -> Check:
    try:
        import sounddevice as sd
    except OSError as e:  # the Python package is there, the PortAudio C library is not
        return Check("audio", MISSING, f"sounddevice cannot load PortAudio ({e})",
                     "sudo apt-get install libportaudio2")
    except ImportError as e:
        return Check("audio", MISSING, f"cannot import sounddevice ({e})", _pip("sounddevice>=0.4"))
    portaudio = sd.get_portaudio_version()[1].split(",")[0]
    inputs = [d for d in sd.query_devices() if d["max_input_channels"] > 0]
    if not inputs:
        return Check("audio", WARN, f"{portaudio}; no input devices (audio files still work)",
                     "connect a microphone, and check that your user may use it (the 'audio' group, "
                     "or PulseAudio/PipeWire running)")
    default_in = sd.default.device[0]
    names = [f"{'*' if d['index'] == default_in else ''}{d['name']} ({d['default_samplerate']:.0f} Hz)"
             for d in inputs]
    return Check("audio", OK, f"{portaudio}; {len(inputs)} input device(s): {'; '.join(names)}")


def _check_ffmpeg() -> Check:
    try:
        import imageio_ffmpeg
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as e:
        return Check("ffmpeg", MISSING, f"no ffmpeg ({e})", _pip("imageio-ffmpeg>=0.5"))
    encoders = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True,
                              timeout=60).stdout
    lacking = [e for e in ("libx264", "aac") if not re.search(rf"^\s*\S+\s+{e}\s", encoders, re.M)]
    detail = f"{imageio_ffmpeg.get_ffmpeg_version()} at {exe}"
    if lacking:
        return Check("ffmpeg", WARN, f"{detail} lacks the encoder(s) {', '.join(lacking)} that MP4 export uses",
                     "reinstall imageio-ffmpeg (its bundled ffmpeg has them) and unset IMAGEIO_FFMPEG_EXE")
    return Check("ffmpeg", OK, detail)


# In a child process: importing mediapipe pulls OpenCV, which moves Qt's plugin path in this process.
_FACE_PROBE = """
import json, os, mediapipe
root = os.path.join(os.path.dirname(mediapipe.__file__), "modules")
need = ["face_detection/face_detection_short_range.tflite", "face_landmark/face_landmark_with_attention.tflite",
        "selfie_segmentation/selfie_segmentation.tflite"]
print(json.dumps({"version": mediapipe.__version__, "missing": [n for n in need if not os.path.isfile(os.path.join(root, n))]}))
"""


def _check_face() -> Check:
    proc = subprocess.run([sys.executable, "-c", _FACE_PROBE], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Check("face", MISSING, f"cannot import mediapipe ({last})", _pip("mediapipe==0.10.21"))
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    if found["missing"]:
        return Check("face", MISSING, f"mediapipe {found['version']} lacks its face models "
                                      f"({', '.join(found['missing'])})", _pip("mediapipe==0.10.21"))
    return Check("face", OK, f"mediapipe {found['version']} with its face detector, 478-point face mesh "
                             "and selfie matte models")


DOCTOR_CHECKS: tuple[Callable[[], Check], ...] = (
    _check_python, _check_torch, _check_gsplat, _check_gl, _check_qt, _check_face, _check_audio, _check_ffmpeg)


def run_checks() -> Iterator[Check]:
    """Run the doctor checks one by one (lazily, so each can be shown as it finishes); a check that
    crashes becomes a WARN finding instead of an exception."""
    for check in DOCTOR_CHECKS:
        try:
            yield check()
        except Exception as e:
            name = check.__name__.removeprefix("_check_")
            yield Check(name, WARN, f"the check itself failed: {type(e).__name__}: {e}",
                        "run `headsplat doctor` again; if it persists, report this line")


@command("doctor", "check the installation: Python packages, CUDA, OpenGL, Qt display, face models, audio, ffmpeg")
def _doctor(args: argparse.Namespace) -> int:
    print(f"headsplat {__version__} doctor", flush=True)
    counts = {OK: 0, WARN: 0, MISSING: 0}
    for result in run_checks():
        print(result.line(), flush=True)
        counts[result.status] += 1
    print(", ".join(f"{n} {status}" for status, n in counts.items()))
    return 0  # missing pieces are findings, not a failure of the command


if __name__ == "__main__":
    sys.exit(main())
