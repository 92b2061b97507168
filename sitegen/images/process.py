"""Turn one image's bytes into small WebP files with Pillow.

Pillow decides what the bytes are (Content-Type is never trusted). The pixel
count is read from the header and checked before any decoding, so a
decompression bomb costs nothing. EXIF orientation is applied, colours are
converted to sRGB, and no metadata is written.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, ImageSequence, UnidentifiedImageError

Image.init()  # register every plugin, so the check below sees them all
# Web image formats only; multi-picture JPEGs (MPO) open through "JPEG".
FORMATS = tuple(f for f in ("JPEG", "MPO", "PNG", "GIF", "WEBP", "AVIF", "BMP", "TIFF")
                if f in Image.OPEN)
# Animations over this many times max_pixels in all frames are kept as they are,
# because re-encoding holds every frame in memory.
ANIMATION_BUDGET = 1
WEBP_MAX = 16383  # the largest width or height a WebP file can have
_GRAPHIC_MODES = ("1", "P", "L", "LA", "PA")
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class Rejected(Exception):
    """Bytes that will not become an image; `reason` is a short report word."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

    def __reduce__(self):  # keep reason and detail when sent back from a worker process
        return (type(self), (self.reason, self.detail))


@dataclass(frozen=True)
class ProcessParams:
    """The processing settings, small and picklable so a worker process can take them."""

    widths: tuple[int, ...]  # wanted srcset widths; see output_widths
    max_width: int
    thumb_width: int
    quality: int
    max_pixels: int
    effort: int = 2  # libwebp method: higher is slower, rarely much smaller


@dataclass(frozen=True)
class Encoded:
    width: int
    height: int
    ext: str  # "webp", or the original's extension when an animation is kept as it was
    data: bytes


@dataclass(frozen=True)
class Processed:
    animated: bool
    outputs: tuple[Encoded, ...]  # narrowest first; the last is the main image
    thumb: int  # index of the thumbnail in outputs


