"""Every image mobilekit reads goes through `mobilekit.data.image_io`: hostile and unusual files
are refused with one-line InputErrors naming the file (exit 2 from the CLI, no traceback), and
unusual-but-valid ones (16-bit, EXIF-rotated, palette, alpha, CMYK) are read as displayed.

Each image is generated here with Pillow; most cases call the loader, the click/focus parsers and
the output-path check as library functions, a few run `mobilekit predict` (which checks all of
this before loading any model, so no model is needed)."""
from __future__ import annotations

import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from conftest import run_cli
from mobilekit.core.errors import InputError
from mobilekit.data.image_io import (DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV, check_outputs, decode_image, load_photo,
                                     max_image_pixels, read_rgb8)

# --------------------------------------------------------------------------- helpers


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_declaring(width: int, height: int, bit_depth: int = 8, colour: int = 0, idat: bytes | None = None) -> bytes:
    """A PNG whose IHDR declares width×height; its (valid-CRC) IDAT holds only a few rows."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat or zlib.compress(b"\0" * 64))
            + _chunk(b"IEND", b""))


def _real_bomb(path: Path, side: int = 20_000) -> None:
    """A complete, valid 1-bit side×side PNG (all black), a few hundred kB on disk."""
    row = b"\0" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    path.write_bytes(_png_declaring(side, side, bit_depth=1, idat=idat))


def _rgb(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png(path: Path, array: np.ndarray | None = None) -> Path:
    Image.fromarray(_rgb() if array is None else array).save(path)
    return path


def _one_line_error(excinfo, path: Path) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and str(path) in message, message
    return message


@pytest.fixture(autouse=True)
def _no_limit_from_the_environment(monkeypatch):
    monkeypatch.delenv(MAX_PIXELS_ENV, raising=False)


# --------------------------------------------------------------------------- bit depths and modes


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    values = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 65535 // (48 * 64 - 1)).astype(np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode == "I;16"
    assert (np.asarray(Image.open(path).convert("RGB")) == 255).mean() > 0.99  # what the old reader did

    photo = load_photo(path)
    assert photo.bits == 16 and photo.pixels.dtype == np.float32 and photo.pixels.shape == (48, 64, 3)
    expected = values.astype(np.float64) / 65535.0
    assert np.abs(photo.as_float()[..., 0] - expected).max() < 1e-6
    assert np.array_equal(photo.pixels[..., 0], photo.pixels[..., 2])
    assert (photo.as_float() >= 0.999).mean() < 0.01  # not clipped to white
    assert np.abs(photo.as_uint8()[..., 0].astype(int) - np.rint(expected * 255)).max() == 0
    rgb8 = read_rgb8(path)  # dataset images: the same scaling, rounded to 8 bits
    assert rgb8.dtype == np.uint8 and rgb8.flags.writeable and np.array_equal(rgb8, photo.as_uint8())


def test_48_bit_rgb_png_is_scaled_not_clipped(tmp_path):
    """Pillow has no 16-bit RGB mode: it keeps each sample's high byte (value / 257, rounded down)."""
    samples = np.array([[[0x0000, 0x1234, 0xFFFF], [0x8000, 0x00FF, 0x0100]]], ">u2")
    raw = b"".join(b"\0" + row.tobytes() for row in samples)
    path = tmp_path / "rgb48.png"
    path.write_bytes(_png_declaring(2, 1, bit_depth=16, colour=2, idat=zlib.compress(raw)))
    photo = load_photo(path)
    assert photo.pixels.tolist() == [[[0x00, 0x12, 0xFF], [0x80, 0x00, 0x01]]]


def test_float_image_must_lie_in_0_1(tmp_path):
    good, bad = tmp_path / "good.tiff", tmp_path / "bad.tiff"
    Image.fromarray(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)).save(good)
    Image.fromarray(np.full((8, 8), 3.5, np.float32)).save(bad)
    photo = load_photo(good)
    assert photo.mode == "F" and abs(float(photo.as_float().max()) - 1.0) < 1e-6
    with pytest.raises(InputError, match=r"outside \[0, 1\].*max 3\.5") as err:
        load_photo(bad)
    _one_line_error(err, bad)


