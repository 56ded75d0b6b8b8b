"""The one place mobilekit reads and writes image files: users' photos for `predict`, and the
images, masks and depth maps of folder datasets.

Reading (`load_photo`, `read_rgb8`, `decode_image`) validates a file before its pixels are used:

- missing, a directory, empty, not an image in an accepted format, truncated or corrupt (PNG
  chunk checksums are verified before decoding) → `InputError` naming the file and what is wrong;
- the size declared in the header is checked against a pixel limit *before* anything is decoded
  (`max_image_pixels`: an argument, else `MOBILEKIT_MAX_IMAGE_PIXELS`, else 100 MP). Pillow's own
  decompression-bomb check is replaced by this one while mobilekit decodes, so its
  `DecompressionBombError` / `DecompressionBombWarning` never reach the user;
- the EXIF orientation is applied, so pixel coordinates (clicks, taps) are those of the image as
  a viewer displays it; an unreadable EXIF block counts as "no orientation", as in viewers;
- conversion to RGB is exact for what the file holds: 16-bit samples (`I;16`, `I`) are scaled by
  65535 (not clipped at 255), float images (`F`) must already lie in [0, 1], greyscale and
  palettes are expanded, transparency (RGBA, LA, PA, palettes or greyscale/RGB with a `tRNS`
  colour) is composited on white, CMYK goes through Pillow's conversion (Adobe-inverted JPEGs
  included; embedded ICC profiles are not applied);
- masks and depth maps (`decode_image(..., lossless=True)`) must be PNG and keep their stored
  values (a 16-bit millimetre depth PNG stays 16-bit).

Writing (`check_outputs`, `write_png`): output paths are checked before any model work (an
accepted extension, not a directory, not an input, distinct from each other, a parent that exists
or can be created) and files are written beside their destination and renamed into place.
"""
from __future__ import annotations

import contextlib
import io
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.core.fsio import write_bytes_atomic

MAX_PIXELS_ENV = "MOBILEKIT_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 100_000_000
#: Pillow decoders a photo may be opened with (identified by content, not by file name); JPEG
#: includes multi-picture JPEGs (MPO, as phones write). Others (EPS, which runs Ghostscript, PSD,
#: ICO, ...) are refused without being handed to their decoders.
PHOTO_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WEBP", "GIF")
_DECODER = {"MPO": "JPEG"}  # the Pillow format an image reports -> the decoder that opens it
#: Masks and depth maps: lossless only.
LOSSLESS_FORMATS = ("PNG",)
_FORMAT_NAMES = {"JPEG": "JPEG", "MPO": "JPEG (MPO)", "WEBP": "WebP", "PNG": "PNG", "TIFF": "TIFF", "BMP": "BMP",
                 "GIF": "GIF"}
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
_ORIENTATION_TAG = 0x0112
_PILLOW_STATE = threading.Lock()  # Image.MAX_IMAGE_PIXELS is process-global


def max_image_pixels(limit: int | None = None) -> int:
    """The pixel limit: `limit` when given, else `MOBILEKIT_MAX_IMAGE_PIXELS`, else 100 MP."""
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InputError(f"max_pixels must be a positive whole number of pixels, got {limit!r}")
        return limit
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"{MAX_PIXELS_ENV}={raw!r}: expected a positive whole number of pixels "
                         f"(default {DEFAULT_MAX_PIXELS}, i.e. {_mp(DEFAULT_MAX_PIXELS)})")
    return value


def _mp(pixels: int) -> str:
    return f"{pixels / 1e6:.3g} MP"


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@dataclass(frozen=True)
class Decoded:
    """A fully decoded image in its displayed orientation (the file is closed)."""

    image: "PIL.Image.Image"  # noqa: F821  (Pillow is imported lazily)
    format: str
    orientation: int  # the EXIF orientation that was applied; 1 = none
    stored_size: tuple[int, int]  # (width, height) as stored, before the orientation
    sample_bits: int | None = None  # bits per sample the file declares (TIFF), when it does

    @property
    def mode(self) -> str:
        return self.image.mode


def _check_file(path: Path, what: str) -> None:
    try:
        st = path.stat()
    except ValueError as exc:  # e.g. an embedded NUL byte
        raise InputError(f"{what} {path!r}: not a usable file name ({_one_line(exc)})") from None
    except FileNotFoundError:
        raise InputError(f"{what} {path}: not found") from None
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot be read ({_one_line(exc.strerror or exc)})") from None
    if path.is_dir():
        raise InputError(f"{what} {path}: is a directory, not an image file")
    if not path.is_file():
        raise InputError(f"{what} {path}: not a regular file")
    if st.st_size == 0:
        raise InputError(f"{what} {path}: empty file (0 bytes), not an image")