def output_widths(params: ProcessParams, width: int, height: int = 1) -> tuple[int, ...]:
    """Widths to make for an image of this size: never wider than the image, and never
    so wide that a very tall image passes WebP's 16383-pixel limit."""
    largest = max(1, min(width, params.max_width, WEBP_MAX * width // max(height, 1)))
    wanted = {min(w, largest) for w in (*params.widths, params.thumb_width)} | {largest}
    return tuple(sorted(wanted))


def process_image(data: bytes, params: ProcessParams) -> Processed:
    """Decode, check and encode one image, or raise Rejected."""
    image = _open(data, params.max_pixels)
    try:
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            return _process_animation(image, data, params, frames)
        return _process_still(image, params)
    except Rejected:
        raise
    except Image.DecompressionBombError as exc:
        raise Rejected("bomb", str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Rejected("truncated" if "truncat" in str(exc) else "not an image",
                       str(exc)[:200]) from None
    finally:
        image.close()


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        raise Rejected("bomb", str(exc)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Rejected(*_sniff(data, exc)) from None
    width, height = image.size
    if width < 1 or height < 1:
        raise Rejected("not an image", f"{width}x{height} pixels")
    if width * height > max_pixels:  # from the header; nothing decoded yet
        raise Rejected("bomb", f"{width}x{height} pixels is over images.max_pixels {max_pixels}")
    return image


def _sniff(data: bytes, exc: Exception) -> tuple[str, str]:
    """Name what the bytes are when Pillow will not open them."""
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "not an image", "an HTML page"
    if b"<svg" in data[:2048].lower():
        return "unsupported format", "SVG"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "unsupported format", data[8:12].decode()
    if data[:4] in (b"\x89PNG", b"GIF8") or data[:2] == b"\xff\xd8" or data[:4] == b"RIFF":
        return "truncated", str(exc)[:200]
    try:  # identified by header only; nothing is decoded
        with Image.open(io.BytesIO(data)) as other:
            return "unsupported format", other.format or "unknown"
    except Exception:  # noqa: BLE001 - any failure here just means "not an image"
        return "not an image", str(exc)[:200] or "unrecognised bytes"


def _process_still(image: Image.Image, params: ProcessParams) -> Processed:
    graphic = image.format in ("PNG", "GIF", "BMP") and image.mode in _GRAPHIC_MODES
    widths = output_widths(params, *_oriented_size(image))
    _draft(image, widths[-1])
    image.load()  # raises on truncated data
    icc = image.info.get("icc_profile")
    stages = [image]
    if image.getexif().get(0x0112, 1) != 1:
        stages.append(ImageOps.exif_transpose(image))
    stages.append(_normalise_mode(_to_srgb(stages[-1], icc)))
    main = _resize(stages[-1], widths[-1])
    for stage in stages:  # free the full-size pixels before encoding: less peak memory
        if stage is not main:
            stage.close()
    outputs = []
    for width in widths:  # the smaller ones are made from the main one: quicker, same look
        resized = _resize(main, width)
        outputs.append(Encoded(width, resized.height, "webp",
                               _encode(resized, params, graphic)))
    return Processed(False, tuple(outputs), _thumb_index(widths, params.thumb_width))


def _resize(image: Image.Image, width: int) -> Image.Image:
    if width == image.width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def _oriented_size(image: Image.Image) -> tuple[int, int]:
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _draft(image: Image.Image, width: int) -> None:
    """Let JPEG decode at a reduced scale when the result is still at least `width` wide."""
    if image.format not in ("JPEG", "MPO"):
        return
    scale = width / _oriented_size(image)[0]
    box = (round(image.width * scale), round(image.height * scale))
    image.draft(image.mode, box)


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: keep the pixels as they are


def _normalise_mode(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image really uses transparency."""
    if image.mode == "RGB":
        return image
    if image.has_transparency_data:
        image = image.convert("RGBA")
        if image.getchannel("A").getextrema() == (255, 255):
            return image.convert("RGB")  # an alpha channel with nothing transparent
        return image
    return image.convert("RGB")


def _encode(image: Image.Image, params: ProcessParams, graphic: bool) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=params.quality, method=params.effort)
    lossy = buffer.getvalue()
    if not graphic:
        return lossy
    # Diagrams and screenshots: lossless is often both smaller and sharper.
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", lossless=True, quality=60, method=params.effort)
    lossless = buffer.getvalue()
    return lossless if len(lossless) < len(lossy) else lossy


def _thumb_index(widths: tuple[int, ...], thumb_width: int) -> int:
    for index, width in enumerate(widths):
        if width >= thumb_width:
            return index
    return len(widths) - 1


def _process_animation(image: Image.Image, data: bytes, params: ProcessParams,
                       count: int) -> Processed:
    """Animated WebP at the main and thumbnail widths, or the original when that is smaller."""
    width, height = image.size
    image.load()  # the first frame: a broken file fails here
    original = Encoded(width, height, (image.format or "gif").lower(), data)
    if width * height * count > params.max_pixels * ANIMATION_BUDGET:
        # Too heavy to re-encode in memory; the original is within max_bytes, keep it.
        return Processed(True, (original,), 0)
    widths = output_widths(params, width, height)
    thumb_width = widths[_thumb_index(widths, params.thumb_width)]
    sizes = sorted({widths[-1], thumb_width})
    frames: dict[int, list[Image.Image]] = {w: [] for w in sizes}
    durations = []
    for frame in ImageSequence.Iterator(image):
        rgba = frame.convert("RGBA")
        durations.append(int(frame.info.get("duration", 100)) or 100)
        for w in sizes:
            frames[w].append(_resize(rgba, w))
    outputs = [_encode_animation(frames[w], durations, image.info.get("loop", 0), params)
               for w in sizes]
    if outputs[-1].width == width and len(data) < len(outputs[-1].data):
        outputs[-1] = original  # GIF can beat WebP on flat animations: keep the smaller
    return Processed(True, tuple(outputs), sizes.index(thumb_width))


def _encode_animation(frames: list[Image.Image], durations: list[int], loop: object,
                      params: ProcessParams) -> Encoded:
    buffer = io.BytesIO()
    first, *rest = frames
    first.save(buffer, "WEBP", save_all=True, append_images=rest, duration=durations,
               loop=int(loop) if isinstance(loop, int) else 0, quality=params.quality,
               method=params.effort)
    return Encoded(first.width, first.height, "webp", buffer.getvalue())
