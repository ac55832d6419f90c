"""Reading a portrait from a file, bytes or an array into upright 8-bit RGB, whatever it was stored as.

Choices:
- Transparent pixels are composited over white: a cut-out portrait then looks like a plain studio
  backdrop, which the face detector and the selfie matte both separate well.
- 16-bit and 32-bit integer greyscale is read as 0..65535, float greyscale as 0..1; values outside
  that range are stretched from their minimum to their maximum. (Pillow reads 48-bit RGB PNGs as 8-bit
  RGB itself.) Colour profiles are not applied.
- Images larger than max_side are shrunk with bounded memory: JPEGs are decoded at a reduced scale
  (Image.draft), the rest are box-reduced by an integer factor before the final Lanczos resize. The
  decoded size (after draft) may not exceed Image.MAX_IMAGE_PIXELS (Pillow's decompression-bomb
  limit); bigger files are refused with a clear error instead of being decoded. Peak memory is about
  the decoded size (Pillow holds RGB in 4 bytes a pixel), twice that for palette and 1-bit images.
- Animated images give their first frame; EXIF orientation is applied.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..media import to_uint8
from .errors import NotAnImageError

ImageSource = str | os.PathLike[str] | bytes | np.ndarray
BACKGROUND = (255, 255, 255)  # what transparent pixels become
_HIGH_DEPTH_GREY = {"I;16": 65535.0, "I;16L": 65535.0, "I;16B": 65535.0, "I;16N": 65535.0,
                    "I": 65535.0, "F": 1.0}  # mode -> the value read as white
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


@dataclass(frozen=True)
class LoadedImage:
    """A portrait as read: pixels [H, W, 3] uint8 RGB, upright, longer side <= max_side."""

    pixels: np.ndarray
    name: str  # for messages: the file's name, or "the image" for bytes and arrays
    stored_size: tuple[int, int]  # (width, height) before shrinking, after the EXIF rotation

    @property
    def scale(self) -> float:
        """pixels' width / stored width (1.0 when the image was not shrunk)."""
        return self.pixels.shape[1] / self.stored_size[0]


def source_name(source: ImageSource) -> str:
    """How messages refer to a source."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name or str(source)
    return "the image"


def read_image(source: ImageSource, max_side: int = 2048) -> LoadedImage:
    """Read a path, encoded bytes, or an array ([H, W], [H, W, 3] or [H, W, 4]; uint8 or floats in 0..1).
    Raises NotAnImageError (naming the source and the reason) for anything that is not a usable image."""
    if max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")
    name = source_name(source)
    if isinstance(source, np.ndarray):
        im = _array_to_pil(source, name)
        return LoadedImage(_to_pixels(im, name, max_side), name, im.size)
    with _open(source, name, max_side) as im:
        stored = _decode(im, name, max_side)
        return LoadedImage(_to_pixels(im, name, max_side), name, stored)


def load_image(source: ImageSource, max_side: int = 2048) -> np.ndarray:
    """read_image(...).pixels: uint8 [H, W, 3] RGB, upright, longer side <= max_side."""
    return read_image(source, max_side).pixels


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Check and convert an RGB image [H, W, 3] (uint8, or floats in 0..1) to contiguous uint8."""
    rgb = to_uint8(image)
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"the image is empty (shape {rgb.shape})")
    return rgb