def test_greyscale_palette_alpha_and_cmyk(tmp_path):
    grey = np.arange(24 * 32, dtype=np.uint32).reshape(24, 32).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    assert np.array_equal(load_photo(tmp_path / "grey.png").pixels, np.repeat(grey[..., None], 3, axis=2))

    palette = Image.new("P", (4, 2), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.putpixel((1, 0), 1)
    palette.info["transparency"] = 0  # index 0 (black) is transparent
    palette.save(tmp_path / "palette.png")
    pixels = load_photo(tmp_path / "palette.png").pixels
    assert tuple(pixels[0, 1]) == (255, 0, 0) and tuple(pixels[0, 0]) == (255, 255, 255)

    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (0, 0, 0, 0)  # transparent black -> white
    rgba[0, 1] = (0, 0, 0, 128)  # half-transparent black -> mid grey
    rgba[0, 2] = (10, 200, 30, 255)  # opaque -> unchanged
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    pixels = load_photo(tmp_path / "rgba.png").pixels
    assert tuple(pixels[0, 0]) == (255, 255, 255) and tuple(pixels[0, 2]) == (10, 200, 30)
    assert tuple(pixels[0, 1]) == (127, 127, 127)

    Image.fromarray(np.array([[[0, 0], [40, 255]]], np.uint8).reshape(1, 2, 2), "LA").save(tmp_path / "la.png")
    assert load_photo(tmp_path / "la.png").pixels[0].tolist() == [[255, 255, 255], [40, 40, 40]]

    cmyk = Image.new("CMYK", (16, 16), (0, 0, 0, 0))
    cmyk.paste((255, 0, 0, 0), (0, 0, 8, 16))  # left half: full cyan
    cmyk.save(tmp_path / "cmyk.jpg", quality=95)
    photo = load_photo(tmp_path / "cmyk.jpg")
    assert photo.mode == "CMYK" and photo.pixels.shape == (16, 16, 3)
    assert np.abs(photo.pixels[8, 2].astype(int) - (0, 255, 255)).max() <= 8  # cyan
    assert np.abs(photo.pixels[8, 13].astype(int) - (255, 255, 255)).max() <= 8  # white paper


# --------------------------------------------------------------------------- EXIF orientation


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def test_exif_rotated_jpeg_is_read_as_displayed_and_clicks_follow(tmp_path):
    from mobilekit.families.depth.predict import parse_focus
    from mobilekit.families.segmentation.predict import parse_click

    stored = np.full((100, 200, 3), 128, np.uint8)  # 200 wide, 100 high as stored
    stored[:20, :20] = (255, 0, 0)  # red in the stored top-left corner
    path = tmp_path / "portrait.jpg"
    Image.fromarray(stored).save(path, exif=_exif(6), quality=95)

    photo = load_photo(path)
    assert photo.orientation == 6 and (photo.width, photo.height) == (100, 200)
    # orientation 6: rotate 90° clockwise to display, so the stored top-left is the displayed top-right
    assert photo.pixels[5, 95, 0] > 200 and photo.pixels[5, 95, 1] < 60 and photo.pixels[5, 5, 0] < 200
    assert np.array_equal(photo.pixels, np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB")))
    click = parse_click("50,150", photo.width, photo.height)  # y = 150 exists only after rotation
    assert (click.x, click.y) == (50, 150)
    with pytest.raises(InputError, match="outside the image"):
        parse_click("50,150", *Image.open(path).size)  # the stored orientation would refuse it
    assert parse_focus("99,199", photo.width, photo.height) == (199, 99)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(tmp_path, orientation):
    path = tmp_path / f"o{orientation}.png"
    Image.fromarray(_rgb(6, 10)).save(path, exif=_exif(orientation))
    photo = load_photo(path)
    assert photo.orientation == orientation
    assert np.array_equal(photo.pixels, np.asarray(ImageOps.exif_transpose(Image.open(path))))


def test_unreadable_exif_counts_as_no_orientation(tmp_path):
    path = tmp_path / "badexif.jpg"
    Image.fromarray(_rgb()).save(path, exif=b"Exif\0\0MM\0*\0\0\0\x08\xff\xff")  # IFD claims 65535 entries
    photo = load_photo(path)
    assert photo.orientation == 1 and photo.pixels.shape == (24, 32, 3)


# --------------------------------------------------------------------------- broken files


def _write_case(tmp_path: Path, kind: str) -> Path:
    good = _png(tmp_path / "good.png", _rgb(64, 64))
    data = good.read_bytes()
    path = tmp_path / f"{kind}.png"
    if kind == "missing":
        return path
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "random":
        path.write_bytes(np.random.default_rng(1).bytes(4096))
    elif kind == "bitflip":
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0x08  # inside IDAT
        path.write_bytes(bytes(flipped))
    elif kind == "header-only":
        path.write_bytes(data[:33])  # signature + IHDR, nothing else
    elif kind == "heic":
        path.write_bytes(b"\0\0\0\x18ftypheic" + b"\0" * 64)
    elif kind == "eps":  # Pillow would hand this to Ghostscript; mobilekit never opens it
        path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    return path


@pytest.mark.parametrize("kind, message", [
    ("missing", "not found"), ("directory", "is a directory"), ("empty", "empty file"),
    ("truncated", "truncated or corrupt PNG"), ("random", "not a readable image; accepted formats: PNG, JPEG"),
    ("bitflip", "truncated or corrupt PNG"), ("header-only", "truncated or corrupt PNG"),
    ("heic", "HEIF/HEIC"), ("eps", "not a readable image"),
])
def test_broken_files_are_input_errors_naming_the_file(tmp_path, kind, message):
    path = _write_case(tmp_path, kind)
    with pytest.raises(InputError) as err:
        load_photo(path, "--image")
    text = _one_line_error(err, path)
    assert text.startswith(f"--image {path}") and message in text, text


def test_every_single_bit_flip_of_a_png_is_refused(tmp_path):
    """PNG chunk CRCs are verified before decoding, so no flipped bit in the signature, header or
    pixel data goes unnoticed; one in the trailing IEND chunk's length or CRC may pass, with the
    pixels untouched."""
    original = _rgb(4, 5)
    data = _png(tmp_path / "small.png", original).read_bytes()
    iend = data.rindex(b"IEND") - 4
    path = tmp_path / "flipped.png"
    accepted = 0
    for index in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[index] ^= 1 << bit
            path.write_bytes(bytes(flipped))
            if index < iend:
                with pytest.raises(InputError):
                    load_photo(path)
                continue
            try:
                pixels = load_photo(path).pixels
            except InputError:
                continue
            assert np.array_equal(pixels, original)
            accepted += 1
    assert accepted <= 8 * 8  # at most the IEND length and CRC bytes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.integers(min_value=0), bit=st.integers(0, 7), fmt=st.sampled_from(["JPEG", "WEBP", "GIF", "BMP", "TIFF"]))
def test_bit_flips_in_other_formats_never_escape_as_other_errors(tmp_path, index, bit, fmt):
    path = tmp_path / f"x.{fmt.lower()}"
    Image.fromarray(_rgb(16, 16)).save(path, format=fmt)
    data = bytearray(path.read_bytes())
    data[index % len(data)] ^= 1 << bit
    path.write_bytes(bytes(data))
    try:
        photo = load_photo(path)  # formats without checksums may decode to other pixels: still an image
    except InputError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
    else:
        assert photo.pixels.ndim == 3 and photo.pixels.shape[2] == 3


# --------------------------------------------------------------------------- pixel limit


def test_a_header_declaring_20000_squared_is_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_declaring(20_000, 20_000))
    assert path.stat().st_size < 200
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError) as err:
            load_photo(path)
    text = _one_line_error(err, path)
    assert "20000×20000 pixels (400 MP)" in text and "limit of 100000000 pixels (100 MP)" in text
    assert MAX_PIXELS_ENV in text


