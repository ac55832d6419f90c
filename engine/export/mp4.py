"""MP4 export and media file I/O through the ffmpeg that imageio-ffmpeg ships (no system ffmpeg).

Every writer here writes to a hidden temporary file beside the target and renames it at the end, so a
crash or a cancel never leaves a half-written file under the final name.
"""
from __future__ import annotations

import itertools
import os
import re
import subprocess
import tempfile
import threading
import wave
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import imageio_ffmpeg
import numpy as np
import torch

from engine.cancel import Cancelled
from engine.config import ExportConfig

PathLike = str | os.PathLike[str]
ProgressFn = Callable[[int, int | None], None]  # (frames written, total frames or None if unknown)
CancelCheck = Callable[[], bool] | threading.Event

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")  # containers that take H.264 and AAC
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


def _temp_beside(path: Path) -> Path:
    """A new empty hidden file in path's folder, keeping path's suffix so ffmpeg picks the same
    container. Same folder, so the final os.replace is an atomic rename."""
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    os.close(fd)
    return Path(name)


def _check_video_suffix(path: Path) -> None:
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"{path}: a video needs one of the suffixes {', '.join(VIDEO_SUFFIXES)}")


def _require_file(path: PathLike) -> Path:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {p}")
    return p


def _run_ffmpeg(args: list[str], what: str) -> subprocess.CompletedProcess[bytes]:
    """Run the bundled ffmpeg with args; on failure raise FFmpegError naming what was attempted."""
    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", *args], capture_output=True)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-_STDERR_TAIL_LINES:]
        raise FFmpegError(f"{what} failed (ffmpeg exit code {proc.returncode}):\n" + "\n".join(tail))
    return proc