def _open(source: str | os.PathLike[str] | bytes, name: str, max_side: int) -> Image.Image:
    """Pillow's lazy open: reads the header only."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        fp: io.BytesIO | Path = io.BytesIO(bytes(source))
    else:
        fp = Path(source)
        if not fp.is_file():
            why = "it is a folder" if fp.is_dir() else "the file does not exist"
            raise NotAnImageError(f"Could not open {name}: {why}.")
    try:
        with warnings.catch_warnings():
            # Pillow warns between 1x and 2x its pixel limit; _decode's decoded-size check decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(fp)
    except Image.DecompressionBombError:
        limit = 2 * Image.MAX_IMAGE_PIXELS / 1e6
        raise NotAnImageError(f"{name} has too many pixels to open safely (over {limit:.0f} megapixels). "
                              f"Save a smaller copy; {max_side} px on the longer side is plenty.") from None
    except UnidentifiedImageError:
        raise NotAnImageError(f"{name} is not an image: its contents are in no format Pillow can read.") from None
    except OSError as e:
        raise NotAnImageError(f"{name} could not be read ({e}); the file is damaged or incomplete.") from None


def _decode(im: Image.Image, name: str, max_side: int) -> tuple[int, int]:
    """Decode in place (at a reduced scale for big JPEGs) and rotate upright; returns the stored
    (width, height) after the rotation."""
    w, h = im.size
    try:
        scale = max_side / max(w, h)
        if scale < 1:  # JPEG decodes at 1/2, 1/4 or 1/8 scale while staying at least this big
            im.draft(None, (max(1, int(w * scale)), max(1, int(h * scale))))
        limit = Image.MAX_IMAGE_PIXELS
        if limit is not None and im.size[0] * im.size[1] > limit:
            raise NotAnImageError(
                f"{name} is {w}x{h} pixels, too large to decode safely (limit {limit / 1e6:.0f} megapixels). "
                f"Save a smaller copy; {max_side} px on the longer side is plenty.")
        im.load()
        decoded = im.size
        ImageOps.exif_transpose(im, in_place=True)
    except NotAnImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as e:  # what Pillow's decoders raise on bad data
        raise NotAnImageError(f"{name} could not be decoded ({e}); the file is damaged or incomplete.") from None
    return (h, w) if im.size != decoded else (w, h)


def _to_pixels(im: Image.Image, name: str, max_side: int) -> np.ndarray:
    """Any-mode image -> uint8 [H, W, 3] RGB with the longer side <= max_side. Shrinks before it
    converts (no full-size copy), except for the modes Pillow can only resize by nearest neighbour."""
    if im.mode in ("1", "P"):
        im = _shrink(_to_rgb_or_rgba(im, name), max_side)
    else:
        im = _to_rgb_or_rgba(_shrink(im, max_side), name)
    if im.mode == "RGBA":
        im = Image.alpha_composite(Image.new("RGBA", im.size, BACKGROUND + (255,)), im).convert("RGB")
    return np.asarray(im)


def _array_to_pil(a: np.ndarray, name: str) -> Image.Image:
    """An array as an 8-bit RGB or RGBA image (floats are taken as 0..1)."""
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or 0 in a.shape[:2]:
        raise NotAnImageError(f"{name} has shape {a.shape}; expected [H, W], [H, W, 3] or [H, W, 4].")
    try:
        pixels = to_uint8(a[:, :, [0, 0, 0]] if a.shape[2] == 1 else a[:, :, :3])
        if a.shape[2] == 4:
            pixels = np.dstack([pixels, to_uint8(a[:, :, [3, 3, 3]])[:, :, 0]])
    except ValueError as e:
        raise NotAnImageError(f"{name} cannot be read: {e}.") from None
    return Image.fromarray(pixels)


def _to_rgb_or_rgba(im: Image.Image, name: str) -> Image.Image:
    """RGBA when the image has transparency, else RGB, both 8-bit."""
    if im.mode in _HIGH_DEPTH_GREY:
        return Image.fromarray(_grey_to_uint8(im)).convert("RGB")
    try:
        if im.mode in _ALPHA_MODES or "transparency" in im.info:
            return im.convert("RGBA")
        return im.convert("RGB")  # 1, L, P, CMYK, YCbCr, RGBX ...
    except ValueError:
        raise NotAnImageError(f"{name} uses the colour mode {im.mode}, which cannot be read; "
                              "save it as an ordinary RGB image.") from None


def _grey_to_uint8(im: Image.Image) -> np.ndarray:
    """A high-bit-depth greyscale image [H, W] as uint8, see the module notes."""
    a = np.asarray(im, dtype=np.float32)
    white = _HIGH_DEPTH_GREY[im.mode]
    lo, hi = float(a.min()), float(a.max())
    if lo < 0 or hi > white:
        a, white = a - lo, max(hi - lo, 1e-12)
    return (np.clip(a / white, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _shrink(im: Image.Image, max_side: int) -> Image.Image:
    w, h = im.size
    scale = max_side / max(w, h)
    if scale >= 1:
        return im
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # reducing_gap: box-reduce by an integer factor first (fast, small), then Lanczos the rest
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
