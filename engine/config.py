"""Typed configs and presets (the ground floor: imports nothing of the engine)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RenderConfig:
    """Settings shared by every Gaussian renderer.

    backend: "auto" (gsplat when CUDA works, else torch), "torch", "gsplat" or "gl".
    eps2d: low-pass added to the 2D covariance diagonal (px²), as in 3DGS/gsplat.
    """

    backend: str = "auto"
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    near: float = 0.01
    far: float = 1e10
    eps2d: float = 0.3
    tile_size: int = 16
    alpha_min: float = 1.0 / 255.0  # a splat contributes nothing below this alpha
    alpha_max: float = 0.999  # clamp so transmittance never reaches exactly 0
    transmittance_min: float = 1e-4  # a pixel stops compositing below this transmittance


@dataclass(frozen=True)
class ExportConfig:
    fps: float = 25.0
    crf: int = 18  # H.264 quality (lower is better)
    audio_bitrate: str = "160k"


@dataclass(frozen=True)
class TrainPreset:
    """How big and how long an avatar's training runs. Later issues read more fields from here."""

    name: str
    resolution: int  # training image side (px)
    num_gaussians: int
    iterations: int
    teacher_frames: int
    description: str = ""


PRESETS: dict[str, TrainPreset] = {
    p.name: p
    for p in (
        TrainPreset("test", 64, 500, 30, 16, "tiny, for automated tests (seconds)"),
        TrainPreset("preview", 128, 5_000, 600, 300, "quick look on a CPU (minutes)"),
        TrainPreset("standard", 256, 20_000, 3_000, 2_000, "good quality on a CPU (an hour) or a GPU"),
        TrainPreset("full", 512, 100_000, 30_000, 10_000, "paper-sized, for a CUDA GPU"),
    )
}


def preset(name: str) -> TrainPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


@dataclass(frozen=True)
class StudioConfig:
    """Defaults of the desktop studio."""

    viewport_background: tuple[float, float, float] = (0.12, 0.12, 0.14)
    target_fps: float = 60.0
    demo_splats: int = 20_000
    presets: tuple[str, ...] = field(default_factory=lambda: tuple(PRESETS))