class Mp4Writer:
    """Streams RGB frames to an H.264 (libx264, yuv420p) video.

        with Mp4Writer("out.mp4", 512, 512, fps=25) as w:
            for img in images:
                w.write(img)

    The file appears under its final name only when close() succeeds; leaving the `with` block by an
    exception (a Cancelled included) removes the partial file. yuv420p halves the chroma resolution,
    hence the even-size requirement.
    """

    def __init__(self, path: PathLike, width: int, height: int, fps: float = ExportConfig.fps,
                 crf: int = ExportConfig.crf) -> None:
        self.path = Path(path)
        _check_video_suffix(self.path)
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"H.264 (yuv420p) needs a positive, even width and height, got {width}x{height}")
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be in 0..51 (lower is better), got {crf}")
        self.width, self.height, self.fps, self.crf = width, height, float(fps), int(crf)
        self.frames_written = 0
        self._tmp: Path | None = None
        self._gen: Iterator[None] | None = None  # imageio-ffmpeg's send()-driven generator
        self._done = False

    def _open(self) -> None:
        self._tmp = _temp_beside(self.path)
        self._gen = imageio_ffmpeg.write_frames(
            str(self._tmp), (self.width, self.height), fps=self.fps, codec="libx264",
            pix_fmt_out="yuv420p", quality=None, macro_block_size=1, ffmpeg_log_level="error",
            output_params=["-crf", str(self.crf), "-movflags", "+faststart"])
        self._gen.send(None)  # start ffmpeg

    def write(self, frame: np.ndarray | torch.Tensor) -> None:
        """Append one frame: uint8 [H, W, 3], or float [H, W, 3] in 0..1 (numpy or torch)."""
        if self._done:
            raise RuntimeError(f"Mp4Writer for {self.path} is already closed")
        img = to_uint8(frame)
        if img.shape != (self.height, self.width, 3):
            raise ValueError(f"frame has shape {img.shape}, this video is {self.width}x{self.height} "
                             f"(expected ({self.height}, {self.width}, 3))")
        if self._gen is None:
            self._open()
        self._gen.send(img)
        self.frames_written += 1

    def close(self) -> Path:
        """Finish the video and move it to its final name. Returns that path."""
        if self._done:
            return self.path
        if self._gen is None:
            self._done = True
            raise ValueError(f"no frames were written to {self.path}")
        self._finish_ffmpeg()
        assert self._tmp is not None
        if self._tmp.stat().st_size == 0:  # write_frames does not report ffmpeg's exit status
            self._tmp.unlink(missing_ok=True)
            raise FFmpegError(f"ffmpeg wrote nothing for {self.path} (see its messages above)")
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Stop and remove the partial file; the final path is left untouched."""
        if self._done:
            return
        self._finish_ffmpeg()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)

    def _finish_ffmpeg(self) -> None:
        self._done = True
        if self._gen is not None:
            self._gen.close()  # closes ffmpeg's stdin and waits for it to exit

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def mux_audio(video_path: PathLike, audio_path: PathLike, out_path: PathLike,
              audio_bitrate: str = ExportConfig.audio_bitrate) -> Path:
    """Copy the video stream of video_path and add audio_path's audio as AAC, into out_path.

    The audio is padded with silence (apad) and cut at the video's end (-shortest), so the result is
    always exactly as long as the video, whichever input is longer.
    """
    video, audio, out = _require_file(video_path), _require_file(audio_path), Path(out_path)
    _check_video_suffix(out)
    tmp = _temp_beside(out)
    try:
        _run_ffmpeg(["-y", "-v", "error", "-i", str(video), "-i", str(audio),
                     "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", audio_bitrate,
                     "-af", "apad", "-shortest", "-movflags", "+faststart", str(tmp)],
                    f"adding the audio of {audio} to {video}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def export_video(frames: Iterable[np.ndarray | torch.Tensor], path: PathLike, fps: float = ExportConfig.fps,
                 audio_wav: PathLike | None = None, progress: ProgressFn | None = None,
                 cancel: CancelCheck | None = None, crf: int = ExportConfig.crf) -> Path:
    """Write frames (uint8 or float 0..1 [H, W, 3], all one even size) to an MP4 at path, adding
    audio_wav's audio if given.

    progress(i, n) is called after each frame with the count written so far and len(frames) (None when
    frames has no length). cancel (a callable returning True, or a threading.Event) is checked before
    each frame; when set, Cancelled is raised and no file is left at path (an existing one stays as it
    was). Returns path.
    """
    path = Path(path)
    _check_video_suffix(path)
    if audio_wav is not None:
        _require_file(audio_wav)
    total = len(frames) if isinstance(frames, Sized) else None
    should_stop = cancel.is_set if isinstance(cancel, threading.Event) else cancel
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ValueError("export_video got no frames")
    first = to_uint8(first)  # its size is the video's size
    height, width = first.shape[:2]

    video_path = path if audio_wav is None else _temp_beside(path)
    try:
        with Mp4Writer(video_path, width, height, fps, crf) as writer:
            for i, frame in enumerate(itertools.chain([first], it)):
                if should_stop is not None and should_stop():
                    raise Cancelled(f"export to {path} cancelled after {i} frames")
                writer.write(frame)
                if progress is not None:
                    progress(i + 1, total)
        if audio_wav is not None:
            if should_stop is not None and should_stop():
                raise Cancelled(f"export to {path} cancelled before adding audio")
            mux_audio(video_path, audio_wav, path)
    finally:
        if video_path != path:
            video_path.unlink(missing_ok=True)
    return path


def _decoded_length(path: Path, stream: str) -> tuple[int | None, float]:
    """Decode one stream ("v" or "a") to nothing and read ffmpeg's final progress report:
    (frame count for video else None, duration in seconds). Decoding is exact where headers may lie."""
    proc = _run_ffmpeg(["-nostats", "-v", "error", "-i", str(path), "-map", f"0:{stream}:0",
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
    path = _require_file(path)
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
    gen = imageio_ffmpeg.read_frames(str(_require_file(path)), pix_fmt="rgb24")
    try:
        width, height = next(gen)["size"]  # the first item is the header's metadata
        for buf in gen:
            yield np.frombuffer(buf, np.uint8).reshape(height, width, 3)
    finally:
        gen.close()  # stops ffmpeg when the caller stops early


def read_audio(path: PathLike, rate: int = 16_000) -> np.ndarray:
    """Decode the first audio stream of any file ffmpeg reads to mono float32 [N] in -1..1 at rate Hz."""
    path = _require_file(path)
    proc = _run_ffmpeg(["-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "s16le", "-ac", "1",
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
    path = _require_file(path)
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
