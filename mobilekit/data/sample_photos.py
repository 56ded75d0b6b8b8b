"""Real photographs that installed Python packages ship (no download): scikit-image's sample data
and matplotlib's sample data. Each entry names its licence. `HELD_OUT` photos are for evaluation
and benchmarks only; sources that train on sample photos use `TRAINING` ones."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from mobilekit.core.errors import InputError


@dataclass(frozen=True)
class SamplePhoto:
    name: str
    package: str  # the importable package that ships the file
    path: str  # relative to the package's folder
    licence: str
    colour: bool = True


PHOTOS = {p.name: p for p in (
    SamplePhoto("chelsea", "skimage", "data/chelsea.png", "CC0 (Stéfan van der Walt)"),
    SamplePhoto("coffee", "skimage", "data/coffee.png", "CC0 (Rachel Michetti)"),
    SamplePhoto("rocket", "skimage", "data/rocket.jpg", "public domain (SpaceX)"),
    SamplePhoto("astronaut", "skimage", "data/astronaut.png", "public domain (NASA)"),
    SamplePhoto("camera", "skimage", "data/camera.png", "CC0 (Lav Varshney)", colour=False),
    SamplePhoto("brick", "skimage", "data/brick.png", "CC0 (CC0Textures)", colour=False),
    SamplePhoto("grass", "skimage", "data/grass.png", "CC0 (DeviantArt, linolafett)", colour=False),
    SamplePhoto("gravel", "skimage", "data/gravel.png", "CC0 (CC0Textures)", colour=False),
    SamplePhoto("coins", "skimage", "data/coins.png", "no known copyright restrictions (Brooklyn Museum)", colour=False),
    SamplePhoto("hubble", "skimage", "data/hubble_deep_field.jpg", "public domain (NASA)"),
    SamplePhoto("retina", "skimage", "data/retina.jpg", "CC0 (Mikael Häggström)"),
    SamplePhoto("grace_hopper", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "public domain (US Navy)"),
    SamplePhoto("horse", "skimage", "data/horse.png", "CC0 (Andreas Preuss)", colour=False),  # a silhouette: black on white
)}
HELD_OUT = ("chelsea", "coffee", "rocket", "astronaut")
TRAINING = ("grace_hopper", "camera", "brick", "grass", "gravel", "coins", "hubble", "retina")
SILHOUETTES = ("horse",)  # object shapes (dark object on a light ground), for training


def sample_photo_path(name: str) -> Path:
    """The file of a sample photo; InputError when its package is not installed."""
    if name not in PHOTOS:
        raise InputError(f"unknown sample photo {name!r}; known: {', '.join(PHOTOS)}")
    photo = PHOTOS[name]
    spec = importlib.util.find_spec(photo.package)
    if spec is None or not spec.submodule_search_locations:
        hint = "scikit-image" if photo.package == "skimage" else photo.package
        raise InputError(f"sample photo {name!r} ships with the {hint} package, which is not installed "
                         f"(pip install -e \".[dev]\" installs it)")
    path = Path(list(spec.submodule_search_locations)[0]) / photo.path
    if not path.is_file():
        raise InputError(f"sample photo {name!r}: {path} is missing from the installed {photo.package}")
    return path
