"""The family contract, generated from the family registry: every registered family ships a tiny
config (`configs/<family>-tiny.yaml`) and satisfies `tests.family_contract.check_family_contract`."""
from __future__ import annotations

from pathlib import Path

import pytest

import mobilekit  # noqa: F401
from mobilekit.core.family import FAMILIES
from tests.family_contract import check_family_contract

REPO = Path(__file__).resolve().parents[2]
BUILT_IN = [name for name in FAMILIES.names() if name != "toy"]  # "toy" is registered by a test module


# every tiny config: `<family>-tiny.yaml` and variants such as `segmentation-split-tiny.yaml`
TINY_CONFIGS = sorted(p.name for name in BUILT_IN for p in (REPO / "configs").glob(f"{name}*-tiny.yaml"))


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_family_ships_a_tiny_config(name):
    path = REPO / "configs" / f"{name}-tiny.yaml"
    assert path.is_file(), f"family {name!r} must ship {path.name} (the contract and smoke tests build it)"


@pytest.mark.parametrize("filename", TINY_CONFIGS)
def test_family_contract(filename):
    from mobilekit.core.config import load_config

    config, _ = load_config(REPO / "configs" / filename)
    assert filename.startswith(config.family)
    check_family_contract(FAMILIES.get(config.family), config)