def test_a_real_decompression_bomb_never_reaches_pillows_own_error(tmp_path):
    path = tmp_path / "bomb.png"
    _real_bomb(path)
    with pytest.raises(Image.DecompressionBombError):  # what Pillow alone does with it
        Image.open(path)
    saved = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match=r"20000×20000 pixels \(400 MP\) is over the limit of 100000000 pixels"):
            load_photo(path)
        with pytest.raises(InputError, match="over the"):
            decode_image(path, "mask", lossless=True)
    assert Image.MAX_IMAGE_PIXELS == saved


def test_pillows_limit_is_replaced_not_stacked(tmp_path, monkeypatch):
    """A stricter Pillow setting elsewhere in the process neither warns nor refuses our images,
    and our limit (argument or environment) is what counts."""
    path = _png(tmp_path / "p.png", _rgb(64, 64))  # 4096 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow alone: DecompressionBombError
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_photo(path).pixels.shape == (64, 64, 3)
        assert Image.MAX_IMAGE_PIXELS == 1000
        with pytest.raises(InputError, match=r"64×64 pixels \(0\.0041 MP\) is over the limit of 4095 pixels"):
            load_photo(path, max_pixels=4095)
        assert load_photo(path, max_pixels=4096).width == 64
        monkeypatch.setenv(MAX_PIXELS_ENV, "4000")
        with pytest.raises(InputError, match="limit of 4000 pixels"):
            load_photo(path)


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "1.5e8"])
def test_a_bad_limit_in_the_environment_is_named(monkeypatch, raw):
    monkeypatch.setenv(MAX_PIXELS_ENV, raw)
    with pytest.raises(InputError, match=f"{MAX_PIXELS_ENV}=.*positive whole number"):
        max_image_pixels()


