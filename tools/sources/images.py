"""Images: checked by decoding them fully with Pillow; any text in them read by OCR when tesseract is there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tools.sources.limits import SourceError
from tools.sources.pdf import ocr_available, ocr_image

_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_SUFFIX_FORMAT = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_SHORT_OCR = 300  # characters of OCR text quoted in the notes; longer text is only stored


@dataclass(frozen=True)
class ImageInfo:
    media_type: str
    width: int
    height: int
    ocr_text: str
    notes: list[str]


def read_image(path: Path, name: str, suffix: str) -> ImageInfo:
    from PIL import Image, UnidentifiedImageError, features

    if suffix == ".webp" and not features.check("webp"):
        raise SourceError(f"{name} is a WebP image and this installation's Pillow cannot read WebP: "
                          "convert it to PNG and attach it again.")
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            image.load()  # verify() does not decode the pixels: a truncated file fails only here
            image_format, size = image.format or "", image.size
            ocr = _ocr(image)
    except Image.DecompressionBombError as exc:
        raise SourceError(f"{name} is too large an image ({exc}): scale it down and attach it again.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SourceError(f"{name} is not a readable image ({exc}): open it in an image viewer, save it as PNG "
                          "or JPEG and attach it again.") from exc
    if image_format not in _FORMATS:
        raise SourceError(f"{name} is a {image_format or 'unknown'} image, not PNG, JPEG or WebP: "
                          "convert it to PNG and attach it again.")
    notes = [f"{size[0]}x{size[1]} pixels"]
    if _SUFFIX_FORMAT.get(suffix) != image_format:
        notes.append(f"{name} is a {image_format} image despite its {suffix} name; it is used as {image_format}")
    text = re.sub(r"\s+", " ", ocr).strip()
    if len(re.findall(r"[^\W\d_]{3,}", text)) < 3:
        text = ocr = ""  # a few stray marks read off a picture are not text
    if text and len(text) <= _SHORT_OCR:
        notes.append(f'text in the image (OCR): "{text}"')
    elif text:
        notes.append(f"has {len(text.split()):,} words of text (read by OCR)")
    return ImageInfo(_FORMATS[image_format], size[0], size[1], ocr.strip(), notes)


def _ocr(image: object) -> str:
    if not ocr_available():
        return ""
    try:
        return ocr_image(image)
    except Exception:  # no text found is the same as OCR failing on a picture: the image is still used
        return ""
