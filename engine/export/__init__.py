"""Export: MP4 video (H.264 + AAC) through the bundled ffmpeg. Reading media back: engine.media."""
from engine.export.mp4 import VIDEO_SUFFIXES, Mp4Writer, export_video, mux_audio

__all__ = ["VIDEO_SUFFIXES", "Mp4Writer", "export_video", "mux_audio"]