_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP"),
               (b"II*\0", "TIFF"), (b"MM\0*", "TIFF"))


def _unrecognised(path: Path, what: str, formats: Sequence[str]) -> InputError:
    """Pillow could not identify the file: a known signature means a damaged file of that format."""
    accepted = ", ".join(dict.fromkeys(_FORMAT_NAMES.get(f, f) for f in formats))
    head = b""
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        head = handle.read(16)
    known = next((name for magic, name in _SIGNATURES if head.startswith(magic)), None)
    if known is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        known = "WebP"
    if known is not None:
        return InputError(f"{what} {path}: truncated or corrupt {known} file (its header cannot be read); "
                          f"re-export or re-download it")
    hint = " (a HEIF/HEIC/AVIF container: export it as JPEG or PNG)" if head[4:8] == b"ftyp" else ""
    return InputError(f"{what} {path}: not a readable image{hint}; accepted formats: {accepted}")


@contextlib.contextmanager
def _pillow_decoding(limit: int) -> Iterator[None]:
    """Pillow's global bomb limit and truncated-image switch, held while mobilekit decodes. The
    header check is ours (with the size in the message); decode-time checks (e.g. GIF frames)
    run at our limit and are turned into InputError by the caller."""
    from PIL import Image, ImageFile

    with _PILLOW_STATE, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. "Corrupt EXIF data": handled (no orientation)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        saved = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
        Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = limit, False
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved


def _open_header(path: Path, what: str, formats: Sequence[str]):
    from PIL import Image, UnidentifiedImageError

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # Image.open checks the size itself; ours follows, with the size
    try:
        return Image.open(path, formats=list(formats))
    except UnidentifiedImageError:
        raise _unrecognised(path, what, formats) from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _orientation(im) -> int:
    try:
        value = int(im.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # noqa: BLE001  malformed EXIF: viewers ignore it, so do we
        return 1
    return value if 1 <= value <= 8 else 1


def _transposed(im, orientation: int):
    from PIL import Image

    method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}.get(orientation)
    return im.transpose(method) if method is not None else im.copy()


def _sample_bits(im, fmt: str) -> int | None:
    """Bits per sample a TIFF declares (tag 258); None elsewhere."""
    if fmt != "TIFF":
        return None
    with contextlib.suppress(Exception):
        bits = im.tag_v2.get(258)
        return int(bits[0] if isinstance(bits, tuple) else bits)
    return None


def decode_image(path: Path | str, what: str = "image", *, lossless: bool = False,
                 max_pixels: int | None = None) -> Decoded:
    """Open, check and fully decode one image file (see the module docstring). `what` names the
    field or role in messages (`--image`, `mask`, `depth`). `lossless`: only PNG is accepted and
    the stored values are kept as they are (masks, depth maps)."""
    from PIL import Image

    path = Path(path)
    limit = max_image_pixels(max_pixels)
    _check_file(path, what)
    fmt, width, height = "image", 0, 0
    try:
        with _pillow_decoding(limit):
            with _open_header(path, what, PHOTO_FORMATS) as im:
                fmt = im.format or "image"
                width, height = im.size
                if lossless and fmt not in LOSSLESS_FORMATS:
                    raise InputError(f"{what} {path}: is a {_FORMAT_NAMES.get(fmt, fmt)} file; {what} files must be "
                                     f"lossless: {', '.join(LOSSLESS_FORMATS)}")
                if width < 1 or height < 1:
                    raise InputError(f"{what} {path}: declares an empty image ({width}×{height} pixels)")
                if width * height > limit:
                    raise InputError(f"{what} {path}: {width}×{height} pixels ({_mp(width * height)}) is over the "
                                     f"limit of {limit} pixels ({_mp(limit)}); downscale it, or raise the limit "
                                     f"with {MAX_PIXELS_ENV}")
                im.verify()  # PNG: every chunk's CRC, before any pixel is decompressed
            with Image.open(path, formats=[_DECODER.get(fmt, fmt)]) as im:
                im.load()
                if im.size != (width, height):
                    raise InputError(f"{what} {path}: decoded size {im.size[0]}×{im.size[1]} differs from the "
                                     f"header's {width}×{height}")
                orientation = _orientation(im)
                bits = _sample_bits(im, fmt)
                image = _transposed(im, orientation)
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"{what} {path}: decodes to more than the limit of {limit} pixels ({_one_line(exc)}); "
                         f"raise it with {MAX_PIXELS_ENV}") from None
    except MemoryError:
        raise InputError(f"{what} {path}: not enough memory to decode a {width}×{height} image") from None
    except FileNotFoundError:
        raise InputError(f"{what} {path}: not found") from None
    except PermissionError as exc:
        raise InputError(f"{what} {path}: cannot be read ({_one_line(exc.strerror or exc)})") from None
    except Exception as exc:  # noqa: BLE001  any decoder failure on an untrusted file is bad input, not a crash
        name = _FORMAT_NAMES.get(fmt, fmt)
        raise InputError(f"{what} {path}: truncated or corrupt {name} file "
                         f"({_one_line(exc) or type(exc).__name__}); re-export or re-download it") from None
    return Decoded(image, fmt, orientation, (width, height), bits)


