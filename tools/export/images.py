"""The images that image items show: read once from the build folder, so every export can carry them.

The engine copies each image an item shows to `<build folder>/images/<sha256>.<ext>` before export, and the item
keeps that path (`Sample.image`). The Hugging Face parquet embeds the bytes; every other export refers to the
one `images/` folder by a path relative to its own file, and the zip holds the folder.
"""

from __future__ import annotations

from pathlib import Path

from tools.contracts import Sample
from tools.errors import StageFailed


def item_images(samples: list[Sample], directory: Path) -> dict[str, bytes]:
    """Image path (relative to the build folder) -> its bytes, for every image an item shows, in item order.

    A missing file fails the export before anything is written, naming the file and the first item that shows it.
    """
    images: dict[str, bytes] = {}
    for sample in samples:
        if sample.image is None or sample.image in images:
            continue
        path = directory / sample.image
        try:
            images[sample.image] = path.read_bytes()
        except OSError as exc:
            raise StageFailed(
                f"{path} cannot be read ({exc.strerror or exc}); item {sample.id} shows it. A build copies every "
                "image its items show into its images/ folder: put the file back there and export again.") from exc
    return images
