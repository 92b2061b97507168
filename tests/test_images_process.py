"""Pillow processing: orientation, metadata, sizes, transparency, animation, rejection."""
from __future__ import annotations

import io
import struct

import pytest
from imageserver import encode, gradient, make_images
from PIL import Image

from sitegen.images.process import ProcessParams, Rejected, process_image

PARAMS = ProcessParams(widths=(480, 960, 1600), max_width=1600, thumb_width=480, quality=80,
                       max_pixels=50_000_000)
IMAGES = make_images()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_large_photo_becomes_webp_at_each_width_never_upscaled():
    result = process_image(IMAGES["photo.jpg"], PARAMS)
    assert [(o.width, o.height, o.ext) for o in result.outputs] == [
        (480, 240, "webp"), (960, 480, "webp"), (1600, 800, "webp")]
    for output in result.outputs:
        assert opened(output.data).size == (output.width, output.height)
    assert result.outputs[result.thumb].width == 480
    assert sum(len(o.data) for o in result.outputs) < len(IMAGES["photo.jpg"])


def test_small_image_is_not_upscaled():
    result = process_image(IMAGES["small.png"], PARAMS)
    assert [(o.width, o.height) for o in result.outputs] == [(300, 200)]
    assert result.thumb == 0


def test_very_tall_image_fits_webp_limits():
    data = encode(gradient(1000, 40000, seed=6), "JPEG")  # a long infographic
    main = process_image(data, PARAMS).outputs[-1]
    assert main.height <= 16383 and main.width == 409
    assert opened(main.data).size == (main.width, main.height)


def test_exif_orientation_is_applied_and_metadata_stripped():
    [output] = process_image(IMAGES["exif.jpg"], PARAMS).outputs
    image = opened(output.data)
    assert image.size == (200, 400)  # stored 400x200, orientation 6
    assert not image.getexif()
    assert "exif" not in image.info and "icc_profile" not in image.info and "xmp" not in image.info


def test_orientation_survives_jpeg_draft_decoding():
    exif = Image.Exif()
    exif[0x0112] = 8
    data = encode(gradient(4000, 2000, seed=5), "JPEG", exif=exif.tobytes())
    result = process_image(data, PARAMS)
    assert [(o.width, o.height) for o in result.outputs] == [(480, 960), (960, 1920),
                                                             (1600, 3200)]


def test_transparency_is_kept():
    result = process_image(IMAGES["alpha.png"], PARAMS)
    image = opened(result.outputs[-1].data)
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0  # the corner stays transparent
    assert image.getpixel((400, 300))[3] == 255


def test_opaque_alpha_channel_is_dropped():
    data = encode(gradient(100, 100, seed=9).convert("RGBA"), "PNG")
    assert opened(process_image(data, PARAMS).outputs[0].data).mode == "RGB"


def test_animated_gif_stays_animated():
    big = [gradient(800, 400, seed=s) for s in range(4)]
    data = encode(big[0], "GIF", save_all=True, append_images=big[1:], duration=80, loop=0)
    result = process_image(data, PARAMS)
    assert result.animated
    assert [o.width for o in result.outputs] == [480, 800]
    for output in result.outputs:
        image = Image.open(io.BytesIO(output.data))
        assert getattr(image, "n_frames", 1) == 4


def test_small_flat_animation_may_keep_the_original_when_smaller():
    result = process_image(IMAGES["anim.gif"], PARAMS)
    [output] = result.outputs
    image = Image.open(io.BytesIO(output.data))
    assert image.n_frames == 3 and image.size == (200, 100)
    assert output.ext in ("webp", "gif")
    if output.ext == "gif":
        assert output.data == IMAGES["anim.gif"]


def swapped_rgb_profile() -> bytes:
    """A minimal ICC v2 RGB profile whose red and blue primaries are swapped."""
    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + struct.pack(">3i", *(round(v * 65536) for v in (x, y, z)))

    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233) + b"\0\0"  # gamma 2.2
    text = b"swapped"
    tags = [
        (b"desc", b"desc\0\0\0\0" + struct.pack(">I", len(text) + 1) + text + b"\0"
         + b"\0" * 8 + b"\0" * 3 + b"\0" * 67),
        (b"cprt", b"text\0\0\0\0" + b"none\0"),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.1431, 0.0606, 0.7141)),  # sRGB's blue
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red
        (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntr"
              + b"RGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 24 + b"\0" * 4
              + struct.pack(">3i", *(round(v * 65536) for v in (0.9642, 1.0, 0.8249))))
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


def test_colour_profile_is_applied_then_dropped():
    # Pixels stored as "red" in a profile whose red primary is sRGB blue must come out blue.
    data = encode(Image.new("RGB", (64, 64), (220, 20, 20)), "PNG",
                  icc_profile=swapped_rgb_profile())
    image = opened(process_image(data, PARAMS).outputs[0].data)
    assert "icc_profile" not in image.info
    red, _, blue = image.getpixel((32, 32))
    assert blue > 150 and red < 100


@pytest.mark.parametrize(("name", "reason"), [
    ("page.html", "not an image"), ("icon.svg", "unsupported format"),
    ("truncated.jpg", "truncated"), ("bomb.png", "bomb")])
def test_bad_inputs_are_rejected_with_a_reason(name, reason):
    with pytest.raises(Rejected) as info:
        process_image(IMAGES[name], PARAMS)
    assert info.value.reason == reason


def test_pixel_limit_is_configurable():
    with pytest.raises(Rejected) as info:
        process_image(IMAGES["photo.jpg"], ProcessParams((480,), 1600, 480, 80, 1_000_000))
    assert info.value.reason == "bomb"


def test_unsupported_format_is_rejected():
    data = encode(gradient(20, 20, seed=1), "PPM")  # Pillow reads it, the web does not
    with pytest.raises(Rejected) as info:
        process_image(data, PARAMS)
    assert (info.value.reason, info.value.detail) == ("unsupported format", "PPM")


def test_rejection_survives_a_worker_process_boundary():
    import pickle

    error = pickle.loads(pickle.dumps(Rejected("bomb", "9x9")))
    assert (error.reason, error.detail) == ("bomb", "9x9")