# --------------------------------------------------------------------------- photos


@dataclass(frozen=True)
class Photo:
    """A photo as RGB in its displayed orientation. `pixels` is uint8 for 8-bit files and float32
    in [0, 1] for deeper ones (16-bit, float), so nothing is lost before resizing."""

    path: Path
    pixels: np.ndarray
    mode: str  # the file's Pillow mode
    format: str
    bits: int  # bits per sample in the file
    orientation: int  # EXIF orientation applied; 1 = none

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def as_float(self) -> np.ndarray:
        """float32 (H, W, 3) in [0, 1]."""
        if self.pixels.dtype == np.uint8:
            return self.pixels.astype(np.float32) / 255.0
        return self.pixels

    def as_uint8(self) -> np.ndarray:
        """uint8 (H, W, 3), for display and 8-bit outputs (rounded, never clipped)."""
        if self.pixels.dtype == np.uint8:
            return self.pixels
        return np.rint(self.pixels * 255.0).astype(np.uint8)


def _has_alpha(im) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode in ("P", "L", "RGB") and "transparency" in im.info)


def _on_white(rgba: np.ndarray) -> np.ndarray:
    """uint8 RGBA → uint8 RGB composited on white."""
    alpha = rgba[..., 3:].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32)
    return np.rint(rgb * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def _integer_bits(decoded: Decoded) -> int:
    """Bits per sample of a 32-bit-integer (`I`) image: PNG stores at most 16; a TIFF says."""
    if decoded.format == "TIFF":
        return decoded.sample_bits if decoded.sample_bits in (8, 16, 32) else 32
    return 16


def _rgb(decoded: Decoded, path: Path, what: str) -> tuple[np.ndarray, int]:
    """(pixels, bits): uint8 RGB for 8-bit content, float32 RGB in [0, 1] for deeper content."""
    im = decoded.image
    mode = im.mode
    if mode in _SIXTEEN_BIT or mode == "I":
        values = np.asarray(im).astype(np.float64)
        bits = 16 if mode in _SIXTEEN_BIT else _integer_bits(decoded)
        if values.size and values.min() < 0:
            raise InputError(f"{what} {path}: signed {bits}-bit image with negative samples; accepted: unsigned "
                             f"8/16-bit samples or float in [0, 1]")
        grey = (values / float(2 ** bits - 1)).astype(np.float32)
        return np.repeat(grey[..., None], 3, axis=2), bits
    if mode == "F":
        values = np.asarray(im, np.float32)
        finite = np.isfinite(values)
        lo, hi = (float(values[finite].min()), float(values[finite].max())) if finite.any() else (float("nan"),) * 2
        if not finite.all() or lo < 0.0 or hi > 1.0:
            raise InputError(f"{what} {path}: float image with samples outside [0, 1] (min {lo:g}, max {hi:g}"
                             f"{', non-finite values' if not finite.all() else ''}); accepted: float samples in "
                             f"[0, 1], or 8/16-bit integers")
        return np.repeat(values[..., None], 3, axis=2), 32
    if _has_alpha(im):
        return _on_white(np.asarray(im.convert("RGBA"))), 8
    if mode == "RGB":
        return np.asarray(im), 8
    return np.asarray(im.convert("RGB")), 8  # 1, L, P, CMYK (Adobe-inverted handled by the JPEG plugin), YCbCr, LAB, HSV


def load_photo(path: Path | str, what: str = "--image", *, max_pixels: int | None = None) -> Photo:
    """A user's photo, checked and decoded (see the module docstring)."""
    path = Path(path)
    decoded = decode_image(path, what, max_pixels=max_pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pillow's advice to convert palette transparency: done
        pixels, bits = _rgb(decoded, path, what)
    pixels.setflags(write=False)
    return Photo(path, pixels, decoded.mode, decoded.format, bits, decoded.orientation)


def read_rgb8(path: Path | str, what: str = "image", *, max_pixels: int | None = None) -> np.ndarray:
    """uint8 RGB (H, W, 3) in displayed orientation, by the same rules as `load_photo` (16-bit
    samples are rounded to 8 bits, not clipped). A fresh, writable array."""
    return np.array(load_photo(path, what, max_pixels=max_pixels).as_uint8(), dtype=np.uint8)


def resize_rgb(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """float32 (height, width, 3) in [0, 1], bilinear (Pillow's, antialiased when shrinking).
    uint8 input is resized as 8-bit RGB (what training does); float input channel by channel in
    32-bit float, so 16-bit precision survives."""
    from PIL import Image

    if pixels.dtype == np.uint8:
        return np.asarray(Image.fromarray(np.ascontiguousarray(pixels)).resize((width, height), Image.BILINEAR), np.float32) / 255.0
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(pixels[..., c], np.float32))
                           .resize((width, height), Image.BILINEAR), np.float32) for c in range(pixels.shape[2])]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0)


