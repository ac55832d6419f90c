"""MP4 export through the bundled ffmpeg: frames + WAV in, probe and decode back out."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.cancel import Cancelled
from engine.export import Mp4Writer, export_video, mux_audio
from engine.media import FFmpegError, probe, read_audio, read_frames, read_wav, to_uint8, write_wav

W, H, N, FPS, RATE = 64, 48, 50, 25.0, 16_000


def synthetic_frames(n: int = N) -> list[np.ndarray]:
    """A smooth colour gradient with a bright square moving across it: easy on H.264, clearly moving."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    frames = []
    for i in range(n):
        img = np.stack([xx / W, yy / H, np.full_like(xx, 0.3)], axis=-1)
        x0 = int(i * (W - 16) / (n - 1))
        img[16:32, x0:x0 + 16] = 1.0
        frames.append(to_uint8(img))
    return frames


def sine(seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_export_with_audio_round_trip(tmp_path):
    frames = synthetic_frames()
    wav = write_wav(tmp_path / "tone.wav", sine(2.0), RATE)
    seen: list[tuple[int, int | None]] = []
    out = export_video(frames, tmp_path / "clip.mp4", fps=FPS, audio_wav=wav,
                       progress=lambda i, n: seen.append((i, n)))

    assert seen == [(i, N) for i in range(1, N + 1)]
    assert leftovers(tmp_path) == ["clip.mp4", "tone.wav"]  # no temporary files left behind
    info = probe(out)
    assert (info.width, info.height, info.frames, info.fps) == (W, H, N, FPS)
    assert info.duration == pytest.approx(2.0, abs=1e-6)
    assert info.audio_duration == pytest.approx(2.0, abs=0.1)
    assert info.audio_rate == RATE

    decoded = list(read_frames(out))
    assert len(decoded) == N
    err = np.mean([np.abs(a.astype(np.float32) - b).mean() for a, b in zip(decoded, frames)])
    assert err < 4.0, f"decoded frames differ from the input by {err:.2f} grey levels on average"

    audio = read_audio(out, rate=RATE)
    assert len(audio) / RATE == pytest.approx(2.0, abs=0.1)
    assert np.sqrt(np.mean(audio ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)  # the tone survived AAC


def test_video_only_probe_has_no_audio(tmp_path):
    out = export_video(iter(synthetic_frames(10)), tmp_path / "silent.mp4", fps=FPS)
    info = probe(out)
    assert info.frames == 10 and info.audio_duration is None and info.audio_rate is None


def test_writer_accepts_float_torch_and_numpy(tmp_path):
    grey = 0.5
    with Mp4Writer(tmp_path / "grey.mp4", W, H, fps=FPS) as w:
        w.write(torch.full((H, W, 3), grey))
        w.write(np.full((H, W, 3), grey, np.float64))
    assert w.frames_written == 2
    for frame in read_frames(tmp_path / "grey.mp4"):
        assert abs(frame.astype(np.float32).mean() - 128) < 2


def test_odd_size_and_wrong_frames_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="even"):
        Mp4Writer(tmp_path / "odd.mp4", 63, 48)
    with pytest.raises(ValueError, match="even"):
        export_video([np.zeros((47, 64, 3), np.uint8)], tmp_path / "odd.mp4")
    with pytest.raises(ValueError, match="suffix"):
        Mp4Writer(tmp_path / "clip.gif", W, H)
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        to_uint8(np.zeros((H, W, 4), np.float32))
    with pytest.raises(ValueError, match="64x48"):
        with Mp4Writer(tmp_path / "mixed.mp4", W, H) as w:
            w.write(np.zeros((H, W, 3), np.uint8))
            w.write(np.zeros((H * 2, W * 2, 3), np.uint8))
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("use_event", [True, False])
def test_cancel_midway_leaves_no_file(tmp_path, use_event):
    stop = threading.Event()

    def progress(i: int, n: int | None) -> None:
        if i == 20:
            stop.set()

    cancel = stop if use_event else stop.is_set
    with pytest.raises(Cancelled):
        export_video(synthetic_frames(), tmp_path / "clip.mp4", audio_wav=write_wav(tmp_path / "a.wav", sine(2.0), RATE),
                     progress=progress, cancel=cancel)
    assert leftovers(tmp_path) == ["a.wav"]


def test_failed_export_keeps_previous_file(tmp_path):
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"previous export")

    def broken_frames():
        yield from synthetic_frames(5)
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        export_video(broken_frames(), target)
    assert target.read_bytes() == b"previous export"
    assert leftovers(tmp_path) == ["clip.mp4"]


def test_mux_failure_message_is_readable(tmp_path):
    video = export_video(synthetic_frames(5), tmp_path / "v.mp4")
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("this is not a sound file")
    with pytest.raises(FFmpegError) as excinfo:
        mux_audio(video, not_audio, tmp_path / "out.mp4")
    message = str(excinfo.value)
    assert "adding the audio of" in message and "notes.wav" in message
    assert "Invalid data" in message  # ffmpeg's own words, not just an exit code
    assert leftovers(tmp_path) == ["notes.wav", "v.mp4"]
    with pytest.raises(FileNotFoundError):
        mux_audio(video, tmp_path / "missing.wav", tmp_path / "out.mp4")


def test_wav_round_trip_and_errors(tmp_path):
    tone = sine(0.5)
    read, rate = read_wav(write_wav(tmp_path / "f.wav", tone, RATE))
    assert rate == RATE and read.dtype == np.float32
    np.testing.assert_allclose(read, tone, atol=1e-4)
    pcm = (tone * 32767).astype(np.int16)
    read, _ = read_wav(write_wav(tmp_path / "i.wav", pcm, RATE))
    np.testing.assert_allclose(read, pcm / 32768.0, atol=1e-6)
    np.testing.assert_allclose(read_audio(tmp_path / "i.wav", rate=RATE), read, atol=1e-6)
    with pytest.raises(ValueError, match="mono"):
        write_wav(tmp_path / "s.wav", np.zeros((100, 2), np.float32), RATE)
    (tmp_path / "bad.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(ValueError, match="read_audio"):
        read_wav(tmp_path / "bad.wav")


def test_probe_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        probe(tmp_path / "missing.mp4")
    wav = write_wav(tmp_path / "a.wav", sine(0.2), RATE)
    with pytest.raises(ValueError, match="no video stream"):
        probe(wav)