def test_limit_default_and_environment(monkeypatch):
    assert max_image_pixels() == DEFAULT_MAX_PIXELS == 100_000_000
    monkeypatch.setenv(MAX_PIXELS_ENV, "250_000_000")
    assert max_image_pixels() == 250_000_000 and max_image_pixels(7) == 7


# --------------------------------------------------------------------------- masks and depth maps


def test_masks_and_depth_must_be_lossless_and_keep_their_values(tmp_path):
    from mobilekit.families.depth.folders import read_depth
    from mobilekit.families.segmentation.folders import read_instance_mask

    jpeg_named_png = tmp_path / "mask.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(jpeg_named_png, format="JPEG")
    with pytest.raises(InputError, match=r"mask .*mask\.png: is a JPEG file; mask files must be lossless: PNG"):
        read_instance_mask(jpeg_named_png)

    mm = np.array([[1, 255, 256, 12345], [40000, 65535, 0, 7]], np.uint16)
    depth_png = tmp_path / "depth.png"
    Image.fromarray(mm).save(depth_png)
    decoded = decode_image(depth_png, "depth", lossless=True)
    assert decoded.mode == "I;16" and np.array_equal(np.asarray(decoded.image), mm)
    metres, valid = read_depth(depth_png)
    assert np.allclose(metres[valid], mm[mm > 0] / 1000.0) and not valid[1, 2]

    ids = np.zeros((6, 4), np.uint16)
    ids[1:3, 1:3], ids[4:, :] = 300, 1000  # 16-bit instance ids survive
    mask16 = tmp_path / "ids16.png"
    Image.fromarray(ids).save(mask16)
    assert sorted(np.unique(read_instance_mask(mask16)).tolist()) == [0, 300, 1000]

    truncated = tmp_path / "cut.png"
    truncated.write_bytes(depth_png.read_bytes()[:40])
    with pytest.raises(InputError, match=r"depth .*cut\.png: truncated or corrupt PNG"):
        read_depth(truncated)


def test_folder_images_and_masks_pair_in_displayed_orientation(tmp_path):
    from mobilekit.families.segmentation.folders import load_folder_samples

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    stored = _rgb(10, 20)  # 20 wide, 10 high as stored; displayed 10 wide, 20 high
    Image.fromarray(stored).save(tmp_path / "images" / "a.png", exif=_exif(8))
    mask = np.zeros((20, 10), np.uint8)  # drawn on the displayed image
    mask[2:6, 3:7] = 255
    Image.fromarray(mask).save(tmp_path / "masks" / "a.png")
    (sample,) = list(load_folder_samples(tmp_path))
    assert sample.image.shape == (20, 10, 3) and sample.target.sum() == 16
    assert np.array_equal(sample.image, np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "images" / "a.png"))))

    Image.fromarray(np.zeros((10, 20), np.uint8) + 255).save(tmp_path / "masks" / "a.png")  # stored orientation
    with pytest.raises(InputError, match="after its EXIF orientation 8"):
        list(load_folder_samples(tmp_path))


# --------------------------------------------------------------------------- click and focus parsers


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40), width=st.integers(1, 5000), height=st.integers(1, 5000))
def test_click_parser_accepts_only_in_image_points_and_never_crashes(text, width, height):
    from mobilekit.families.segmentation.predict import parse_click

    try:
        click = parse_click(text, width, height)
    except InputError as exc:
        assert "\n" not in str(exc) and ("malformed click" in str(exc) or "outside the image" in str(exc))
    else:
        assert 0 <= click.x < width and 0 <= click.y < height


@settings(max_examples=200, deadline=None)
@given(x=st.integers(0, 10**30), y=st.integers(0, 10**30), sign=st.sampled_from(["", ",+", ",-", " , - "]),
       pad=st.sampled_from(["", " ", "\t"]), width=st.integers(1, 4000), height=st.integers(1, 4000))