# --------------------------------------------------------------------------- outputs


def _real(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))


def _same_file(a: Path, b: Path) -> bool:
    if _real(a) == _real(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_parent(flag: str, path: Path) -> None:
    ancestor = Path(os.path.abspath(path)).parent
    while not ancestor.exists():
        if ancestor.is_symlink():  # a dangling link: mkdir would fail
            raise InputError(f"{flag} {path}: its folder {ancestor} is a broken symbolic link")
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{flag} {path}: {ancestor} is a file, not a folder; give a path inside a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {path}: cannot write in {ancestor} (permission denied)")


def check_outputs(outputs: Iterable[tuple[str, Path]], inputs: Mapping[str, Path],
                  suffixes: Sequence[str] = (".png",), accepted: str = "a lossless PNG") -> None:
    """Refuse, before any model work, output paths that are directories, lack an accepted
    extension, are (or are the same file as) an input, collide with each other, or have no
    creatable parent folder. `outputs`: (field, path), e.g. ("--out", mask) or
    ("--out's overlay", overlay); `inputs`: field → path."""
    seen: list[tuple[str, Path]] = []
    wanted = " or ".join(suffixes)
    for flag, path in outputs:
        path = Path(path)
        if path.is_dir():
            raise InputError(f"{flag} {path}: is a directory; give a file name ending in {wanted} ({accepted})")
        suffix = path.suffix.lower()
        if not suffix:
            raise InputError(f"{flag} {path}: the file name has no extension; accepted: {wanted} ({accepted})")
        if suffix not in suffixes:
            raise InputError(f"{flag} {path}: unsupported extension {path.suffix!r}; accepted: {wanted} ({accepted})")
        if path.exists() and not path.is_file():
            raise InputError(f"{flag} {path}: exists and is not a regular file; give a file name ending in {wanted}")
        for name, source in inputs.items():
            if source is not None and _same_file(path, Path(source)):
                raise InputError(f"{flag} {path}: is the same file as {name} {source}; it would be overwritten; "
                                 f"give another file name")
        for other_flag, other in seen:
            if _same_file(path, other):
                raise InputError(f"{flag} {path}: is the same file as {other_flag} {other}; give distinct file names")
        _check_parent(flag, path)
        seen.append((flag, path))


def png_bytes(array: np.ndarray) -> bytes:
    """PNG encoding of uint8 (H, W) greyscale / (H, W, 3) RGB, or uint16 (H, W) greyscale."""
    from PIL import Image

    if not ((array.dtype == np.uint8 and (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)))
            or (array.dtype == np.uint16 and array.ndim == 2)):
        raise TypeError(f"png_bytes takes uint8 (H, W) / (H, W, 3) or uint16 (H, W), got {array.dtype} {array.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(path: Path, array: np.ndarray) -> Path:
    """Encode, then write beside `path` and rename into place (creates the parent folder), so an
    interrupted write never leaves a half-written file where a good one was."""
    path = Path(path)
    write_bytes_atomic(path, png_bytes(array))
    return path
