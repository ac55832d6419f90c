"""Media file I/O through the ffmpeg that imageio-ffmpeg ships (no system ffmpeg): probing and
decoding videos, reading any audio, 16-bit WAV files, and float images as uint8 pixels.
Export and the audio sources both build on this."""
from __future__ import annotations

import os
import re
import subprocess
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import torch

PathLike = str | os.PathLike[str]
_STDERR_TAIL_LINES = 12


class FFmpegError(RuntimeError):
    """An ffmpeg call failed; the message ends with the tail of ffmpeg's own error output."""


@dataclass(frozen=True)
class MediaInfo:
    """What probe() found in a video file. Durations in seconds; audio fields are None without audio."""

    width: int
    height: int
    fps: float
    frames: int
    duration: float
    audio_duration: float | None
    audio_rate: int | None


def to_uint8(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """An RGB image [H, W, 3] as contiguous uint8: uint8 passes through, floats in 0..1 are clipped
    and rounded (no transfer curve is applied: values are written as they are)."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu()
        image = (image.float() if image.is_floating_point() else image).numpy()
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an RGB image [H, W, 3], got shape {tuple(a.shape)}")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if np.issubdtype(a.dtype, np.floating):
        return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise ValueError(f"expected uint8 pixels or floats in 0..1, got {a.dtype}")


def require_file(path: PathLike) -> Path:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {p}")
    return p


def run_ffmpeg(args: list[str], what: str) -> subprocess.CompletedProcess[bytes]:
    """Run the bundled ffmpeg with args; on failure raise FFmpegError naming what was attempted."""
    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", *args], capture_output=True)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-_STDERR_TAIL_LINES:]
        raise FFmpegError(f"{what} failed (ffmpeg exit code {proc.returncode}):\n" + "\n".join(tail))
    return proc


def _decoded_length(path: Path, stream: str) -> tuple[int | None, float]:
    """Decode one stream ("v" or "a") to nothing and read ffmpeg's final progress report:
    (frame count for video else None, duration in seconds). Decoding is exact where headers may lie."""
    proc = run_ffmpeg(["-nostats", "-v", "error", "-i", str(path), "-map", f"0:{stream}:0",
                        "-f", "null", "-progress", "pipe:1", "-"], f"decoding {path}")
    report: dict[str, str] = {}
    for line in proc.stdout.decode(errors="replace").splitlines():  # key=value blocks; the last wins
        key, sep, value = line.partition("=")
        if sep:
            report[key.strip()] = value.strip()
    frames = int(report["frame"]) if stream == "v" and "frame" in report else None
    seconds = int(report.get("out_time_us", "0")) / 1e6
    return frames, seconds


def probe(path: PathLike) -> MediaInfo:
    """Size, frame rate, exact frame count and durations of a video file (and its audio, if any)."""
    path = require_file(path)
    # `ffmpeg -i` alone always exits 1 ("no output file"); its stderr still lists the streams.
    header = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                            capture_output=True).stderr.decode(errors="replace")
    video_line = next((l for l in header.splitlines() if "Stream #" in l and "Video:" in l), None)
    audio_line = next((l for l in header.splitlines() if "Stream #" in l and "Audio:" in l), None)
    if video_line is None:
        tail = "\n".join(header.strip().splitlines()[-_STDERR_TAIL_LINES:])
        raise ValueError(f"{path} has no video stream (ffmpeg says:\n{tail})")
    size = re.search(r",\s(\d+)x(\d+)\b", video_line)  # ", 64x48" — not the codec tag "0x3163…"
    if size is None:
        raise FFmpegError(f"could not read the frame size of {path} from: {video_line.strip()}")
    frames, duration = _decoded_length(path, "v")
    rate = re.search(r"([\d.]+)(k?) (?:fps|tbr)\b", video_line)
    if rate:
        fps = float(rate.group(1)) * (1000.0 if rate.group(2) else 1.0)
    else:  # no rate in the header (rare): derive it
        fps = (frames or 0) / duration if duration > 0 else 0.0
    audio_duration = audio_rate = None
    if audio_line is not None:
        audio_duration = _decoded_length(path, "a")[1]
        hz = re.search(r"(\d+) Hz", audio_line)
        audio_rate = int(hz.group(1)) if hz else None
    return MediaInfo(int(size.group(1)), int(size.group(2)), fps, frames or 0, duration,
                     audio_duration, audio_rate)


def read_frames(path: PathLike) -> Iterator[np.ndarray]:
    """Decode a video's frames one by one as read-only uint8 [H, W, 3] arrays."""
    gen = imageio_ffmpeg.read_frames(str(require_file(path)), pix_fmt="rgb24")
    try:
        width, height = next(gen)["size"]  # the first item is the header's metadata
        for buf in gen:
            yield np.frombuffer(buf, np.uint8).reshape(height, width, 3)
    finally:
        gen.close()  # stops ffmpeg when the caller stops early


def read_audio(path: PathLike, rate: int = 16_000) -> np.ndarray:
    """Decode the first audio stream of any file ffmpeg reads to mono float32 [N] in -1..1 at rate Hz."""
    path = require_file(path)
    proc = run_ffmpeg(["-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "s16le", "-ac", "1",
                        "-ar", str(int(rate)), "-"], f"reading the audio of {path}")
    return np.frombuffer(proc.stdout, "<i2").astype(np.float32) / 32768.0


def write_wav(path: PathLike, samples: np.ndarray, rate: int) -> Path:
    """Write mono samples [N] (float in -1..1, clipped; or int16) as a 16-bit PCM WAV. Returns path."""
    a = np.asarray(samples)
    if a.ndim != 1:
        raise ValueError(f"write_wav expects mono samples [N], got shape {a.shape}")
    if np.issubdtype(a.dtype, np.floating):
        pcm = np.round(np.clip(a, -1.0, 1.0) * 32767.0).astype("<i2")
    elif a.dtype == np.int16:
        pcm = a.astype("<i2")
    else:
        raise ValueError(f"write_wav expects float (-1..1) or int16 samples, got {a.dtype}")
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    path = Path(path)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.tobytes())
    return path


def read_wav(path: PathLike) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV as (mono float32 [N] in -1..1, sample rate); channels are averaged.
    Other encodings: use read_audio()."""
    path = require_file(path)
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            data = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(f"{path} is not a PCM WAV file ({e}); read_audio() decodes any format") from None
    if width != 2:
        raise ValueError(f"{path} holds {8 * width}-bit samples; read_wav reads 16-bit PCM, "
                         "read_audio() decodes any format")
    pcm = np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
    return pcm.reshape(-1, channels).mean(axis=1), rate
