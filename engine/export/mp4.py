"""MP4 export (H.264 + AAC) through the ffmpeg that imageio-ffmpeg ships (no system ffmpeg).

Every writer here writes to a hidden temporary file beside the target and renames it at the end, so a
crash or a cancel never leaves a half-written file under the final name.
"""
from __future__ import annotations

import itertools
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sized
from pathlib import Path
from types import TracebackType

import imageio_ffmpeg
import numpy as np
import torch

from engine.cancel import Cancelled
from engine.config import ExportConfig
from engine.media import FFmpegError, PathLike, require_file, run_ffmpeg, to_uint8

ProgressFn = Callable[[int, int | None], None]  # (frames written, total frames or None if unknown)
CancelCheck = Callable[[], bool] | threading.Event

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")  # containers that take H.264 and AAC


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
    video, audio, out = require_file(video_path), require_file(audio_path), Path(out_path)
    _check_video_suffix(out)
    tmp = _temp_beside(out)
    try:
        run_ffmpeg(["-y", "-v", "error", "-i", str(video), "-i", str(audio),
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
        require_file(audio_wav)
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


