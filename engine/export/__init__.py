"""Export: MP4 video (H.264 + AAC) through the bundled ffmpeg, WAV audio, and reading them back."""
from engine.export.mp4 import (
    VIDEO_SUFFIXES,
    FFmpegError,
    MediaInfo,
    Mp4Writer,
    export_video,
    mux_audio,
    probe,
    read_audio,
    read_frames,
    read_wav,
    to_uint8,
    write_wav,
)

__all__ = ["VIDEO_SUFFIXES", "FFmpegError", "MediaInfo", "Mp4Writer", "export_video", "mux_audio", "probe",
           "read_audio", "read_frames", "read_wav", "to_uint8", "write_wav"]
