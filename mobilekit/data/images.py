"""Reading users' photos for every family's predict pipeline."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobilekit.core.errors import InputError


def load_rgb(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise InputError(f"{path}: cannot read image ({exc})") from exc