def test_well_formed_clicks_round_trip_or_are_outside(x, y, sign, pad, width, height):
    from mobilekit.families.segmentation.predict import parse_click

    text = f"{pad}{x}{pad},{pad}{y}{sign}{pad}"
    if x < width and y < height:
        click = parse_click(text, width, height)
        assert (click.x, click.y, click.positive) == (x, y, "-" not in sign)
    else:
        with pytest.raises(InputError, match="outside the image"):
            parse_click(text, width, height)


@pytest.mark.parametrize("text", ["1" * 5000 + ",2", "٣,4", "３,4", "1,2,+,", "1e3,2", "0x10,2", "1,2\n3"])
def test_odd_click_texts_are_refused_in_one_line(text):
    from mobilekit.families.depth.predict import parse_focus
    from mobilekit.families.segmentation.predict import parse_click

    for parse in (parse_click, lambda t, w, h: parse_focus(t.replace(",+", ""), w, h)):
        with pytest.raises(InputError) as err:
            parse(text, 100, 100)
        assert "\n" not in str(err.value) and len(str(err.value)) < 300


# --------------------------------------------------------------------------- output paths


def test_output_path_rules(tmp_path):
    photo = _png(tmp_path / "photo.png")
    inputs = {"--image": photo}

    def refused(out, match, outputs=None):
        with pytest.raises(InputError, match=match) as err:
            check_outputs(outputs or [("--out", out)], inputs)
        assert "\n" not in str(err.value)

    (tmp_path / "folder").mkdir()
    refused(tmp_path / "folder", r"--out .*folder: is a directory; give a file name ending in \.png")
    refused(tmp_path / "mask", r"--out .*mask: the file name has no extension; accepted: \.png")
    refused(tmp_path / "mask.jpg", r"unsupported extension '\.jpg'; accepted: \.png")
    refused(photo, r"is the same file as --image")
    refused(tmp_path / "." / "sub" / ".." / "photo.png", "same file as --image")
    os.symlink(photo, tmp_path / "link.png")
    refused(tmp_path / "link.png", "same file as --image")
    os.link(photo, tmp_path / "hard.png")
    refused(tmp_path / "hard.png", "same file as --image")
    refused(None, r"--bokeh .*same file as --out", [("--out", tmp_path / "a.png"), ("--bokeh", tmp_path / "a.png")])
    (tmp_path / "plain").write_text("x")
    refused(tmp_path / "plain" / "m.png", "is a file, not a folder")
    refused(tmp_path / "plain" / "deeper" / "m.png", "is a file, not a folder")

    check_outputs([("--out", tmp_path / "new" / "nested" / "m.PNG")], inputs)  # created when written
    assert not (tmp_path / "new").exists()  # ... not by the check
    check_outputs([("--out", tmp_path / "existing.png")], inputs)


# --------------------------------------------------------------------------- the CLI (no model needed)


def _cli_refuses(*args: str, expect: str) -> str:
    done = run_cli("predict", *args, timeout=120)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr and len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert expect in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("kind", ["truncated", "random", "bitflip", "empty", "huge"])
def test_cli_refuses_broken_photos_in_one_line(tmp_path, kind):
    if kind == "huge":
        path = tmp_path / "huge.png"
        path.write_bytes(_png_declaring(20_000, 20_000))
        expect = "20000×20000"
    else:
        path, expect = _write_case(tmp_path, kind), str(tmp_path / f"{kind}.png")
    _cli_refuses("segmentation", "--model", str(tmp_path / "missing.keras"), "--image", str(path), "--click", "1,1",
                 "--out", str(tmp_path / "m.png"), expect=expect)
    assert not (tmp_path / "m.png").exists()


def test_cli_refuses_bad_out_before_touching_anything(tmp_path):
    photo = _png(tmp_path / "photo.png")
    before = photo.read_bytes()
    model = str(tmp_path / "missing.keras")
    _cli_refuses("segmentation", "--model", model, "--image", str(photo), "--click", "1,1", "--out", str(photo),
                 expect="is the same file as --image")
    _cli_refuses("segmentation", "--model", model, "--image", str(photo), "--click", "1,1", "--out", str(tmp_path),
                 expect="is a directory")
    _cli_refuses("depth", "--model", model, "--image", str(photo), "--out", str(tmp_path / "depth"),
                 expect="no extension; accepted: .png")
    _cli_refuses("depth", "--model", model, "--image", str(photo), "--out", str(tmp_path / "d.png"),
                 "--focus", "1,1", "--bokeh", str(photo), expect="--bokeh")
    assert photo.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]
